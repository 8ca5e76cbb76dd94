"""The worker: claim, dial, record, advance; the retry and lateness policy."""
