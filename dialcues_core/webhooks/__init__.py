"""Signed webhook subscriptions, the outbox and its delivery policy."""
