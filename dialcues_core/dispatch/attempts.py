"""The dispatcher's synchronous use cases: claim due work, record calls and outcomes.

Each public method is one transaction over the :class:`DispatchStore`. The execution row is
committed ``in_progress`` (with a lease) *before* any provider is called; outcomes are applied
idempotently (an execution already final is left alone; an event whose call id differs from
the stored one is ignored).

It runs past 400 lines on purpose: every transaction that moves an attempt (claim, record a
call id, finish, release, reconcile, give up) is here side by side, so the exactly-once rules
they share (the lease, the occurrence, the lateness cap) are read and changed in one place.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from dialcues_core.accounts.model import OutboundLine, ProviderSettings
from dialcues_core.calling.gate import SKIP_MESSAGES, Plan, SkipReason
from dialcues_core.calling.predial import request_body
from dialcues_core.calls.calltoken import token_matches
from dialcues_core.calls.model import INBOUND_USER, ExecutionStatus
from dialcues_core.calls.outcomes import classify_inbound
from dialcues_core.calls.ports import CallEvent, LiveExecution, NewExecution, OutcomeRecord
from dialcues_core.calls.rendering import execution_payload
from dialcues_core.config import Settings
from dialcues_core.consent.service import OptOuts
from dialcues_core.dispatch import policy
from dialcues_core.dispatch.gatekeeper import Gatekeeper, Judged, cap_of
from dialcues_core.dispatch.ports import DispatchStore, DueReminder
from dialcues_core.dispatch.work import (
    MISSED_MESSAGE,
    MISSING_LINE,
    ORPHAN_MESSAGE,
    UNKNOWN_MESSAGE,
    UNREACHABLE_MESSAGE,
    Budget,
    Claimed,
    Finished,
    acted,
    as_retried,
    identity_message,
    line_of,
    live_from,
    new_execution,
    no_line,
    own_line,
    unidentified,
    waits_for,
)
from dialcues_core.errors import ProviderEventRejected
from dialcues_core.kernel.crypto import hashes_match
from dialcues_core.kernel.ports import Clock, Transactions
from dialcues_core.messages.fallback import Fallbacks
from dialcues_core.messages.fallback import Outcome as FallbackCause
from dialcues_core.reminders import lifecycle
from dialcues_core.reminders.lifecycle import Action
from dialcues_core.reminders.model import ReminderStatus
from dialcues_core.reminders.rendering import reminder_payload
from dialcues_core.reminders.steps import Attempted, NextStep
from dialcues_core.webhooks.outbox import NoOutbox, Outbox

log = logging.getLogger("dialcues.dispatcher")

# Claimed, Finished and the messages are re-exported: the dispatcher and tests import them here.
__all__ = [
    "MISSED_MESSAGE",
    "MISSING_LINE",
    "ORPHAN_MESSAGE",
    "UNKNOWN_MESSAGE",
    "UNREACHABLE_MESSAGE",
    "Attempts",
    "Claimed",
    "Finished",
]


class Attempts:
    """Claim, record and finish call attempts."""

    def __init__(
        self,
        store: DispatchStore,
        tx: Transactions,
        clock: Clock,
        settings: Settings,
        outbox: Outbox | None = None,
        opt_outs: OptOuts | None = None,
        fallbacks: Fallbacks | None = None,
    ):
        self.store = store
        self.tx = tx
        self.clock = clock
        self.settings = settings
        self.outbox = outbox if outbox is not None else NoOutbox()
        """Webhook events are written through it in the transaction of their change."""
        self.opt_outs = opt_outs
        """Suppressions and consents (gate checks 1–2; a stop during a call)."""
        self.consent = opt_outs.store if opt_outs is not None else None
        self.fallbacks = fallbacks
        """Reminders' SMS fallbacks, written with the outcome that triggers them."""

    @property
    def lease(self) -> timedelta:
        """Return how long a claim belongs to its worker."""
        return timedelta(seconds=self.settings.lease_seconds)

    # ------------------------------------------------------------------ claim
    def claim(self, limit: int) -> list[Claimed]:
        """Claim up to ``limit`` due attempts; record ``missed`` ones instead of dialing them.

        Queued executions (calls placed now, throttled creates) come first, then reminders in
        due order. An organization at its provider concurrency is left out of a second look,
        so it never holds back another organization's due calls.
        """
        claimed: list[Claimed] = []
        saturated: set[str] = set()
        with self.tx.atomic(), self.outbox.collecting():
            now = self.clock.now()  # once the claim holds the writer: its decisions' time
            for _ in range(3):
                want = limit - len(claimed)
                queued = self.store.queued_executions(now, want, saturated)
                due = self.store.due_reminders(now, want - len(queued), saturated)
                if not queued and not due:
                    break
                batch, refused = self._claim_batch(queued, due, now)
                claimed += batch
                if not refused or len(claimed) >= limit:
                    break
                saturated |= refused
        return claimed

    def _claim_batch(
        self, queued: list[LiveExecution], due: list[DueReminder], now: datetime
    ) -> tuple[list[Claimed], set[str]]:
        """Pass each attempt through the gate; start what it and the provider budget admit.

        Returns what was claimed and the organizations the budget refused. An attempt whose
        number another claim holds (PostgreSQL) is left for the next round.
        """
        orgs = {r.organization_id for r in due} | {e.organization_id for e in queued}
        lines, providers = self.store.lines_of(orgs), self.store.providers_of(orgs)
        keeper = Gatekeeper(self.store, self.settings, providers, now, self.consent)
        keeper.load(orgs, hooks=True)
        numbers = [(e.organization_id, e.to) for e in queued]
        numbers += [(r.organization_id, r.phone_number) for r in due]
        consenting = {
            (e.organization_id, e.to)
            for e in queued
            if keeper.needs_consent(e.organization_id, e.purpose)
        } | {
            (r.organization_id, r.phone_number)
            for r in due
            if keeper.needs_consent(r.organization_id, r.attempted.purpose)
        }
        taken = keeper.lock(numbers, consenting)
        budget = Budget(self.store, providers)
        claimed = self._start_queued(
            [e for e in queued if (e.organization_id, e.to) in taken],
            now,
            lines,
            providers,
            budget,
            keeper,
        )
        dial: list[DueReminder] = []
        waits: list[tuple[int, NextStep, int | None]] = []
        for r in due:
            number = (r.organization_id, r.phone_number)
            if number not in taken:
                continue
            line = line_of(lines, r.line_id, r.organization_id)
            if line is not None and line.temporary:
                # the agent smoke flow's fictional call: exempt from the whole gate (§2)
                if budget.admit(r.organization_id, line):
                    dial.append(r)
                continue
            judged = keeper.for_reminder(r.organization_id, r.attempted)
            plan = judged.decision.plan
            if plan is Plan.MISSED:
                self._missed(r, now)
            elif plan is Plan.WAIT:
                assert judged.decision.at is not None
                waits.append((r.id, policy.after_wait(r.attempted, judged.decision.at), None))
            elif plan is Plan.SKIP:
                self._skip(r, judged, now)
            elif missing := unidentified(keeper, r.organization_id, r.attempted.purpose, line):
                self._unidentified(r, line, missing, now)
            elif budget.admit(r.organization_id, line):
                dial.append(r)
                keeper.placed(number)
        self.store.set_reminder_steps(waits, now)
        claimed += self._start_reminders(dial, now, lines, providers, keeper)
        return claimed, budget.refused

    def _missed(self, r: DueReminder, now: datetime) -> None:
        row = new_execution(r, ExecutionStatus.MISSED, r.line_id, now, None)
        (missed_id,) = self.store.insert_executions([row])
        step = policy.after_missed(r.attempted, now)
        self.store.set_reminder_steps([(r.id, step, missed_id)], now)
        self.outbox.finished([(r.user_id, missed_id)])
        self.outbox.steps([(r.user_id, r.id, step)])

    def _skip(self, r: DueReminder, judged: Judged, now: datetime) -> None:
        """The gate refused the attempt: one ``skipped`` execution; the occurrence ends."""
        reason = judged.decision.reason
        assert reason is not None
        row = replace(
            new_execution(r, ExecutionStatus.SKIPPED, r.line_id, now, None),
            error_message=SKIP_MESSAGES.get(reason, f"Not dialed: {reason.value}."),
            skip_reason=reason.value,
        )
        (skipped_id,) = self.store.insert_executions([row])
        step = (
            policy.after_suppressed(r.attempted)
            if reason is SkipReason.SUPPRESSED
            else policy.after_skip(r.attempted)
        )
        self.store.set_reminder_steps([(r.id, step, skipped_id)], now)
        self.outbox.skipped([(r.user_id, skipped_id)])
        self.outbox.steps([(r.user_id, r.id, step)])

    def _unidentified(
        self, r: DueReminder, line: OutboundLine | None, missing: list[str], now: datetime
    ) -> None:
        """Gate check 6: a Vapi line and no caller identity: ``failed``, never retried."""
        row = replace(
            new_execution(r, ExecutionStatus.FAILED, line.id if line else None, now, None),
            executed_at=None,  # nothing was sent: it counts for no cap
            ended_at=now,
            error_message=identity_message(missing),
        )
        (failed_id,) = self.store.insert_executions([row])
        step = policy.after_final(r.attempted, ExecutionStatus.FAILED)
        self.store.set_reminder_steps([(r.id, step, failed_id)], now)
        self.outbox.finished([(r.user_id, failed_id)])
        self.outbox.steps([(r.user_id, r.id, step)])

    def _start_reminders(
        self,
        due: list[DueReminder],
        now: datetime,
        lines: dict[str, list[OutboundLine]],
        providers: dict[str, ProviderSettings | None],
        keeper: Gatekeeper,
    ) -> list[Claimed]:
        chosen = [(r, line_of(lines, r.line_id, r.organization_id)) for r in due]
        rows = [
            new_execution(
                r, ExecutionStatus.IN_PROGRESS, line.id if line else None, now, now + self.lease
            )
            for r, line in chosen
        ]
        ids = self.store.insert_executions(rows)
        self.store.mark_dialing(
            [
                (r.id, i, lifecycle.transition(r.attempted.status, Action.DIAL))
                for (r, _), i in zip(chosen, ids, strict=True)
            ],
            now,
        )
        claimed: list[Claimed] = []
        for (r, line), row, new_id in zip(chosen, rows, ids, strict=True):
            live = live_from(new_id, row)
            if line is None:
                self._finish_all([no_line(new_id, now)], now)
                continue
            org = r.organization_id
            hook = None if line.temporary else keeper.predial_of(org)
            identity = keeper.effective(org).identity
            claimed.append(Claimed(live, line, providers.get(org), hook, identity))
        self._started(claimed)
        return claimed

    def _start_queued(
        self,
        queued: list[LiveExecution],
        now: datetime,
        lines: dict[str, list[OutboundLine]],
        providers: dict[str, ProviderSettings | None],
        budget: Budget,
        keeper: Gatekeeper,
    ) -> list[Claimed]:
        claimed: list[Claimed] = []
        occurrences = self.store.attempted([e.reminder_id for e in queued if e.reminder_id])
        for e in queued:
            found = occurrences.get(e.reminder_id) if e.reminder_id else None
            if e.reminder_id is not None and not waits_for(found, e.id):
                self._cancel_orphan(e, now)
                continue
            attempted = found[0] if found else None
            judged = self._judge_queued(keeper, e, attempted)
            if not self._queued_passes(e, attempted, judged, now):
                continue
            line = line_of(lines, e.line_id, e.organization_id)
            missing = unidentified(keeper, e.organization_id, e.purpose, line)
            if missing:
                failed = OutcomeRecord(
                    ExecutionStatus.FAILED, now, None, None, None, identity_message(missing), None
                )
                self.store.record_outcomes([(e.id, failed)])
                self.outbox.finished([(e.user_id, e.id)])
                if attempted is not None and e.reminder_id is not None:
                    step = policy.after_final(attempted, ExecutionStatus.FAILED)
                    self.store.set_reminder_steps([(e.reminder_id, step, e.id)], now)
                    self.outbox.steps([(e.user_id, e.reminder_id, step)])
                continue
            if line is not None and not budget.admit(e.organization_id, line):
                continue
            keeper.placed((e.organization_id, e.to))
            self.store.start_executions([(e.id, line.id if line else None)], now, now + self.lease)
            if line is None:
                self._finish_all([no_line(e.id, now)], now)
                continue
            started = replace(e, line_id=line.id)
            org = e.organization_id
            hook, identity = keeper.predial_of(org), keeper.effective(org).identity
            claimed.append(Claimed(started, line, providers.get(org), hook, identity))
        self._started(claimed)
        return claimed

    def _started(self, claimed: list[Claimed]) -> None:
        """``execution.started`` for the attempts dialed at once (a hooked one: when its hook
        lets it through, :meth:`proceed`)."""
        self.outbox.started(
            (c.execution.user_id, c.execution.id) for c in claimed if c.predial is None
        )

    def proceed(self, claim: Claimed) -> bool:
        """The pre-dial hook let the attempt through: the suppression check runs again (the
        number may have been suppressed while the hook answered); then it is placed now
        (``executed_at``: the hook's time counts in its lateness) and its
        ``execution.started`` is written. Returns whether to dial."""
        e = claim.execution
        with self.tx.atomic(), self.outbox.collecting():
            now = self.clock.now()
            if self.consent is not None:
                pair = (e.organization_id, e.to)
                self.consent.lock_number(pair)
                if self.consent.active_suppressions([pair]):
                    reason = SkipReason.SUPPRESSED
                    skipped = Finished(
                        e.id,
                        ExecutionStatus.SKIPPED,
                        False,
                        now,
                        error_message=SKIP_MESSAGES[reason],
                        skip_reason=reason.value,
                    )
                    self._finish_all([skipped], now)
                    return False
            self.store.set_executed_at(e.id, now)
            self.outbox.started([(e.user_id, e.id)])
            return True

    def predial_body(self, claim: Claimed) -> str:
        """The hook's request: the execution and its reminder as ``GET`` renders them."""
        e = claim.execution
        with self.tx.atomic():
            execution, reminder = self.store.attempt_objects(e.id, e.reminder_id)
        return request_body(
            execution_payload(execution),
            reminder_payload(reminder) if reminder is not None else None,
            self.clock.now(),
        )

    def _cancel_orphan(self, e: LiveExecution, now: datetime) -> None:
        """A queued attempt whose reminder was paused or deleted meanwhile is never dialed."""
        canceled = OutcomeRecord(
            ExecutionStatus.CANCELED, now, None, None, None, ORPHAN_MESSAGE, None
        )
        self.store.record_outcomes([(e.id, canceled)])
        self.outbox.finished([(e.user_id, e.id)])

    def _judge_queued(
        self, keeper: Gatekeeper, e: LiveExecution, attempted: Attempted | None
    ) -> Judged:
        """A reminder's requeued attempt is judged by its reminder's rules and occurrence;
        a call placed now by its own (the organization's cap from its creation)."""
        if attempted is not None:
            return keeper.for_reminder(e.organization_id, attempted)
        return keeper.for_call(e)

    def _queued_passes(
        self, e: LiveExecution, attempted: Attempted | None, judged: Judged, now: datetime
    ) -> bool:
        """Apply the gate's decision to a queued attempt; tell whether it may be dialed now.

        Lateness counts from the occurrence's own time (``occurrence_at``; for a call placed
        now, its creation): a provider's throttle and a stopping worker's release are waits
        inside the cap, never past it (no attempt "that waited" is placed after its deadline).
        """
        plan = judged.decision.plan
        if plan is Plan.DIAL:
            return True
        if plan is Plan.WAIT:
            assert judged.decision.at is not None
            self.store.requeue(e.id, judged.decision.at)
            return False
        if plan is Plan.MISSED:
            status, message, reason = ExecutionStatus.MISSED, MISSED_MESSAGE, None
        else:
            reason = judged.decision.reason
            assert reason is not None
            status = ExecutionStatus.SKIPPED
            message = SKIP_MESSAGES.get(reason, f"Not dialed: {reason.value}.")
        record = OutcomeRecord(status, now, None, None, None, message, None)
        self.store.record_outcomes([(e.id, record)])
        if reason is not None:
            self.store.set_skip_reason(e.id, reason.value)
            self.outbox.skipped([(e.user_id, e.id)])
        else:
            self.outbox.finished([(e.user_id, e.id)])
        if attempted is not None and e.reminder_id is not None:
            if plan is Plan.MISSED:
                step = policy.after_missed(attempted, now)
            elif reason is SkipReason.SUPPRESSED:
                step = policy.after_suppressed(attempted)
            else:
                step = policy.after_skip(attempted)
            self.store.set_reminder_steps([(e.reminder_id, step, e.id)], now)
            self.outbox.steps([(e.user_id, e.reminder_id, step)])
        return False

    def reclaim_expired(self, limit: int) -> list[Claimed]:
        """Take over attempts whose lease ran out (their worker died or the call is long).

        An attempt is reconciled on the line it was dialed from, never on another one (the
        provider would not know the call there: "not placed", and a second dial). One whose
        line was removed meanwhile cannot be asked about: it keeps its lease until the
        occurrence's lateness cap, then ends ``outcome_unknown`` (never redialed).
        """
        now = self.clock.now()
        with self.tx.atomic(), self.outbox.collecting():
            expired = self.store.expired_executions(now, limit)
            orgs = {e.organization_id for e in expired}
            lines, providers = self.store.lines_of(orgs), self.store.providers_of(orgs)
            self.store.extend_leases([e.id for e in expired], now + self.lease)
            claimed = [
                Claimed(e, line, providers.get(e.organization_id))
                for e in expired
                if (line := own_line(lines, e)) is not None
            ]
            lineless = [e for e in expired if own_line(lines, e) is None and self._past_cap(e, now)]
            for e in lineless:
                log.error("execution %s ends outcome_unknown: its line was removed", e.id)
            unknown = [
                Finished(e.id, ExecutionStatus.FAILED, False, now, error_message=UNKNOWN_MESSAGE)
                for e in lineless
            ]
            self._finish_all(unknown, now)
        return claimed

    # ------------------------------------------------------------------ record
    def record_call_ids(self, pairs: list[tuple[int, str]]) -> None:
        """Store the provider's call ids of placed calls."""
        with self.tx.atomic():
            self.store.record_call_ids(pairs)

    def extend(self, execution_ids: list[int]) -> None:
        """Keep attempts whose calls are still in the air."""
        with self.tx.atomic():
            self.store.extend_leases(execution_ids, self.clock.now() + self.lease)

    def requeue(self, execution_id: int, retry_after: float | None) -> None:
        """The provider throttled the create: wait, without using the retry budget.

        The wait is the provider's ``Retry-After``, else the retry policy's ``failed`` delay
        for the attempt's number, or 60 s when that list is null.
        """
        with self.tx.atomic():
            seconds = retry_after
            if seconds is None:
                seconds = self._throttle_wait(execution_id)
            self.store.requeue(execution_id, self.clock.now() + timedelta(seconds=seconds))

    def release(self, execution_ids: list[int]) -> None:
        """Give back claimed attempts that were never sent (a stopping worker): queued now.

        Whichever dispatcher runs next dials them through the queued path; their reminders
        stay ``in_progress`` and keep waiting for them.
        """
        if not execution_ids:
            return
        now = self.clock.now()
        with self.tx.atomic():
            for execution_id in execution_ids:
                self.store.requeue(execution_id, now)

    def past_cap(self, execution: LiveExecution) -> bool:
        """Tell whether an attempt's occurrence is past its organization's lateness cap (reads
        the policy: call it through the offloader, never on the event loop)."""
        with self.tx.atomic():
            return self._past_cap(execution, self.clock.now())

    def _past_cap(self, execution: LiveExecution, now: datetime) -> bool:
        cap = cap_of(self.store, self.settings, execution.organization_id)
        return now - execution.occurrence > cap

    def finish(self, batch: list[Finished]) -> list[Finished]:
        """Apply final outcomes in one transaction; return those that changed something."""
        with self.tx.atomic(), self.outbox.collecting():
            return self._finish_all(batch, self.clock.now())

    def _finish_all(self, batch: list[Finished], now: datetime) -> list[Finished]:
        """Write outcomes and advance their reminders, a few statements per batch.

        An execution with an applied in-call action is ``completed`` whatever the provider
        reported; its reminder follows the action (a stop: ``suppressed``; a snooze: called
        back then; a confirm: delivered). A reminder whose number was suppressed while its
        call was in the air becomes ``suppressed``.
        """
        applied = [(acted(_inbound(f, e), e), e) for f, e in self._applicable(batch)]
        for f, e in applied:
            if f.operator_alert:
                log.error(
                    "execution %s of organization %s failed for a reason retrying cannot fix"
                    " (provider configuration or billing): %s",
                    e.id,
                    e.organization_id,
                    f.ended_reason,
                )
        self.store.record_outcomes(
            [
                (
                    f.execution_id,
                    OutcomeRecord(
                        f.status,
                        f.ended_at or now,
                        f.ended_reason,
                        f.duration_s,
                        f.cost,
                        f.error_message,
                        f.call_id,
                        e.actions.confirmation(f.status is ExecutionStatus.COMPLETED),
                        e.actions.confirmed_at(),
                    ),
                )
                for f, e in applied
            ]
        )
        for f, _ in applied:
            if f.skip_reason is not None:
                self.store.set_skip_reason(f.execution_id, f.skip_reason)
        owned = [(f, e) for f, e in applied if e.reminder_id is not None]
        states = self.store.attempted([e.reminder_id for _, e in owned if e.reminder_id])
        retried = {e.organization_id for f, e in owned if policy.may_retry(*as_retried(f))}
        providers = self.store.providers_of(retried) if retried else {}
        keeper = Gatekeeper(self.store, self.settings, providers, now)  # reads lazily
        self.outbox.finished(
            (e.user_id, e.id) for f, e in applied if f.skip_reason is None and e.user_id
        )
        self.outbox.inbound(
            "execution.finished", ((e.organization_id, e.id) for _, e in applied if not e.user_id)
        )
        self.outbox.skipped((e.user_id, e.id) for f, e in applied if f.skip_reason is not None)
        steps: list[tuple[int, NextStep, int | None]] = []
        causes: list[FallbackCause] = []
        suppressed = self._suppressed_now([e for _, e in owned])
        for f, e in owned:
            found = states.get(e.reminder_id or 0)
            if not waits_for(found, e.id):
                continue  # the reminder moved on (deleted, paused, edited): leave it alone
            assert found is not None
            attempted = found[0]
            status, retry = as_retried(f)
            snoozed = e.actions.snoozed_until()
            if e.actions.stopped or (e.organization_id, e.to) in suppressed:
                step, closed = policy.after_suppressed(attempted), None
            elif snoozed is not None:
                step, closed = policy.after_snooze(attempted, snoozed), None
            elif not policy.may_retry(status, retry):
                step, closed = policy.after_final(attempted, status), None
            else:
                rules = keeper.rules_of(e.organization_id, attempted)
                step, closed = policy.after_outcome(
                    attempted,
                    status,
                    retry,
                    f.ended_at or now,
                    rules,
                    attempted.place(rules.basis),
                )
            last = self._closed(e, closed, now) if closed is not None else None
            steps.append((e.reminder_id or 0, step, last))
            self.outbox.steps([(e.user_id, e.reminder_id or 0, step)])
            causes.append(_fallback_cause(e, status, step, attempted))
        self.store.set_reminder_steps(steps, now)
        if self.fallbacks is not None and causes:
            self.fallbacks.after_outcomes(causes, now)
        return [f for f, _ in applied]

    def _suppressed_now(self, executions: list[LiveExecution]) -> set[tuple[str, str]]:
        """The numbers among these that are suppressed now (one query)."""
        if self.consent is None or not executions:
            return set()
        return set(
            self.consent.active_suppressions({(e.organization_id, e.to) for e in executions})
        )

    def _closed(self, e: LiveExecution, closed: policy.Closed, now: datetime) -> int:
        """Record the retry the window and the cap left no room for (``skipped``)."""
        reason = SkipReason.RETRY_WINDOW_CLOSED
        row = NewExecution(
            user_id=e.user_id,
            organization_id=e.organization_id,
            reminder_id=e.reminder_id,
            reminder_title=e.title,
            status=ExecutionStatus.SKIPPED,
            attempt=closed.attempt,
            line_id=e.line_id,
            to=e.to,
            message=e.message,
            scheduled_for=closed.scheduled_for,
            executed_at=None,
            lease_until=None,
            error_message=SKIP_MESSAGES[reason],
            ended_at=now,
            occurrence_at=e.occurrence,
            skip_reason=reason.value,
            purpose=e.purpose,
        )
        (skipped_id,) = self.store.insert_executions([row])
        self.outbox.skipped([(e.user_id, skipped_id)])
        return skipped_id

    def _applicable(self, batch: list[Finished]) -> list[tuple[Finished, LiveExecution]]:
        """Keep the outcomes of live executions, once each, whose call id is not foreign."""
        current = self.store.executions_by_id(sorted({f.execution_id for f in batch}))
        applied: list[tuple[Finished, LiveExecution]] = []
        seen: set[int] = set()
        for f in batch:
            e = current.get(f.execution_id)
            if e is None or e.status.is_final or f.execution_id in seen:
                continue
            if f.call_id and e.call_id and e.call_id != f.call_id:
                continue
            seen.add(f.execution_id)
            applied.append((f, e))
        return applied

    def _throttle_wait(self, execution_id: int) -> int:
        """Seconds a throttled create waits without ``Retry-After`` (the ``failed`` list)."""
        e = self.store.executions_by_id([execution_id]).get(execution_id)
        if e is None:
            return 60
        providers = self.store.providers_of({e.organization_id})
        keeper = Gatekeeper(self.store, self.settings, providers, self.clock.now())
        retry = keeper.effective(e.organization_id).retry
        if e.reminder_id is not None:  # the reminder's own retry policy, if it has one
            found = self.store.attempted([e.reminder_id]).get(e.reminder_id)
            if found is not None and found[0].retry_policy is not None:
                retry = found[0].retry_policy
        failed = retry.failed
        if not failed:
            return 60
        return failed[min(e.attempt, len(failed)) - 1]

    # ------------------------------------------------------------------ events
    def receive_provider_message(
        self,
        secret: str | None,
        about: CallEvent | None,
        event: CallEvent | None,
        heard: Callable[[int], None] | None = None,
    ) -> bool:
        """Authenticate a provider's server message, then apply its event (if it has one).

        One transaction. ``about`` is the call the message names (whatever its type);
        ``secret`` the header it carried: the execution's call token or the organization's
        webhook secret, compared in constant time. Raises ``ProviderEventRejected`` (nothing
        changes) when the message names no known execution (by our id, else by call id) or
        the secret is wrong — also for a message of a type that is then ignored. Returns
        whether an outcome was applied.
        """
        with self.tx.atomic(), self.outbox.collecting():
            execution = self.authenticate(secret, about)
            if event is None:
                return False
            if heard is not None and event.is_final:
                heard(execution.id)  # the transcript's opt-out, before the outcome applies
            return self.apply_events([(execution.id, event)]) > 0

    def authenticate(self, secret: str | None, about: CallEvent | None) -> LiveExecution:
        """The execution a provider's message names, if ``secret`` is its call token or its
        organization's webhook secret (constant time); else ``ProviderEventRejected``. Call
        it in a transaction."""
        execution = self._execution_of(about) if about is not None else None
        org = execution.organization_id if execution is not None else ""
        provider = self.store.providers_of({org}).get(org) if execution else None
        if execution is None or provider is None or secret is None:
            raise ProviderEventRejected()
        expected = provider.webhook_secret
        if not (token_matches(expected, execution.id, secret) or hashes_match(expected, secret)):
            raise ProviderEventRejected()
        return execution

    def _execution_of(self, event: CallEvent) -> LiveExecution | None:
        """Return the execution an event is about (by our id, else by its call id)."""
        if event.execution_id is not None:
            found = self.store.executions_by_id([event.execution_id]).get(event.execution_id)
            if found is not None:
                return found
        return self.store.execution_by_call_id(event.call_id) if event.call_id else None

    def apply_events(self, events: list[tuple[int, CallEvent]]) -> int:
        """Apply provider events: call ids of live calls, outcomes of ended ones."""
        starts = [(eid, e.call_id) for eid, e in events if not e.is_final and e.call_id]
        finals = [Finished.from_event(eid, e) for eid, e in events if e.is_final]
        now = self.clock.now()
        with self.tx.atomic(), self.outbox.collecting():
            if starts:
                self.store.record_call_ids(starts)
            return len(self._finish_all(finals, now)) if finals else 0

    def next_due_at(self) -> datetime | None:
        """Return when the next attempt is due (None: nothing waits)."""
        with self.tx.atomic():
            return self.store.next_due_at()


def _fallback_cause(
    e: LiveExecution, status: ExecutionStatus, step: NextStep, attempted: Attempted
) -> FallbackCause:
    """What an outcome means for the reminder's SMS fallback: its status, and whether a retry
    of the occurrence is still pending."""
    retrying = (
        step.status is ReminderStatus.SCHEDULED
        and step.next_attempt_at is not None
        and step.scheduled_at == attempted.scheduled_at
    )
    return FallbackCause(
        execution_id=e.id,
        reminder_id=e.reminder_id or 0,
        status=status.value,
        ended_occurrence=not retrying,
        occurrence_at=e.occurrence_at or attempted.scheduled_at,
        line_id=e.line_id,
        to=e.to,
    )


def _inbound(f: Finished, e: LiveExecution) -> Finished:
    """An inbound call's outcome (``telephony.md`` §3.3: its rows first, never retried).
    Inbound executions belong to no user (``INBOUND_USER``)."""
    if e.user_id != INBOUND_USER or f.ended_reason is None:
        return f
    outcome = classify_inbound(f.ended_reason, e.route_type)
    return replace(
        f,
        status=outcome.status,
        retry=False,
        error_message=outcome.error_message,
        operator_alert=outcome.operator_alert,
    )
