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
from dataclasses import dataclass, replace
from datetime import datetime
from types import MappingProxyType
from typing import Final

from dialcues_core.adapters.clock import SystemClock
from dialcues_core.calls.ports import CallEvent, CallEventSink, CallRequest
from dialcues_core.kernel.ports import Clock

__all__ = ["DEFAULT_SIMULATED_REASON", "SIMULATED_OUTCOMES", "SimulatedDialer", "simulated_reason"]

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
    ) -> None:
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
        await self._push(call_id, self._final_event(placed))

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
