"""Public fakes for tests of the core and of host apps (no patching of internals needed)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from dialcues_core.messages.model import (
    CarrierReport,
    IncomingText,
    Message,
    OutgoingMessage,
    SendReceipt,
)
from dialcues_core.numbers.model import (
    AvailableNumber,
    CarrierEvent,
    CarrierOrder,
    NumberQuery,
    Reservation,
)
from dialcues_core.reminders.model import Reminder, ReminderStatus

if TYPE_CHECKING:
    from dialcues_core.bootstrap import Dialcues


@dataclass
class RecordingCarrier:
    """A ``Carrier`` that records every call (name and arguments) and delegates to another
    carrier (``telephony.md`` §1.1): a host app's test can count what reached the carrier —
    one ``send`` per message, one ``order`` per number — without patching internals.

    ``Dialcues.carriers`` builds the adapters; wrap one with this, or hand it to code that
    takes a ``Carrier``.
    """

    inner: Any
    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The wrapped carrier's name."""
        return str(self.inner.name)

    def of(self, method: str) -> list[tuple[Any, ...]]:
        """The arguments of every call of ``method``, in order."""
        return [args for name, args in self.calls if name == method]

    async def search(self, query: NumberQuery) -> list[AvailableNumber]:
        """Record, then delegate."""
        self.calls.append(("search", (query,)))
        return list(await self.inner.search(query))

    async def reserve(self, number: str, reference: str) -> Reservation:
        """Record, then delegate."""
        self.calls.append(("reserve", (number, reference)))
        found: Reservation = await self.inner.reserve(number, reference)
        return found

    async def extend(self, reservation_id: str) -> Reservation:
        """Record, then delegate."""
        self.calls.append(("extend", (reservation_id,)))
        found: Reservation = await self.inner.extend(reservation_id)
        return found

    async def find_reservation(self, reference: str) -> Reservation | None:
        """Record, then delegate."""
        self.calls.append(("find_reservation", (reference,)))
        found: Reservation | None = await self.inner.find_reservation(reference)
        return found

    async def order(self, number: str, reference: str) -> CarrierOrder:
        """Record, then delegate."""
        self.calls.append(("order", (number, reference)))
        found: CarrierOrder = await self.inner.order(number, reference)
        return found

    async def find_order(self, reference: str) -> CarrierOrder | None:
        """Record, then delegate."""
        self.calls.append(("find_order", (reference,)))
        found: CarrierOrder | None = await self.inner.find_order(reference)
        return found

    async def get_order(self, order_id: str) -> CarrierOrder:
        """Record, then delegate."""
        self.calls.append(("get_order", (order_id,)))
        found: CarrierOrder = await self.inner.get_order(order_id)
        return found

    async def release(self, number: str) -> None:
        """Record, then delegate."""
        self.calls.append(("release", (number,)))
        await self.inner.release(number)

    async def send(self, outgoing: OutgoingMessage) -> SendReceipt:
        """Record, then delegate (a refusal is recorded too: the call was made)."""
        self.calls.append(("send", (outgoing,)))
        found: SendReceipt = await self.inner.send(outgoing)
        return found

    async def settle(self, message: Message, now: datetime) -> list[CarrierReport | IncomingText]:
        """Record, then delegate."""
        self.calls.append(("settle", (message.id,)))
        return list(await self.inner.settle(message, now))

    def read_event(
        self, headers: Mapping[str, str], raw_body: bytes, now: datetime
    ) -> CarrierEvent:
        """Record, then delegate."""
        self.calls.append(("read_event", (len(raw_body),)))
        found: CarrierEvent = self.inner.read_event(headers, raw_body, now)
        return found


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime | None = None):
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        """Return the fake current time."""
        return self._now

    def monotonic(self) -> float:
        """Return the fake time as seconds since the epoch (moves only with the fake time)."""
        return self._now.timestamp()

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward by ``seconds`` and return the new time."""
        self._now += timedelta(seconds=seconds)
        return self._now

    def set(self, moment: datetime) -> None:
        """Jump to ``moment`` (aware)."""
        self._now = moment


def one_off_reminder(
    user_id: str,
    organization_id: str,
    line_id: str | None,
    due: datetime,
    *,
    title: str = "Reminder",
    message: str = "A reminder call",
    phone_number: str = "+14155552671",
    status: ReminderStatus = ReminderStatus.SCHEDULED,
    created_at: datetime | None = None,
) -> Reminder:
    """Return a one-off reminder due at the aware UTC ``due`` (not yet stored; id 0).

    It was created at ``created_at`` (default: ``due`` itself; nothing here reads the clock).
    """
    now = created_at or due
    return Reminder(
        id=0, user_id=user_id, organization_id=organization_id, title=title, message=message,
        phone_number=phone_number, scheduled_at=due, timezone="UTC",
        local_time=due.replace(tzinfo=None), status=status, line_id=line_id, line_label=None,
        recurrence=None, retry_count=0, next_attempt_at=None, last_execution_id=None,
        created_at=now, updated_at=now,
    )  # fmt: skip


def insert_reminders(dc: Dialcues, reminders: Iterable[Reminder], chunk: int = 500) -> None:
    """Bulk-insert reminders in one transaction, bypassing validation (tests, benchmarks)."""
    from dialcues_core.adapters.peewee.reminders import reminder_values
    from dialcues_core.adapters.peewee.tables import ReminderRow

    rows = [reminder_values(r) for r in reminders]
    with dc.db.atomic():
        for start in range(0, len(rows), chunk):
            ReminderRow.insert_many(rows[start : start + chunk]).execute()
