"""The agent smoke flow: the reminder path end to end on a temporary simulated line.

Steps, in order (each reported with its duration and result):

``create_line``
    a temporary *simulated* outbound line in the caller's organization (never a provider
    line, never the default), so no real call can be placed; stored as ``temporary``, it is
    never listed, named or picked as a fallback by anything but the smoke reminder;
``create_reminder``
    a one-off reminder of the caller's user, due now on that line, to a fictional number
    (``+1 202 555 0100``: 555-0100…0199 are reserved for fiction; the simulated dialer
    reports it ``completed``); the in-process dispatcher is woken;
``dispatch``
    wait until a dispatcher — in this process or a ``worker`` — claims and dials it;
``outcome``
    wait until its execution ends, which must be ``completed``;
``cleanup``
    delete the reminder, its executions and the line, in one transaction. It runs even
    when an earlier step failed, so the flow leaves nothing behind.

Both waits share one bound (``wait_seconds``, 10 s by default, measured on the monotonic
clock, not the platform's ``Clock``). With no dispatcher anywhere the ``dispatch`` step fails.
A failed step raises ``SmokeFailed`` whose ``details.step`` names it (``details.steps`` lists
every step taken). The flow is asyncio: each database call goes through the ``offload``
callable (the edges pass their offloader's ``run``), so it never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from dialcues_core.accounts.model import OutboundLine, Principal, Provider
from dialcues_core.accounts.ports import LineRepository
from dialcues_core.calls.model import Execution, ExecutionStatus
from dialcues_core.calls.ports import ExecutionRepository
from dialcues_core.errors import DialcuesError, SmokeFailed
from dialcues_core.kernel import crypto
from dialcues_core.kernel.fields import MISSING, FieldReader, require_object
from dialcues_core.kernel.ports import ChangeListener, Clock, Transactions
from dialcues_core.kernel.scopes import WRITE_REMINDERS, requires
from dialcues_core.platform.ports import SmokeStore
from dialcues_core.reminders.model import Reminder, ReminderStatus
from dialcues_core.reminders.ports import ReminderRepository

log = logging.getLogger("dialcues.smoke")
T = TypeVar("T")
Offload = Callable[..., Awaitable[Any]]

SMOKE_NUMBER = "+12025550100"
"""The number the smoke reminder calls: fictional (555-01xx) and ``completed`` when simulated."""
SMOKE_LINE_NUMBER = "+12025550199"
"""The temporary simulated line's own number (fictional too)."""
SMOKE_LINE_LABEL = "Agent smoke (temporary)"
SMOKE_TITLE = "Agent smoke"
SMOKE_MESSAGE = "This is the Dialcues agent smoke test; no real call is placed."
NO_DISPATCHER = (
    "no dispatcher claimed the reminder within {:g} s: run `dialcues serve` without "
    "--no-dispatcher, or a `dialcues worker`"
)


