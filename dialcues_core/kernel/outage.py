"""One log line per database outage, not one per second: :class:`OutageNotice`.

Background loops (the dispatcher, the webhook deliverer, the heartbeat, the periodic flushes)
keep running while the database is unreachable and try again at their next tick. Each tells
its :class:`OutageNotice` how the tick went: the first failure logs one WARNING, the first
success after it one INFO, and nothing in between — so an outage reads as two lines, and no
traceback, in the log.
"""

from __future__ import annotations

import logging

from dialcues_core.errors import StorageUnavailable


class OutageNotice:
    """Say once that ``what`` waits for the database, and once that it resumed."""

    def __init__(self, logger: logging.Logger, what: str):
        self.logger = logger
        self.what = what
        self.failing = False

    def failed(self, exc: StorageUnavailable) -> None:
        """Record a tick that failed because the database is unreachable."""
        if not self.failing:
            self.logger.warning("%s waits: the database is unavailable (%s)", self.what, exc.detail)
        self.failing = True

    def succeeded(self) -> None:
        """Record a tick that reached the database."""
        if self.failing:
            self.logger.info("%s resumes: the database answers again", self.what)
        self.failing = False
