"""Vapi: the voice dialer and its server messages."""
