"""The shared vocabulary of every capability: fields, local time, phone numbers,
paging, scopes, secrets, the clock and transaction ports. It knows no capability.
"""
