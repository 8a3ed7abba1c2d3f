"""``earful demo``: a month of one airline's mentions served over local HTTP and run through the
real runner, risk, notifications and digest — no network, nothing to install."""
