"""The API platform around every request: idempotency, rate limits, usage, smoke."""
