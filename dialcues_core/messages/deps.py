"""What the message use cases, the sender and the keyword rules share."""

from __future__ import annotations

import dataclasses
from collections.abc import Coroutine
from typing import Any, Protocol, TypeVar

from dialcues_core.accounts.ports import LineRepository, OrganizationRepository
from dialcues_core.calling.service import CallingPolicies
from dialcues_core.config import Settings
from dialcues_core.consent.ports import ConsentStore
from dialcues_core.consent.service import OptOuts
from dialcues_core.kernel.ports import ChangeListener, Clock, Transactions
from dialcues_core.messages.ports import MessageStore
from dialcues_core.numbers.ports import Carriers, NumberStore
from dialcues_core.webhooks.outbox import Outbox

R = TypeVar("R")


class Runner(Protocol):
    """Awaits a coroutine from synchronous code (:class:`~dialcues_core.offload.LoopThread`)."""

    def run(self, coro: Coroutine[Any, Any, R], timeout: float | None = None) -> R:
        """Run ``coro`` to completion and return its result."""
        ...


@dataclasses.dataclass(frozen=True, slots=True)
class MessageDeps:
    """Storage, carriers and collaborators of the message capability."""

    store: MessageStore
    numbers: NumberStore
    """The organizations' carrier settings."""
    lines: LineRepository
    organizations: OrganizationRepository
    consent: ConsentStore
    opt_outs: OptOuts
    policies: CallingPolicies
    outbox: Outbox
    transactions: Transactions
    clock: Clock
    settings: Settings
    carriers: Carriers
    runner: Runner
    listeners: list[ChangeListener]
    """Woken when a message is queued (the sender looks at once)."""
