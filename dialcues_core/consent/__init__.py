"""Stop means stop: the suppression list and consent records (``responsible-calling.md`` §7–8)."""
