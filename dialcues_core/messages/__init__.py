"""Text messages, their templates, keywords and reminder fallbacks (``telephony.md`` §4)."""
