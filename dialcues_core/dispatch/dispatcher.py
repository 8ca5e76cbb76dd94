"""The dispatcher: claim → dial → record → advance, asyncio, stopping cleanly on request.

* **Claim** in batches through :class:`Attempts` (one transaction each; the execution is
  committed ``in_progress`` with a lease before any provider is called).
* **Dial** each claim as a task; at most ``worker_concurrency`` creates are in flight.
* **Record** call ids and outcomes through a small batching :class:`Recorder`, so a burst
  costs a few commits per hundred calls, not several per call.
* **Wake** for the earliest due time instead of polling: in process, reminder changes call
  :meth:`Dispatcher.wake`; across processes a poll of at most ``poll_seconds`` (one second)
  notices work that other processes scheduled.
* **Reconcile** an attempt whose create timed out (or answered 5xx) or whose lease expired by
  asking the provider, never by dialing again blindly; one still unknown past its
  occurrence's lateness cap ends ``failed`` ``outcome_unknown`` and is never redialed.
* **Survive the database**: while it is unreachable the loop waits (one log line per outage)
  and outcomes wait in memory; the first transaction after it returns heals the connection.
* **Stop cleanly**: :meth:`stop` ends claiming; creates in flight finish; claimed attempts not
  yet sent are released (queued again) for whichever dispatcher runs next.

Operator signals: WARNING for a provider's 429 (with its ``Retry-After``), an unknown create,
an unreachable provider and an outcome learnt only by reconciliation (its events are not
arriving: check ``DIALCUES_PUBLIC_URL``); ERROR for ``outcome_unknown``.

A little past 400 lines because the loop, its recorder and its outage handling share one
state (the tasks in flight, the pending outcomes, the wake event); the transactions themselves
live in :mod:`dialcues_core.dispatch.attempts`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, TypeVar

from dialcues_core.accounts.model import Provider
from dialcues_core.calling.gate import SkipReason
from dialcues_core.calling.predial import (
    UNAVAILABLE_MESSAGE,
    VETO_MESSAGE,
    Answer,
    PredialHook,
    Verdict,
)
from dialcues_core.calls.model import ExecutionStatus
from dialcues_core.calls.ports import CallEvent, CallRequest, Dialer, LiveExecution
from dialcues_core.config import Settings
from dialcues_core.dispatch.attempts import (
    UNKNOWN_MESSAGE,
    UNREACHABLE_MESSAGE,
    Attempts,
    Claimed,
    Finished,
)
from dialcues_core.errors import (
    ProviderError,
    ProviderRejected,
    ProviderThrottled,
    ProviderUnreachable,
    StorageUnavailable,
)
from dialcues_core.kernel.crypto import generate_id
from dialcues_core.kernel.outage import OutageNotice
from dialcues_core.kernel.ports import Clock

log = logging.getLogger("dialcues.dispatcher")
T = TypeVar("T")
Offload = Callable[..., Awaitable[Any]]

BATCH = 100
NOT_PLACED = "the provider has no record of this call: it was not placed"
SETTLE_SECONDS = 20.0
"""How long after an attempt was claimed a provider's "no such call" becomes conclusive.

