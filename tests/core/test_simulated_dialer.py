"""The simulated dialer: outcomes by number, reports through the sink, reconciliation."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from dialcues_core.accounts.model import OutboundLine, Provider
from dialcues_core.adapters.providers.simulated.voice import (
    DEFAULT_SIMULATED_REASON,
    SIMULATED_OUTCOMES,
    SimulatedDialer,
)
from dialcues_core.calls.model import ExecutionStatus
from dialcues_core.calls.outcomes import classify
from dialcues_core.calls.ports import CallEvent, CallRequest

LINE = OutboundLine(
    id="line-1",
    organization_id="org-1",
    provider=Provider.SIMULATED,
    phone_number="+14155550100",
    label="Main",
    is_default=True,
    created_at=datetime(2026, 1, 1, tzinfo=UTC),
)


def call_request(to: str = "+14155550123", execution_id: int = 1) -> CallRequest:
    """A request for one simulated call."""
    return CallRequest(
        execution_id=execution_id,
        reminder_id=7,
        organization_id="org-1",
        line=LINE,
        provider=None,
        to=to,
        title="Take the pills",
        message="Time to take your pills.",
        correlation={"execution_id": str(execution_id), "organization_id": "org-1"},
    )


class Sink:
    """Collects the events a dialer pushes; can wait for the final one."""

    def __init__(self) -> None:
        self.events: list[CallEvent] = []
        self.final = asyncio.Event()

    async def __call__(self, event: CallEvent) -> None:
        self.events.append(event)
        if event.is_final:
            self.final.set()

    async def wait_final(self) -> CallEvent:
        await asyncio.wait_for(self.final.wait(), 2.0)
        return self.events[-1]


@pytest.fixture
async def sink() -> Sink:
    return Sink()


@pytest.fixture
async def dialer(sink: Sink) -> AsyncIterator[SimulatedDialer]:
    dialer = SimulatedDialer(sink, delay=0.01)
    yield dialer
    await dialer.close()


EXPECTED = [
    ("+14155550002", "customer-busy", ExecutionStatus.BUSY, True),
    ("+14155550003", "customer-did-not-answer", ExecutionStatus.NO_ANSWER, True),
    ("+14155550004", "voicemail", ExecutionStatus.VOICEMAIL, False),
    ("+14155550005", "twilio-failed-to-connect-call", ExecutionStatus.FAILED, True),
    ("+14155550006", "assistant-not-found", ExecutionStatus.FAILED, False),
    ("+14155550001", "assistant-ended-call-after-message-spoken", ExecutionStatus.COMPLETED, False),
    ("+14155559999", "assistant-ended-call-after-message-spoken", ExecutionStatus.COMPLETED, False),
]


@pytest.mark.parametrize(("to", "reason", "status", "retry"), EXPECTED)
async def test_the_numbers_last_four_digits_choose_the_outcome(
    dialer: SimulatedDialer, sink: Sink, to: str, reason: str, status: str, retry: bool
) -> None:
    call_id = await dialer.place_call(call_request(to))
    final = await sink.wait_final()
    assert [event.status for event in sink.events] == ["in-progress", "ended"]
    assert (final.call_id, final.execution_id, final.ended_reason) == (call_id, 1, reason)
    outcome = classify(final.ended_reason)
    assert (outcome.status, outcome.retry) == (status, retry)


@pytest.mark.parametrize(("to", "reason", "status", "retry"), EXPECTED)
def test_the_documented_table_is_the_one_used(
    to: str, reason: str, status: str, retry: bool
) -> None:
    assert SIMULATED_OUTCOMES.get(to[-4:], DEFAULT_SIMULATED_REASON) == reason


async def test_the_final_event_carries_times_duration_and_a_zero_cost(
    dialer: SimulatedDialer, sink: Sink
) -> None:
    await dialer.place_call(call_request())
    final = await sink.wait_final()
    assert final.started_at is not None and final.ended_at is not None
    assert final.started_at <= final.ended_at
    assert (final.duration_s, final.cost, final.organization_id) == (0, 0.0, "org-1")


async def test_place_call_returns_a_fresh_id_before_anything_is_reported(sink: Sink) -> None:
    dialer = SimulatedDialer(sink, delay=0.2)
    first, second = await dialer.place_call(call_request()), await dialer.place_call(call_request())
    assert first.startswith("sim-") and second.startswith("sim-") and first != second
    assert sink.events == []
    await dialer.close()


async def test_reports_arrive_only_after_the_delay(sink: Sink) -> None:
    dialer = SimulatedDialer(sink, delay=0.1)
    loop = asyncio.get_running_loop()
    placed_at = loop.time()
    await dialer.place_call(call_request())
    await sink.wait_final()
    assert loop.time() - placed_at >= 0.09
    await dialer.close()


async def test_create_latency_delays_the_answer_of_place_call(sink: Sink) -> None:
    dialer = SimulatedDialer(sink, delay=0.0, create_latency=0.05)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await dialer.place_call(call_request())
    assert loop.time() - started >= 0.045
    await dialer.close()


async def test_fetch_call_answers_the_latest_state(dialer: SimulatedDialer, sink: Sink) -> None:
    request = call_request("+14155550004")
    call_id = await dialer.place_call(request)
    queued = await dialer.fetch_call(request, call_id)
    assert queued is not None and queued.status == "queued"
    await sink.wait_final()
    ended = await dialer.fetch_call(request, call_id)
    assert ended == sink.events[-1]


async def test_fetch_call_of_an_unknown_id_is_none(dialer: SimulatedDialer) -> None:
    assert await dialer.fetch_call(call_request(), "sim-nope") is None


async def test_find_call_finds_the_call_by_its_correlation_ids(dialer: SimulatedDialer) -> None:
    request = call_request(execution_id=42)
    before = datetime.now(UTC) - timedelta(seconds=1)
    await dialer.place_call(call_request(execution_id=41))
    call_id = await dialer.place_call(request)
    found = await dialer.find_call(request, before)
    assert found is not None and (found.call_id, found.execution_id) == (call_id, 42)


async def test_find_call_ignores_calls_created_before_the_bound(dialer: SimulatedDialer) -> None:
    request = call_request()
    await dialer.place_call(request)
    later = datetime.now(UTC) + timedelta(seconds=1)
    assert await dialer.find_call(request, later) is None


async def test_find_call_of_a_request_never_placed_is_none(dialer: SimulatedDialer) -> None:
    await dialer.place_call(call_request(execution_id=1))
    before = datetime.now(UTC) - timedelta(seconds=1)
    assert await dialer.find_call(call_request(execution_id=2), before) is None


async def test_close_cancels_the_reports_still_pending(sink: Sink) -> None:
    dialer = SimulatedDialer(sink, delay=0.05)
    await dialer.place_call(call_request())
    assert dialer.pending == 1
    await dialer.close()
    await asyncio.sleep(0.1)
    assert (dialer.pending, sink.events) == (0, [])


async def test_a_failing_sink_does_not_stop_the_final_report(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[str] = []

    async def flaky(event: CallEvent) -> None:
        seen.append(event.status)
        if event.status == "in-progress":
            raise RuntimeError("boom")

    dialer = SimulatedDialer(flaky, delay=0.0)
    with caplog.at_level(logging.ERROR):
        await dialer.place_call(call_request())
        await asyncio.sleep(0.05)
    assert seen == ["in-progress", "ended"]
    assert "sink failed" in caplog.text
    await dialer.close()


async def test_only_the_most_recent_calls_are_remembered(sink: Sink) -> None:
    dialer = SimulatedDialer(sink, delay=10.0, max_records=2)
    ids = [await dialer.place_call(call_request()) for _ in range(3)]
    known = [await dialer.fetch_call(call_request(), call_id) for call_id in ids]
    assert [event is not None for event in known] == [False, True, True]
    await dialer.close()
