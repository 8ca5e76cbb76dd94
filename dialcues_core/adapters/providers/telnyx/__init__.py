"""Telnyx: the carrier (numbers now; messages later) over a small JSON client of our own."""
