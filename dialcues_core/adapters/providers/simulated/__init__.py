"""The built-in simulated provider (no network)."""
