"""One attempt: executions, the dialer port, outcomes, calls placed now."""