@dataclass(frozen=True, slots=True)
class SmokeStep:
    """One step of the smoke flow: its name, how long it took and how it went."""

    name: str
    duration_ms: int
    result: str
    """``ok`` or ``failed``."""
    detail: str

    def as_dict(self) -> dict[str, Any]:
        """Return the step as plain data (for error details)."""
        return {
            "name": self.name,
            "duration_ms": self.duration_ms,
            "result": self.result,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class SmokeRepositories:
    """What the smoke flow reads and writes."""

    transactions: Transactions
    lines: LineRepository
    reminders: ReminderRepository
    executions: ExecutionRepository
    store: SmokeStore


class Smoke:
    """Run the agent smoke flow for a principal (scope ``reminders:write``).

    ``listeners`` are told when the smoke reminder is due (the composition root passes the
    reminders' list, which the in-process dispatcher listens to).
    """

    def __init__(
        self,
        repos: SmokeRepositories,
        clock: Clock,
        listeners: list[ChangeListener] | None = None,
        wait_seconds: float = 10.0,
        poll_seconds: float = 0.05,
    ):
        self.repos = repos
        self.clock = clock
        self.listeners: list[ChangeListener] = listeners if listeners is not None else []
        self.wait_seconds = wait_seconds
        self.poll_seconds = poll_seconds

    @requires(WRITE_REMINDERS)
    async def run(
        self, principal: Principal, offload: Offload, payload: Any = MISSING
    ) -> list[SmokeStep]:
        """Run every step; return them, or raise ``SmokeFailed`` naming the failed one.

        ``payload`` is the request body, if one was sent (``MISSING`` when none): it must be
        an object with no fields (a JSON ``null`` is a ``validation_error`` too).
        """
        if payload is not MISSING:
            FieldReader(require_object(payload), ()).raise_if_any()
        flow = _Flow(self, principal, offload)
        try:
            for name, action in flow.plan():
                if not await flow.step(name, action):
                    break
        finally:
            await flow.step("cleanup", flow.cleanup)
        return flow.outcome()


class _StepFailed(Exception):
    """A step's check did not pass (its message is the reason shown to the caller)."""


class _Flow:
    """The state of one smoke run: what it created, the steps taken, the waiting deadline."""

    def __init__(self, smoke: Smoke, principal: Principal, offload: Offload):
        self.smoke = smoke
        self.repos = smoke.repos
        self.principal = principal
        self.offload = offload
        self.steps: list[SmokeStep] = []
        self.line: OutboundLine | None = None
        self.reminder: Reminder | None = None
        self.execution_id: int | None = None
        self.deadline = 0.0

    def plan(self) -> list[tuple[str, Callable[[], Awaitable[str]]]]:
        """Return the steps before the clean-up, in order."""
        return [
            ("create_line", self.create_line),
            ("create_reminder", self.create_reminder),
            ("dispatch", self.await_dispatch),
            ("outcome", self.await_outcome),
        ]

    async def step(self, name: str, action: Callable[[], Awaitable[str]]) -> bool:
        """Run one step, record it, and tell whether it passed (errors are recorded, not raised)."""
        started = time.perf_counter()
        try:
            detail, result = await action(), "ok"
        except _StepFailed as exc:
            detail, result = str(exc), "failed"
        except DialcuesError as exc:
            detail, result = exc.message, "failed"
        except Exception as exc:
            log.exception("smoke step %s failed", name)
            detail, result = f"unexpected {type(exc).__name__}", "failed"
        elapsed = round((time.perf_counter() - started) * 1000)
        self.steps.append(SmokeStep(name, elapsed, result, detail))
        return result == "ok"

    def outcome(self) -> list[SmokeStep]:
        """Return the steps, or raise ``SmokeFailed`` for the first that failed."""
        failed = next((s for s in self.steps if s.result != "ok"), None)
        if failed is not None:
            raise SmokeFailed(failed.name, failed.detail, [s.as_dict() for s in self.steps])
        return self.steps

    # ------------------------------------------------------------------ steps
    async def create_line(self) -> str:
        """Add the temporary simulated line (not the default)."""
        line = OutboundLine(
            id=crypto.generate_id("line"),
            organization_id=self.principal.organization_id,
            provider=Provider.SIMULATED,
            phone_number=SMOKE_LINE_NUMBER,
            label=SMOKE_LINE_LABEL,
            is_default=False,
            created_at=self.smoke.clock.now(),
        )
        await self.offload(self._write, self.repos.store.add_line, line)
        self.line = line
        return f"simulated line {line.id}"

    async def create_reminder(self) -> str:
        """Add the reminder due now on the temporary line and wake the dispatcher."""
        assert self.line is not None
        now = self.smoke.clock.now()
        self.reminder = await self.offload(
            self._write, self.repos.reminders.add, _smoke_reminder(self.principal, self.line, now)
        )
        self.deadline = asyncio.get_running_loop().time() + self.smoke.wait_seconds
        for listener in self.smoke.listeners:
            listener(now)
        return f"reminder {self.reminder.id} due now, calling {SMOKE_NUMBER}"

    async def await_dispatch(self) -> str:
        """Wait until a dispatcher claimed the reminder (its last execution is set)."""
        assert self.reminder is not None
        user_id, rid = self.principal.user_id, self.reminder.id
        found = await self._until(lambda: self.repos.reminders.get(user_id, rid), _dialed)
        if found is None:
            raise _StepFailed(NO_DISPATCHER.format(self.smoke.wait_seconds))
        self.execution_id = found.last_execution_id
        return f"execution {self.execution_id} dialed"

    async def await_outcome(self) -> str:
        """Wait until the execution ended; it must be ``completed``."""
        assert self.execution_id is not None
        user_id, eid = self.principal.user_id, self.execution_id
        found = await self._until(lambda: self.repos.executions.get(user_id, eid), _ended)
        if found is None:
            raise _StepFailed(f"execution {eid} did not end within {self.smoke.wait_seconds:g} s")
        if found.status is not ExecutionStatus.COMPLETED:
            raise _StepFailed(f"execution {eid} ended {found.status.value}, not completed")
        return f"execution {eid} completed"

    async def cleanup(self) -> str:
        """Delete whatever the flow created."""
        rid = self.reminder.id if self.reminder is not None else None
        line_id = self.line.id if self.line is not None else None
        store = self.repos.store
        await self.offload(self._write, store.discard, self.principal.user_id, rid, line_id)
        return "removed the temporary reminder, its executions and the line"

    # ------------------------------------------------------------------ helpers
    def _write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` in one transaction (on the offloader's thread)."""
        with self.repos.transactions.atomic():
            return fn(*args)

    async def _until(self, fetch: Callable[[], T | None], ready: Callable[[T], bool]) -> T | None:
        """Poll ``fetch`` (offloaded) until ``ready``; None once the deadline has passed."""
        loop = asyncio.get_running_loop()
        while True:
            found: T | None = await self.offload(fetch)
            if found is not None and ready(found):
                return found
            if loop.time() >= self.deadline:
                return None
            await asyncio.sleep(self.smoke.poll_seconds)


def _dialed(reminder: Reminder) -> bool:
    return reminder.last_execution_id is not None


def _ended(execution: Execution) -> bool:
    return execution.status.is_final


def _smoke_reminder(principal: Principal, line: OutboundLine, now: datetime) -> Reminder:
    """Return the smoke's one-off reminder, due ``now`` on ``line``."""
    return Reminder(
        id=0,
        user_id=principal.user_id,
        organization_id=principal.organization_id,
        title=SMOKE_TITLE,
        message=SMOKE_MESSAGE,
        phone_number=SMOKE_NUMBER,
        scheduled_at=now,
        timezone="UTC",
        local_time=now.replace(tzinfo=None),
        status=ReminderStatus.SCHEDULED,
        line_id=line.id,
        line_label=line.label,
        recurrence=None,
        retry_count=0,
        next_attempt_at=None,
        last_execution_id=None,
        created_at=now,
        updated_at=now,
    )
