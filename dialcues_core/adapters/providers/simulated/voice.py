"""A dialer that phones nobody: deterministic outcomes, no network, no capacity limit.

Simulated lines use it (the demo, the tests, the benchmarks). A call "rings" for ``delay``
seconds, then the dialer pushes to its sink what Vapi would have reported: a
``status-update`` to ``in-progress`` and the final ``ended`` event with an ended reason
chosen by :data:`SIMULATED_OUTCOMES` from the destination's last four digits.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from types import MappingProxyType
from typing import Final

from dialcues_core.adapters.clock import SystemClock
from dialcues_core.calls.actions import ToolCall
from dialcues_core.calls.ports import CallEvent, CallEventSink, CallRequest
from dialcues_core.kernel.ports import Clock

__all__ = [
    "DEFAULT_SIMULATED_REASON",
    "SIMULATED_ACTIONS",
    "SIMULATED_OUTCOMES",
    "Person",
    "SimulatedDialer",
    "simulated_reason",
]

log = logging.getLogger(__name__)

SIMULATED_OUTCOMES: Final = MappingProxyType(
    {
        "0002": "customer-busy",
        "0003": "customer-did-not-answer",
        "0004": "voicemail",
        "0005": "twilio-failed-to-connect-call",
        "0006": "assistant-not-found",
    }
)
"""Ended reason by the destination number's last four digits (Vapi's vocabulary).

Endings ``0007``–``0010`` answer and act (:data:`SIMULATED_ACTIONS`) before the call ends.

====== ================================== ==========================================
ending ended reason                       execution outcome
====== ================================== ==========================================
0002   customer-busy                      busy, retried
0003   customer-did-not-answer            no_answer, retried
0004   voicemail                          voicemail (delivered)
0005   twilio-failed-to-connect-call      failed, retried
0006   assistant-not-found                failed, not retried
other  assistant-ended-call-after-        completed
       message-spoken
====== ================================== ==========================================
"""

SIMULATED_ACTIONS: Final = MappingProxyType(
    {
        "0007": ("confirm_reminder", "keypad"),
        "0008": ("snooze_reminder", "keypad"),
        "0009": ("stop_calls", "keypad"),
        "0010": ("stop_calls", "voice"),
    }
)
"""What the pretend person does, by the number's last four digits (``responsible-calling.md``
§11): presses 1 (confirm), presses 2 on the first attempt of an occurrence only (snooze),
presses 9 or says "stop" (stop). Applied through the same core use case as Vapi's tool calls,
just before the call's end."""

Person = Callable[[int, ToolCall, str], Awaitable[object]]
"""Applies one in-call action of the pretend person: (execution id, tool call, via)."""

DEFAULT_SIMULATED_REASON: Final = "assistant-ended-call-after-message-spoken"
"""The ended reason of every number not listed in :data:`SIMULATED_OUTCOMES`."""


def simulated_reason(number: str) -> str:
    """Return the ended reason a simulated call to ``number`` reports."""
    return SIMULATED_OUTCOMES.get(number[-4:], DEFAULT_SIMULATED_REASON)


@dataclass(frozen=True, slots=True)
class _PlacedCall:
    """What the dialer remembers of one call, for ``fetch_call`` and ``find_call``."""

    request: CallRequest
    created_at: datetime
    event: CallEvent


