"""One sender per channel kind (console, file, email, Slack, Teams, webhook), all behind
``base.Sender``; ``notify.outbox.make_sender`` is the only place that builds one."""
