"""Replay scenarios (JSON Lines, package data); see README.md here."""
