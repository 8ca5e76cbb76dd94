"""Ports of inbound calls: their store, and the voice provider's side of a ring."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from dialcues_core.calls.model import Execution
from dialcues_core.inbound.model import Answer, NewInbound, ReadbackItem, Ring


class InboundStore(Protocol):
    """Inbound executions and the reminders a readback reads (the caller's transaction)."""

    def record(self, new: NewInbound) -> tuple[int, bool]:
        """Insert the call's execution unless it exists (one per call id); (id, created)."""
        ...

    def get(self, execution_id: int) -> Execution | None:
        """An inbound execution by id."""
        ...

    def by_call_id(self, call_id: str) -> Execution | None:
        """An inbound execution by the provider's call id."""
        ...

    def set_readback(self, execution_id: int, reminder_ids: list[int]) -> None:
        """Keep the reading order of a readback."""
        ...

    def decide(self, execution_id: int, route: Mapping[str, Any]) -> bool:
        """Store the route while none is stored (one winner); True when this one won."""
        ...

    def readback(self, organization_id: str, number: str, limit: int) -> list[ReadbackItem]:
        """The caller's ``scheduled`` reminders in the organization, soonest first."""
        ...


class RingReader(Protocol):
    """Reads a voice provider's ring and writes the answer it expects."""

    def read_ring(self, headers: Mapping[str, str], body: bytes) -> Ring | None:
        """The ring a message reports, or None when the message is not a ring."""
        ...

    def answer_body(self, answer: Answer, public_url: str) -> dict[str, Any]:
        """The provider's answer for ``answer``."""
        ...
