"""The dispatcher's storage port and the due reminders it claims."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from dialcues_core.accounts.model import OutboundLine, ProviderSettings
from dialcues_core.calling.policy import CallingPolicy
from dialcues_core.calls.actions import CallActions
from dialcues_core.calls.model import Execution
from dialcues_core.calls.ports import LiveExecution, NewExecution, OutcomeRecord
from dialcues_core.reminders.model import Reminder, ReminderStatus
from dialcues_core.reminders.steps import Attempted, NextStep


# ----------------------------------------------------------------------------- dispatch
@dataclass(frozen=True, slots=True)
class DueReminder:
    """A reminder whose attempt is due, as the claim sees it."""

    id: int
    user_id: str
    organization_id: str
    title: str
    message: str
    phone_number: str
    line_id: str | None
    due_at: datetime
    attempted: Attempted


class DispatchStore(Protocol):
    """The dispatcher's storage primitives; the caller holds the transaction."""

    def due_reminders(
        self, now: datetime, limit: int, skip_orgs: set[str] | None = None
    ) -> list[DueReminder]:
        """Return due reminders in due order (not of ``skip_orgs``), locked (skip locked)."""
        ...

    def queued_executions(
        self, now: datetime, limit: int, skip_orgs: set[str] | None = None
    ) -> list[LiveExecution]:
        """Return due ``queued`` executions (not of ``skip_orgs``), locked (skip locked)."""
        ...

    def expired_executions(self, now: datetime, limit: int) -> list[LiveExecution]:
        """Return ``in_progress`` executions whose lease ended, locked (skip locked)."""
        ...

    def insert_executions(self, rows: list[NewExecution]) -> list[int]:
        """Insert executions; return their ids in the same order."""
        ...

    def start_executions(
        self, starts: list[tuple[int, str | None]], now: datetime, lease_until: datetime
    ) -> None:
        """Mark queued executions ``in_progress`` with a lease: (execution id, line id dialed).

        A line id of None keeps the execution's line.
        """
        ...

    def extend_leases(self, ids: list[int], lease_until: datetime) -> None:
        """Push the lease of executions forward."""
        ...

    def mark_dialing(self, dialing: list[tuple[int, int, ReminderStatus]], now: datetime) -> None:
        """Write the status of reminders being dialed (the lifecycle's ``DIAL``) and their new
        execution: (reminder id, execution id, status)."""
        ...

    def set_reminder_steps(
        self, steps: list[tuple[int, NextStep, int | None]], now: datetime
    ) -> None:
        """Write reminders' next steps: (reminder id, step, last execution id or None)."""
        ...

    def lines_of(self, org_ids: set[str]) -> dict[str, list[OutboundLine]]:
        """Return each organization's lines (default first)."""
        ...

    def providers_of(self, org_ids: set[str]) -> dict[str, ProviderSettings | None]:
        """Return each organization's provider settings."""
        ...

    def in_flight(self, org_id: str) -> int:
        """Count the organization's provider calls in the air (lock the count on PostgreSQL)."""
        ...

    def executions_by_id(self, ids: list[int]) -> dict[int, LiveExecution]:
        """Return executions by id (locked for this transaction)."""
        ...

    def execution_by_call_id(self, call_id: str) -> LiveExecution | None:
        """Return the execution of a provider call id."""
        ...

    def attempted(self, reminder_ids: list[int]) -> dict[int, tuple[Attempted, int | None]]:
        """Return each reminder's policy view and its last execution id (locked)."""
        ...

    def record_call_ids(self, pairs: list[tuple[int, str]]) -> None:
        """Store provider call ids on executions that have none yet."""
        ...

    def record_outcomes(self, outcomes: list[tuple[int, OutcomeRecord]]) -> None:
        """Write attempts' final facts and release their leases."""
        ...

    def set_skip_reason(self, execution_id: int, reason: str) -> None:
        """Record why the gate refused an attempt (``executed_at`` cleared: never placed)."""
        ...

    def snooze_occurrence(self, reminder_id: int, at: datetime) -> bool:
        """A readback's snooze: the scheduled reminder is first dialed at ``at``."""
        ...

    def readback_of(self, execution_id: int) -> list[int]:
        """The reminders an inbound execution's readback read, in order."""
        ...

    def set_actions(
        self,
        execution_id: int,
        actions: CallActions,
        confirmation: str | None,
        confirmed_at: datetime | None,
    ) -> None:
        """Record a call's in-call actions (and, once it ended, its confirmation)."""
        ...

    def set_executed_at(self, execution_id: int, at: datetime) -> None:
        """Record when an attempt was placed (after its pre-dial hook let it through)."""
        ...

    def predial_secrets(self, org_ids: set[str], now: datetime) -> dict[str, tuple[str, ...]]:
        """The secrets each organization's pre-dial hook is signed with now."""
        ...

    def attempt_objects(
        self, execution_id: int, reminder_id: int | None
    ) -> tuple[Execution, Reminder | None]:
        """The execution and its reminder, as the public API reads them."""
        ...

    def requeue(self, execution_id: int, due_at: datetime) -> None:
        """Put an execution back to ``queued`` until ``due_at`` (provider throttling)."""
        ...

    def next_due_at(self) -> datetime | None:
        """Return the earliest time anything is due (reminders or queued executions)."""
        ...

    # the gate
    def policies_of(self, org_ids: set[str]) -> dict[str, CallingPolicy]:
        """Return the stored calling policies of these organizations (absent: never set)."""
        ...

    def placed_attempts(
        self, numbers: set[tuple[str, str]], since: datetime
    ) -> dict[tuple[str, str], list[datetime]]:
        """Return when each (organization, number) was dialed after ``since`` (what the
        frequency caps count)."""
        ...

    def lock_numbers(
        self, numbers: list[tuple[str, str]], exclusive: set[tuple[str, str]]
    ) -> set[tuple[str, str]]:
        """Take the numbers' claim locks without waiting (exclusive where caps are counted,
        else shared); return the numbers whose lock was taken."""
        ...
