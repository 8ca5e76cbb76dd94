"""Telnyx: the carrier (numbers and text messages) over a small JSON client of our own."""
