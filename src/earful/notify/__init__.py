"""Notifications: an outbox of (escalation, level, recipient) rows and the channels that
deliver them.

::

    escalation.enqueue_notifications  ->  notification rows (pending)
    outbox.deliver_due                ->  claim (sending) -> Sender.send -> sent | retry | dead

Channels (``escalation.channels`` in config/routes.yaml): console, file, email (SMTP, HTML +
text), slack and teams (incoming webhooks), webhook (JSON signed per the Standard Webhooks
spec). Each sender says whether it honours an idempotency key
(``Sender.idempotent``); the outbox re-sends after a crash only on those.
"""
