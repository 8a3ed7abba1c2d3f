"""Viral risk: how likely a negative mention or incident is to spread, and why.

``scoring.assess`` is pure (readings in, a 0-100 risk with reasons out), ``incidents`` groups
mentions of one story, ``spikes`` finds unusual negative volume; ``evaluation`` is the I/O edge
that reads committed mentions, scores them and raises or updates escalations.
"""
