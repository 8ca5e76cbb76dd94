"""A use case in two steps: one that commits on its own before slow I/O, then the rest.

``telephony.md`` §0 #8: a hold waits on the carrier, which cannot join a database
transaction, so its claim commits first and its result second (with the idempotency reply).
The edges run :attr:`Staged.prepare` and :attr:`Staged.finish` through the idempotency
(``Idempotency.run_staged``); a host app simply calls :meth:`Staged.run`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Staged(Generic[T]):
    """``prepare`` (its own commits and the slow I/O), then ``finish`` (one transaction)."""

    prepare: Callable[[], Any]
    finish: Callable[[Any], T]

    def run(self) -> T:
        """Run both steps."""
        return self.finish(self.prepare())
