"""Inbound calls on simulated lines (``telephony.md`` §3.5): ``dialcues lines ring`` and the
embedding API run the core path of a ring — route, execution, events, the ``external`` wait —
then, after ``DIALCUES_SIMULATED_DELAY``, end the call with the route's ended reason through
the same outcome path a provider's report takes."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, Final

from dialcues_core.calls.model import Execution
from dialcues_core.calls.ports import CallEvent
from dialcues_core.inbound.model import Answer
from dialcues_core.inbound.routes import RouteType, route_type
from dialcues_core.inbound.service import InboundCalls
from dialcues_core.kernel.ports import Clock

ENDED_REASONS: Final = {
    RouteType.MESSAGE: "assistant-request-returned-error",
    RouteType.REJECT: "assistant-request-returned-error",
    RouteType.TRANSFER: "assistant-request-returned-forwarding-phone-number",
    RouteType.ASSISTANT: "customer-ended-call",
    RouteType.READBACK: "customer-ended-call",
}
SPOKEN: Final = "assistant-request-returned-error"
POLL_SECONDS: Final = 0.05
Finish = Callable[[int, CallEvent], object]
"""Applies a final provider event to an execution (the dispatcher's outcome path)."""


def ring_simulated(
    calls: InboundCalls,
    finish: Finish,
    clock: Clock,
    delay: float,
    ring: tuple[str, str, str],
) -> tuple[Answer, Execution | None]:
    """Ring ``(organization id, line id, caller)``; return the answer and the ended execution
    (None when the line has no route: nothing is recorded)."""
    answer = calls.ring_line(*ring)
    execution_id = answer.execution_id
    if execution_id is None:
        return answer, None
    if answer.route is None and answer.error is None:
        answer = calls.answer_for(answer, _wait(calls, clock, answer))
    time.sleep(delay)
    execution = calls.execution(execution_id)
    assert execution is not None and execution.call_id is not None
    kind = route_type(answer.route) or RouteType.REJECT
    now = clock.now()
    event = CallEvent(
        call_id=execution.call_id,
        execution_id=execution.id,
        status="ended",
        # a sentence answered instead of an assistant (a readback's goodbye) ends it so too
        ended_reason=ENDED_REASONS[kind] if answer.error is None else SPOKEN,
        started_at=execution.executed_at,
        ended_at=now,
        duration_s=max(0, int((now - (execution.executed_at or now)) / timedelta(seconds=1))),
    )
    finish(execution.id, event)
    return answer, calls.execution(execution.id)


def _wait(calls: InboundCalls, clock: Clock, answer: Answer) -> Mapping[str, Any]:
    """Wait for an ``external`` decision until ``answer_by``, then store the fallback."""
    execution_id = answer.execution_id
    assert execution_id is not None and answer.answer_by is not None
    while clock.now() < answer.answer_by:
        decided = calls.decision(execution_id)
        if decided is not None:
            return decided
        time.sleep(POLL_SECONDS)
    line = answer.line
    fallback = (line.route or {}).get("fallback") if line is not None else None
    return calls.fall_back(execution_id, fallback or {"type": RouteType.REJECT.value})
