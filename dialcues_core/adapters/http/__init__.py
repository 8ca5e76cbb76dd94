"""Adapters that speak HTTP to the outside (aiohttp's client)."""
