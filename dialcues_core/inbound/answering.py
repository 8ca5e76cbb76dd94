"""Answering a ring within the voice provider's deadline (``telephony.md`` §3.2, §3.4).

Vapi allows 7.5 s end to end and advises under 6: :class:`Answering` keeps a 6 s budget.
Any failure after authentication answers within it, with the line's ``external`` fallback when
it has one, else :data:`~dialcues_core.inbound.service.SORRY` — never a 5xx. An ``external``
call is held open until a platform decides (``POST /calls/inbound/answer``) or its
``answer_by`` passes: the waiting handler polls the execution's row every
:data:`POLL_SECONDS` (a decision taken in another process) and is woken at once by one taken
in this process (:meth:`Answering.notify`). Whichever conditional update comes first wins.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

from dialcues_core.errors import ProviderEventRejected, ResourceNotFound
from dialcues_core.inbound.model import Answer
from dialcues_core.inbound.ports import RingReader
from dialcues_core.inbound.routes import RouteType, route_type
from dialcues_core.inbound.service import SORRY, InboundCalls
from dialcues_core.kernel.ports import Clock

logger = logging.getLogger("dialcues.inbound")

BUDGET_SECONDS: Final = 6.0
POLL_SECONDS: Final = 0.05
Offload = Callable[..., Awaitable[Any]]


class Answering:
    """The asynchronous side of rings: the deadline, and the wait of ``external`` routes."""

    def __init__(
        self,
        calls: InboundCalls,
        readers: Mapping[str, RingReader],
        offload: Offload,
        clock: Clock,
        public_url: str,
        deliver_now: Callable[[], Awaitable[None]] | None = None,
    ):
        self.calls = calls
        self.deliver_now = deliver_now
        """Makes one webhook delivery pass at once (``call.ringing`` is attempted at once)."""
        self._kicks: set[asyncio.Task[None]] = set()
        self.readers = dict(readers)
        self.offload = offload
        self.clock = clock
        self.public_url = public_url
        self._waiting: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Event]] = {}

    async def handle(
        self, provider: str, headers: Mapping[str, str], body: bytes
    ) -> dict[str, Any] | None:
        """The provider's answer to a ring, or None when the message is no ring. Raises
        ``invalid_provider_event`` (nothing recorded) for an unknown line or a wrong secret."""
        reader = self.readers.get(provider)
        if reader is None:
            raise ResourceNotFound("provider", provider)
        ring = reader.read_ring({k.lower(): v for k, v in headers.items()}, body)
        if ring is None:
            return None
        started = self.clock.monotonic()
        recording = asyncio.ensure_future(self.offload(self.calls.ring, ring))
        try:
            answer = await asyncio.wait_for(asyncio.shield(recording), timeout=BUDGET_SECONDS)
        except ProviderEventRejected:
            raise  # authentication failed: a 401, nothing recorded
        except Exception:  # the database is slow or down: answer within the budget
            logger.exception("Recording call %s failed; answering the fallback", ring.call_id)
            line = self.calls.lines.cached(ring.provider_line_id or "")
            unrecorded = Answer(None, line=line, caller=ring.caller)
            return reader.answer_body(await self._fallback(unrecorded), self.public_url)
        left = BUDGET_SECONDS - (self.clock.monotonic() - started)
        if answer.answer_by is not None:
            self._ringing()
        try:
            answer = await asyncio.wait_for(self._decided(answer), timeout=max(0.1, left))
        except Exception:  # a timeout or an internal failure: answer within the budget
            logger.exception("Answering call %s failed; answering the fallback", ring.call_id)
            answer = await self._fallback(answer)
        return reader.answer_body(answer, self.public_url)

    def _ringing(self) -> None:
        """An ``external`` call waits: deliver its ``call.ringing`` now, in the background."""
        if self.deliver_now is None:
            return
        task = asyncio.ensure_future(self.deliver_now())
        self._kicks.add(task)
        task.add_done_callback(self._kicks.discard)

    async def decide(self, answer: Answer) -> Answer:
        """The decided answer of a ring (an embedding host's ``lines ring``)."""
        return await self._decided(answer)

    def notify(self, execution_id: int) -> None:
        """A decision for ``execution_id`` was taken in this process: wake its waiter."""
        found = self._waiting.get(execution_id)
        if found is not None:
            loop, event = found
            loop.call_soon_threadsafe(event.set)

    async def _decided(self, answer: Answer) -> Answer:
        if answer.route is not None or answer.error is not None or answer.execution_id is None:
            return answer
        route = await self._wait(answer)
        decided: Answer = await self.offload(self.calls.answer_for, answer, route)
        return decided

    async def _wait(self, answer: Answer) -> Mapping[str, Any]:
        execution_id = answer.execution_id
        assert execution_id is not None and answer.answer_by is not None
        event = asyncio.Event()
        self._waiting[execution_id] = (asyncio.get_running_loop(), event)
        try:
            while True:
                route = await self.offload(self.calls.decision, execution_id)
                if route is not None:
                    return route  # type: ignore[no-any-return]
                left = (answer.answer_by - self.clock.now()).total_seconds()
                if left <= 0:
                    fallback = _fallback_route(answer)
                    return await self.offload(self.calls.fall_back, execution_id, fallback)  # type: ignore[no-any-return]
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), timeout=min(POLL_SECONDS, left))
                event.clear()
        finally:
            self._waiting.pop(execution_id, None)

    async def _fallback(self, answer: Answer) -> Answer:
        """The line's ``external`` fallback when it has one, else the apology. A waiting call's
        fallback is stored first (the same conditional update as its deadline's), so what the
        caller hears is what the execution says, and a later answer gets 409."""
        if not _is_external(answer):
            return Answer(None, error=SORRY)
        route = _fallback_route(answer)
        with contextlib.suppress(Exception):
            if answer.execution_id is not None and answer.route is None:
                route = await asyncio.wait_for(
                    self.offload(self.calls.fall_back, answer.execution_id, route), timeout=1.0
                )
            built: Answer = await asyncio.wait_for(
                self.offload(self.calls.answer_for, answer, route), timeout=1.0
            )
            return built
        return Answer(None, error=SORRY)


def _is_external(answer: Answer) -> bool:
    line = answer.line
    return line is not None and route_type(line.route) is RouteType.EXTERNAL


def _fallback_route(answer: Answer) -> Mapping[str, Any]:
    line = answer.line
    route = line.route if line is not None else None
    found = route.get("fallback") if route is not None else None
    return found if isinstance(found, Mapping) else {"type": RouteType.REJECT.value}


__all__ = ["Answering", "ProviderEventRejected"]