class SimulatedDialer:
    """Place pretend calls whose outcome depends only on the number dialed.

    ``place_call`` answers at once (after ``create_latency`` seconds, which a benchmark uses
    to model an I/O-bound provider) with a fresh ``sim-<uuid>`` id; ``delay`` seconds later
    the events reach ``sink``. The last ``max_records`` calls are remembered, so that
    reconciliation (``fetch_call``, ``find_call``) works as it does on a real provider.
    """

    def __init__(
        self,
        sink: CallEventSink,
        delay: float,
        create_latency: float = 0.0,
        *,
        clock: Clock | None = None,
        max_records: int = 20_000,
        person: Person | None = None,
    ) -> None:
        self._person = person
        self._sink = sink
        self._delay = delay
        self._create_latency = create_latency
        self._clock: Clock = clock or SystemClock()
        self._max_records = max_records
        self._calls: OrderedDict[str, _PlacedCall] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()

    async def place_call(self, request: CallRequest) -> str:
        """Create the pretend call, schedule its report and return its id."""
        if self._create_latency > 0:
            await asyncio.sleep(self._create_latency)
        call_id = f"sim-{uuid.uuid4()}"
        event = CallEvent(
            call_id, request.execution_id, "queued", organization_id=request.organization_id
        )
        self._remember(call_id, _PlacedCall(request, self._clock.now(), event))
        task = asyncio.create_task(self._report(call_id), name=f"simulated-call {call_id}")
        self._tasks.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(self._tasks.discard)
        return call_id

    async def fetch_call(self, request: CallRequest, call_id: str) -> CallEvent | None:
        """Return the call's latest state, or None if this dialer never placed it."""
        placed = self._calls.get(call_id)
        return placed.event if placed is not None else None

    async def find_call(self, request: CallRequest, created_after: datetime) -> CallEvent | None:
        """Return the newest call placed for ``request``'s correlation ids after the time."""
        for placed in reversed(self._calls.values()):
            if placed.created_at > created_after and _same_call(placed.request, request):
                return placed.event
        return None

    async def close(self) -> None:
        """Cancel the reports still pending and wait until they have stopped."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    @property
    def pending(self) -> int:
        """Return how many calls have not reported their outcome yet."""
        return len(self._tasks)

    def _remember(self, call_id: str, placed: _PlacedCall) -> None:
        self._calls[call_id] = placed
        while len(self._calls) > self._max_records:
            self._calls.popitem(last=False)

    async def _report(self, call_id: str) -> None:
        """Ring for ``delay`` seconds, then push ``in-progress`` and the final event."""
        await asyncio.sleep(self._delay)
        placed = self._calls.get(call_id)
        if placed is None:
            return  # forgotten: more than max_records calls were placed since
        await self._push(call_id, replace(placed.event, status="in-progress"))
        await self._act(call_id, placed.request)
        await self._push(call_id, self._final_event(placed))

    async def _act(self, call_id: str, request: CallRequest) -> None:
        """The pretend person's action, if their number has one (a failure is logged)."""
        found = SIMULATED_ACTIONS.get(request.to[-4:])
        if found is None or self._person is None:
            return
        name, via = found
        if name == "snooze_reminder" and request.attempt > 1:
            return  # snoozes once per occurrence, then listens
        try:
            await self._person(request.execution_id, ToolCall(f"tool-{call_id}", name, {}), via)
        except Exception:
            log.exception("the simulated person's %s on %s failed", name, call_id)

    def _final_event(self, placed: _PlacedCall) -> CallEvent:
        ended_at = self._clock.now()
        return replace(
            placed.event,
            status="ended",
            ended_reason=simulated_reason(placed.request.to),
            started_at=placed.created_at,
            ended_at=ended_at,
            duration_s=max(0, round((ended_at - placed.created_at).total_seconds())),
            cost=0.0,
        )

    async def _push(self, call_id: str, event: CallEvent) -> None:
        """Record ``event`` and hand it to the sink; a failing sink is logged, not raised."""
        placed = self._calls.get(call_id)
        if placed is not None:
            self._calls[call_id] = replace(placed, event=event)
        try:
            await self._sink(event)
        except Exception:  # the sink's bug must not kill the report of the next event
            log.exception("the call event sink failed on %s (%s)", call_id, event.status)


def _same_call(placed: CallRequest, wanted: CallRequest) -> bool:
    """Tell whether ``placed`` was made for ``wanted`` (same line and correlation ids)."""
    return placed.line.id == wanted.line.id and placed.correlation == wanted.correlation
