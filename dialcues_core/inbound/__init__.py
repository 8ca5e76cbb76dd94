"""Inbound calls: lines' routes, answering the voice provider's ``assistant-request``, inbound
executions and the ``external`` hand-off (``telephony.md`` §3)."""