Longer than any create can take (the Vapi dialer gives up after 10 s), so that a create still
in flight — its worker alive but slow, or a provider that creates a moment after answering —
is never taken for a call that was not placed, whatever the lease length."""

RECORD_RETRY_SECONDS = 1.0
"""How often results kept while the database is unreachable are written again."""


class Recorder:
    """Collect call ids and outcomes and write them in batches (one transaction per flush)."""

    def __init__(self, attempts: Attempts, offload: Offload, on_finished: Callable[[int], None]):
        self.attempts = attempts
        self.offload = offload
        self.on_finished = on_finished
        self._call_ids: list[tuple[int, str]] = []
        self._events: list[tuple[int, CallEvent]] = []
        self._finished: list[Finished] = []
        self._pending = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.waiting = 0
        """Results kept in memory because the database was unreachable at the last flush."""

    def start(self) -> None:
        """Start the background flusher."""
        self._task = asyncio.create_task(self._run(), name="dialcues-recorder")

    def call_id(self, execution_id: int, call_id: str) -> None:
        """Queue a placed call's id."""
        self._call_ids.append((execution_id, call_id))
        self._pending.set()

    def event(self, execution_id: int, event: CallEvent) -> None:
        """Queue a provider event."""
        self._events.append((execution_id, event))
        self._pending.set()

    def finished(self, outcome: Finished) -> None:
        """Queue an outcome decided here (rejected create, reconciliation)."""
        self._finished.append(outcome)
        self._pending.set()

    async def _run(self) -> None:
        while True:
            await self._pending.wait()
            await asyncio.sleep(0)  # let the current burst queue up; flushes batch naturally
            await self.flush()
            if self.waiting:
                self._pending.set()  # the database was unreachable: try again shortly
                await asyncio.sleep(RECORD_RETRY_SECONDS)

    async def flush(self) -> None:
        """Write everything queued so far."""
        self._pending.clear()
        call_ids, self._call_ids = self._call_ids, []
        events, self._events = self._events, []
        finished, self._finished = self._finished, []
        if not (call_ids or events or finished):
            return
        # A final event in the same batch stores the call id with the outcome.
        ended = {eid for eid, event in events if event.is_final}
        call_ids = [(eid, call_id) for eid, call_id in call_ids if eid not in ended]
        try:
            await self.offload(self._write, call_ids, events, finished)
        except StorageUnavailable:
            # Kept in memory and written once the database answers again.
            self._call_ids[:0], self._events[:0], self._finished[:0] = call_ids, events, finished
            self.waiting = len(self._call_ids) + len(self._events) + len(self._finished)
            return
        except Exception:
            log.exception(
                "recording %d call results failed; leases will reconcile them",
                len(call_ids) + len(events) + len(finished),
            )
        self.waiting = 0
        for eid, event in events:
            if event.is_final:
                self.on_finished(eid)
        for f in finished:
            self.on_finished(f.execution_id)

    def _write(
        self,
        call_ids: list[tuple[int, str]],
        events: list[tuple[int, CallEvent]],
        finished: list[Finished],
    ) -> None:
        if call_ids:
            self.attempts.record_call_ids(call_ids)
        if events:
            self.attempts.apply_events(events)
        if finished:
            self.attempts.finish(finished)

    async def stop(self) -> None:
        """Flush what is queued and stop."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()


class Dispatcher:
    """Run the dispatch loop of one process."""

    def __init__(
        self,
        attempts: Attempts,
        dialers: Mapping[Provider, Dialer],
        offload: Offload,
        settings: Settings,
        clock: Clock,
        poll_seconds: float = 1.0,
        predial: PredialHook | None = None,
    ):
        self.attempts = attempts
        self.predial = predial
        self.dialers = dialers
        self.offload = offload
        self.settings = settings
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.recorder = Recorder(attempts, offload, self._done)
        # Calls placed here whose outcome this process itself will report (in-process
        # dialers: the simulated one); provider calls report through their webhooks.
        self.awaiting: set[int] = set()
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.dialed = 0
        self.last_claim_at: datetime | None = None
        """When this process last claimed an attempt (for the heartbeat and ``/health``)."""
        self._claims = OutageNotice(log, "dispatching")
        self._reconciling = OutageNotice(log, "reconciling expired leases")

    # ------------------------------------------------------------------ control
    def wake(self, due: datetime | None = None) -> None:
        """Tell the loop that reminders changed (safe from any thread)."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    async def on_event(self, event: CallEvent) -> None:
        """Receive an event from an in-process dialer (the simulated one).

        A progress event of a call placed here adds nothing: its call id is recorded already.
        """
        eid = event.execution_id
        if eid is None or (not event.is_final and eid in self.awaiting):
            return
        self.recorder.event(eid, event)

    async def run(self) -> None:
        """Dispatch until :meth:`stop` is called."""
        self._loop = asyncio.get_running_loop()
        self.recorder.start()
        reconciler = asyncio.create_task(self._reconcile_loop(), name="dialcues-reconciler")
        try:
            while not self._stopping.is_set():
                await self._tick()
        finally:
            reconciler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reconciler
            await self._drain()

    async def stop(self) -> None:
        """Stop claiming; finish what is in flight."""
        self._stopping.set()
        self._wake.set()

    async def _drain(self) -> None:
        # Creates in flight finish (a person may be ringing); the process's shutdown budget
        # bounds the wait, and what is still in flight then is reconciled by a lease later.
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=max(0.5, 0.8 * self.settings.shutdown_seconds))
        # Outcomes of calls placed here (the simulated dialer reports in-process) arrive
        # within the simulated delay; waiting for them keeps a clean stop from leaving work
        # for the lease reconciler.
        deadline = asyncio.get_running_loop().time() + self.settings.simulated_delay + 2
        while self.awaiting and asyncio.get_running_loop().time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        await self.recorder.stop()
        if self.predial is not None:
            await self.predial.close()

    # ------------------------------------------------------------------ loop
    async def _tick(self) -> None:
        # Cleared before looking for work: a wake() from here on interrupts the next sleep.
        self._wake.clear()
        free = self.settings.worker_concurrency - len(self._tasks)
        claimed: list[Claimed] = []
        if free > 0:
            try:
                claimed = await self.offload(self.attempts.claim, min(BATCH, free))
                self._claims.succeeded()
            except StorageUnavailable as exc:
                self._claims.failed(exc)
            except Exception:
                log.exception("claiming due reminders failed; retrying shortly")
        if claimed:
            self.last_claim_at = self.clock.now()
        for claim in claimed:
            self._spawn(self._dial(claim))
        if len(claimed) >= min(BATCH, max(free, 1)) and free > 0:
            return
        await self._sleep()

    async def _sleep(self) -> None:
        timeout = self.poll_seconds
        if len(self._tasks) < self.settings.worker_concurrency:
            with contextlib.suppress(Exception):
                due = await self.offload(self.attempts.next_due_at)
                if due is not None:
                    timeout = min(timeout, max(0.0, (due - self.clock.now()).total_seconds()))
        if timeout > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    def _spawn(self, work: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("dial task failed", exc_info=task.exception())
        self._wake.set()

    def _done(self, execution_id: int) -> None:
        self.awaiting.discard(execution_id)

    # ------------------------------------------------------------------ dialing
    def request(self, claim: Claimed) -> CallRequest:
        """Build the provider request of a claim."""
        e = claim.execution
        correlation = {"execution_id": str(e.id), "organization_id": e.organization_id}
        if e.reminder_id is not None:
            correlation["reminder_id"] = str(e.reminder_id)
        return CallRequest(
            execution_id=e.id,
            reminder_id=e.reminder_id,
            organization_id=e.organization_id,
            line=claim.line,
            provider=claim.provider,
            to=e.to,
            title=e.title,
            message=e.message,
            correlation=correlation,
            purpose=e.purpose,
            identity=claim.identity,
            attempt=e.attempt,
        )

    async def _dial(self, claim: Claimed) -> None:
        request = self.request(claim)
        provider = claim.line.provider.value
        dialer = self.dialers[claim.line.provider]
        eid = claim.execution.id
        if self._stopping.is_set():
            await self.offload(self.attempts.release, [eid])  # claimed but never sent
            return
        if claim.predial is not None and not await self._predial_allows(claim):
            return
        try:
            call_id = await dialer.place_call(request)
        except ProviderThrottled as exc:
            log.warning(
                "%s throttled the create of execution %s (429, Retry-After %s); it waits",
                provider,
                eid,
                "none" if exc.retry_after is None else f"{exc.retry_after:g} s",
            )
            await self.offload(self.attempts.requeue, eid, exc.retry_after)
            self.wake()
            return
        except ProviderRejected as exc:
            self.recorder.finished(self._failed(eid, exc.message, retry=False))
            return
        except ProviderUnreachable as exc:
            log.warning("execution %s not placed: %s", eid, exc.message)
            message = UNREACHABLE_MESSAGE.format(reason=exc.message)
            self.recorder.finished(self._failed(eid, message, retry=True))
            return
        except ProviderError as exc:
            log.warning(
                "the create of execution %s has an unknown outcome (%s); reconciling with %s"
                " before any redial",
                eid,
                exc.message,
                provider,
            )
            await self._reconcile(claim, request, conclusive=False)
            return
        self.dialed += 1
        if claim.line.provider is Provider.SIMULATED:
            self.awaiting.add(eid)
        self.recorder.call_id(eid, call_id)

    async def _predial_allows(self, claim: Claimed) -> bool:
        """Gate check 7: ask the organization's hook; record a veto or an unusable answer
        (``on_failure: skip``) as a skipped attempt; write ``execution.started`` when the
        dial proceeds."""
        target, eid = claim.predial, claim.execution.id
        assert target is not None
        if self.predial is None:
            answer = Answer(Verdict.UNAVAILABLE, "no pre-dial client in this process")
        else:
            message_id = generate_id("msg")
            body = await self.offload(self.attempts.predial_body, claim)
            answer = await self.predial.ask(target, message_id, body)
        skip = None
        if answer.verdict is Verdict.VETO:
            skip = (SkipReason.VETOED, VETO_MESSAGE.format(reason=answer.reason))
        elif answer.verdict is Verdict.UNAVAILABLE:
            log.warning("the pre-dial check of execution %s failed: %s", eid, answer.reason)
            if target.on_failure != "allow":
                message = UNAVAILABLE_MESSAGE.format(why=answer.reason)
                skip = (SkipReason.PREDIAL_UNAVAILABLE, message)
        if skip is not None:
            reason, message = skip
            self.recorder.finished(
                Finished(
                    eid,
                    ExecutionStatus.SKIPPED,
                    False,
                    self.clock.now(),
                    error_message=message,
                    skip_reason=reason.value,
                )
            )
            return False
        return bool(await self.offload(self.attempts.proceed, claim))

    def _failed(self, eid: int, message: str, retry: bool) -> Finished:
        return Finished(eid, ExecutionStatus.FAILED, retry, self.clock.now(), error_message=message)

    # ------------------------------------------------------------------ reconciling
    async def _reconcile(
        self, claim: Claimed, request: CallRequest, conclusive: bool = True
    ) -> bool:
        """Find out what became of an attempt by asking the provider; never redial here.

        Return whether the call is still in the air (its lease should be extended). Right
        after a create whose outcome is unknown (``conclusive=False``), "no such call" proves
        nothing yet — the provider may still be creating it — so the attempt keeps its lease
        and is judged when the lease ends (``reconcile_expired``): redialing on an early "not
        found" could call the person twice.
        """
        dialer = self.dialers[claim.line.provider]
        e = claim.execution
        try:
            if e.call_id:
                found = await dialer.fetch_call(request, e.call_id)
            else:
                since = (e.executed_at or e.scheduled_for) - timedelta(minutes=1)
                found = await dialer.find_call(request, since)
        except ProviderError as exc:
            if await self.offload(self.attempts.past_cap, e):
                log.error(
                    "execution %s ends outcome_unknown: reconciling with %s kept failing (%s)"
                    " past the occurrence's lateness cap; it is not redialed",
                    e.id,
                    claim.line.provider.value,
                    exc.message,
                )
                self.recorder.finished(self._failed(e.id, UNKNOWN_MESSAGE, retry=False))
            else:
                log.warning("reconciling execution %s failed (%s); retrying", e.id, exc.message)
            return False
        if found is None:
            if e.call_id:
                # The provider gave us this call's id: it was placed. A lookup that no longer
                # finds it proves nothing; past the cap the outcome is unknown, never redialed.
                if await self.offload(self.attempts.past_cap, e):
                    self.recorder.finished(self._failed(e.id, UNKNOWN_MESSAGE, retry=False))
            elif conclusive and self._settled(e):
                self.recorder.finished(self._failed(e.id, NOT_PLACED, retry=True))
            return False
        if found.is_final:
            log.warning(
                "the outcome of execution %s was learnt only by asking %s: its events are not"
                " arriving (check DIALCUES_PUBLIC_URL)",
                e.id,
                claim.line.provider.value,
            )
            self.recorder.event(e.id, found)
            return False
        self.recorder.call_id(e.id, found.call_id)
        return True

    def _settled(self, e: LiveExecution) -> bool:
        """Tell whether any create of the attempt is over by now (see :data:`SETTLE_SECONDS`)."""
        started = e.executed_at or e.scheduled_for
        return (self.clock.now() - started).total_seconds() >= SETTLE_SECONDS

    async def _reconcile_loop(self) -> None:
        interval = max(0.5, min(30.0, self.settings.lease_seconds / 4))
        while True:
            await asyncio.sleep(interval)
            try:
                await self.reconcile_expired()
                self._reconciling.succeeded()
            except StorageUnavailable as exc:
                self._reconciling.failed(exc)
            except Exception:
                log.exception("reconciling expired leases failed")

    async def reconcile_expired(self) -> int:
        """Reconcile every attempt whose lease expired; return how many were looked at."""
        claimed: list[Claimed] = await self.offload(self.attempts.reclaim_expired, BATCH)
        live: list[int] = []
        for claim in claimed:
            if await self._reconcile(claim, self.request(claim)):
                live.append(claim.execution.id)
        if live:
            await self.offload(self.attempts.extend, live)
        return len(claimed)
