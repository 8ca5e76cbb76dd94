"""The vocabulary of inbound calls: a ring as the voice provider reports it, the answer the
core decides, the reminders a readback reads (``telephony.md`` §3)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dialcues_core.accounts.model import OutboundLine, ProviderSettings
from dialcues_core.calling.policy import Identity


@dataclass(frozen=True, slots=True)
class Ring:
    """An inbound call asking how to be answered (Vapi's ``assistant-request``)."""

    call_id: str
    provider_line_id: str | None
    caller: str | None
    """The caller's number (None: withheld)."""
    secret: str | None
    """The credential the request carried (``x-vapi-secret``)."""


@dataclass(frozen=True, slots=True)
class ReadbackItem:
    """One reminder a readback reads: its title and its next time in its own zone."""

    reminder_id: int
    title: str
    at: datetime
    timezone: str


@dataclass(frozen=True, slots=True)
class NewInbound:
    """An inbound execution to record (insert-on-conflict on the call id)."""

    organization_id: str
    call_id: str
    line_id: str
    line_number: str
    caller: str | None
    route: Mapping[str, Any] | None
    answer_by: datetime | None
    at: datetime


@dataclass(frozen=True, slots=True)
class Answer:
    """What to answer the voice provider: a route applied to one call.

    ``error`` alone is a sentence spoken before the call ends (a refusal, a goodbye); else the
    route's answer is built from the rest by the provider's adapter.
    """

    route: Mapping[str, Any] | None
    error: str | None = None
    execution_id: int | None = None
    organization_id: str | None = None
    line: OutboundLine | None = None
    caller: str | None = None
    provider: ProviderSettings | None = None
    identity: Identity | None = None
    readback: tuple[ReadbackItem, ...] = field(default_factory=tuple)
    opening: str | None = None
    """A readback's first words (identification, then the reminders)."""
    answer_by: datetime | None = None
    """An ``external`` call: when the line's fallback applies."""
