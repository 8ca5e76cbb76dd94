"""Responsible calling: the calling policy, windows, the lateness cap, retries, the gate."""
