"""The webhook outbox's writing side: events collected inside the dispatcher's transactions.

The dispatcher's use cases (:mod:`dialcues_core.dispatch.attempts`) tell an :class:`Outbox` what
changed — executions started or finished, reminders reaching ``completed`` or ``failed`` —
while their transaction is open, and wrap the transaction in :meth:`Outbox.collecting`. When
the outermost block ends without an error, the events are written as outbox messages *in
that same transaction*, so a committed change always has its messages and a rolled-back one
never does. Only events some enabled subscription of the user wants become messages (one
per subscription and event); with no subscriptions that costs one indexed query.

An event type the deprecation registry marks ``removed`` (``telephony.md`` §5.1) is no
longer sent: the composition root passes those types as ``silenced`` and they are dropped
as they are noted, before any query (a set lookup per event).

Pending events are kept per thread: the offloader runs one transaction per thread at a time.
The payloads are the public API's wire shapes (``dialcues_rest.schemas`` renders the same
objects for the API; a test keeps the two in step).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dialcues_core.calls.rendering import execution_payload
from dialcues_core.kernel import crypto
from dialcues_core.kernel.ports import Clock
from dialcues_core.kernel.timefmt import millis
from dialcues_core.reminders.model import ReminderStatus
from dialcues_core.reminders.rendering import reminder_payload
from dialcues_core.reminders.steps import NextStep
from dialcues_core.webhooks.model import Interest, NewMessage, OutboxStore

TERMINAL_EVENTS = {
    ReminderStatus.COMPLETED: "reminder.completed",
    ReminderStatus.FAILED: "reminder.failed",
    ReminderStatus.SUPPRESSED: "reminder.suppressed",
}


@dataclass
class _Pending:
    """The events of the current transaction: (event type, user id, object id)."""

    depth: int = 0
    events: list[tuple[str, str, int]] = field(default_factory=list)
    organization_events: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    """Events of an organization's own objects (suppression entries, consents): (event type,
    organization id, the rendered object)."""
    user_objects: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    """Events of a user's object rendered already (outbound messages): (event type, user id,
    the rendered object)."""
    inbound: list[tuple[str, str, int]] = field(default_factory=list)
    """Events of inbound executions (organization resources): (event type, organization id,
    execution id); rendered when written, as they stand then."""


class Outbox:
    """Collect a transaction's events and write them as messages before it commits."""

    def __init__(self, store: OutboxStore, clock: Clock, silenced: frozenset[str] = frozenset()):
        self.store = store
        self.clock = clock
        self.silenced = silenced
        """Event types never written (removed after their sunset)."""
        self._local = threading.local()

    def _pending(self) -> _Pending:
        pending: _Pending | None = getattr(self._local, "pending", None)
        if pending is None:
            pending = self._local.pending = _Pending()
        return pending

    @contextmanager
    def collecting(self) -> Iterator[None]:
        """Collect events in the block; write them when the outermost block ends cleanly."""
        pending = self._pending()
        pending.depth += 1
        try:
            yield
            if pending.depth == 1 and pending.events:
                self._write(pending.events)
            if pending.depth == 1 and pending.inbound:
                objects = self._objects(pending.inbound)
                pending.organization_events.extend(
                    (kind, org, objects.get(("execution", eid)))  # type: ignore[misc]
                    for kind, org, eid in pending.inbound
                )
            if pending.depth == 1 and pending.organization_events:
                self._write_organization(pending.organization_events)
            if pending.depth == 1 and pending.user_objects:
                self._write_user_objects(pending.user_objects)
        finally:
            pending.depth -= 1
            if pending.depth == 0:
                pending.events.clear()
                pending.organization_events.clear()
                pending.user_objects.clear()
                pending.inbound.clear()

    def started(self, executions: Iterable[tuple[str, int]]) -> None:
        """Note executions committed ``in_progress``: (user id, execution id)."""
        self._add("execution.started", executions)

    def finished(self, executions: Iterable[tuple[str, int]]) -> None:
        """Note executions that reached a final outcome: (user id, execution id)."""
        self._add("execution.finished", executions)

    def skipped(self, executions: Iterable[tuple[str, int]]) -> None:
        """Note executions recorded ``skipped``: ``execution.skipped`` and, as for any final
        outcome, ``execution.finished``."""
        pairs = list(executions)
        self._add("execution.skipped", pairs)
        self._add("execution.finished", pairs)

    def steps(self, steps: Iterable[tuple[str, int, NextStep]]) -> None:
        """Note reminders' next steps that end them: (user id, reminder id, step)."""
        for user_id, reminder_id, step in steps:
            event = TERMINAL_EVENTS.get(step.status)
            if event is not None:
                self._add(event, [(user_id, reminder_id)])

    def organization_event(self, event: str, organization_id: str, data: dict[str, Any]) -> None:
        """Note an event about an organization's object (``suppression.created``, …): every
        enabled subscription of the organization that lists it gets it."""
        if event not in self.silenced:
            self._pending().organization_events.append((event, organization_id, data))

    def user_event(self, event: str, user_id: str, data: dict[str, Any]) -> None:
        """Note an event about a user's object rendered already (``message.sent`` …): every
        enabled subscription of the user that lists it gets it."""
        if event not in self.silenced:
            self._pending().user_objects.append((event, user_id, data))

    def inbound(self, event: str, executions: Iterable[tuple[str, int]]) -> None:
        """Note events of inbound executions: (organization id, execution id). Every enabled
        subscription of the organization that lists the event gets it."""
        if event not in self.silenced:
            self._pending().inbound.extend((event, org, eid) for org, eid in executions)

    def _add(self, event: str, pairs: Iterable[tuple[str, int]]) -> None:
        if event not in self.silenced:
            self._pending().events.extend((event, user_id, oid) for user_id, oid in pairs)

    def _write(self, events: list[tuple[str, str, int]]) -> None:
        """Turn wanted events into messages (one per subscription) and enqueue them."""
        interests = self.store.interests({user for _, user, _ in events})
        wanted = [(e, i) for e in events for i in interests if _wants(i, e)]
        if not wanted:
            return
        objects = self._objects([e for e, _ in wanted])
        now = self.clock.now()
        messages = [
            NewMessage(crypto.generate_id("msg"), i.subscription_id, kind, body, now)
            for (kind, _, oid), i in wanted
            if (body := _body(kind, objects.get((kind.split(".")[0], oid)), now)) is not None
        ]
        self.store.enqueue(messages)

    def _write_organization(self, events: list[tuple[str, str, dict[str, Any]]]) -> None:
        interests = self.store.organization_interests({org for _, org, _ in events})
        now = self.clock.now()
        messages = [
            NewMessage(crypto.generate_id("msg"), i.subscription_id, kind, body, now)
            for kind, org, data in events
            for i in interests.get(org, [])
            if kind in i.events and (body := _body(kind, data, now)) is not None
        ]
        if messages:
            self.store.enqueue(messages)

    def _write_user_objects(self, events: list[tuple[str, str, dict[str, Any]]]) -> None:
        interests = self.store.interests({user for _, user, _ in events})
        now = self.clock.now()
        messages = [
            NewMessage(crypto.generate_id("msg"), i.subscription_id, kind, body, now)
            for kind, user, data in events
            for i in interests
            if i.user_id == user and kind in i.events and (body := _body(kind, data, now))
        ]
        if messages:
            self.store.enqueue(messages)

    def _objects(self, events: list[tuple[str, str, int]]) -> dict[tuple[str, int], Any]:
        """Load the objects the messages carry, by (kind, id)."""
        execution_ids = sorted({oid for kind, _, oid in events if kind.startswith("execution")})
        reminder_ids = sorted({oid for kind, _, oid in events if kind.startswith("reminder")})
        found: dict[tuple[str, int], Any] = {}
        for eid, e in self.store.execution_objects(execution_ids).items():
            found[("execution", eid)] = execution_payload(e)
        for rid, r in self.store.reminder_objects(reminder_ids).items():
            found[("reminder", rid)] = reminder_payload(r)
        return found


class NoOutbox(Outbox):
    """An outbox that writes nothing (an ``Attempts`` built without webhooks)."""

    def __init__(self) -> None:
        self.silenced = frozenset()
        self._local = threading.local()

    def _write(self, events: list[tuple[str, str, int]]) -> None:
        return None

    def _write_organization(self, events: list[tuple[str, str, dict[str, Any]]]) -> None:
        return None

    def _write_user_objects(self, events: list[tuple[str, str, dict[str, Any]]]) -> None:
        return None


def _wants(interest: Interest, event: tuple[str, str, int]) -> bool:
    return interest.user_id == event[1] and event[0] in interest.events


def _body(kind: str, data: Any, now: datetime) -> str | None:
    """Return the message body ``{"type", "timestamp", "data"}`` as compact JSON."""
    if data is None:
        return None  # the object is gone (deleted in the same transaction): nothing to say
    envelope = {"type": kind, "timestamp": millis(now), "data": data}
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False)


# ----------------------------------------------------------------------------- wire shapes
