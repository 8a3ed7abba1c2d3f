"""Escalations: ``lifecycle`` raises, levels up, acknowledges and resolves them and checks
SLAs (routes and quiet hours from config); ``links`` signs and verifies acknowledge links."""
