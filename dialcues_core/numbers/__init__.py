"""Numbers: search a carrier's inventory, hold a number, assign it as a line, release it
(``telephony.md`` §1–2)."""
