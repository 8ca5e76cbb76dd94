"""The pre-dial eligibility hook (``responsible-calling.md`` §12): gate check 7.

After the claim commits and before the dial, the organization's hook is asked
``{"type": "attempt.predial", "timestamp", "data": {"execution", "reminder"}}`` (signed like
webhook deliveries). ``{"allow": true}`` dials; ``{"allow": false, "reason"}`` vetoes (skip
``vetoed``, the occurrence ends); anything else follows ``on_failure``: ``allow`` dials,
``skip`` records ``predial_unavailable``, which the retry policy treats as a failed attempt.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

MAX_ANSWER_BYTES = 64 * 1024
MAX_REASON = 255
VETO_MESSAGE = "Vetoed by the pre-dial check: {reason}"
UNAVAILABLE_MESSAGE = "Not dialed: the pre-dial check did not answer usably ({why})."


class Verdict(StrEnum):
    """What the hook's exchange came to."""

    ALLOW = "allow"
    VETO = "veto"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True, slots=True)
class Answer:
    """The hook's verdict, with the veto's reason or why the exchange was unusable."""

    verdict: Verdict
    reason: str = ""


@dataclass(frozen=True, slots=True)
class PredialTarget:
    """Where and how to ask: the organization's hook and its signing secrets (current first,
    then a rotated-out one still signing)."""

    url: str
    timeout_ms: int
    on_failure: str
    secrets: tuple[str, ...]


class PredialHook(Protocol):
    """Ask an organization's hook (the HTTP adapter; one try, ``timeout_ms`` in all)."""

    async def ask(self, target: PredialTarget, message_id: str, body: str) -> Answer:
        """POST ``body`` signed as ``message_id``; return the verdict (never raises)."""
        ...

    async def close(self) -> None:
        """Release the client's connections."""
        ...


def request_body(execution: dict[str, Any], reminder: dict[str, Any] | None, at: datetime) -> str:
    """The request's JSON: the objects as ``GET`` renders them."""
    payload = {
        "type": "attempt.predial",
        "timestamp": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "data": {"execution": execution, "reminder": reminder},
    }
    return json.dumps(payload, separators=(",", ":"))


def read_answer(status: int, body: bytes) -> Answer:
    """Judge the hook's HTTP answer (a 2xx with a boolean ``allow``; anything else is
    unavailable)."""
    if not 200 <= status < 300:
        return Answer(Verdict.UNAVAILABLE, f"HTTP {status}")
    if len(body) > MAX_ANSWER_BYTES:
        return Answer(Verdict.UNAVAILABLE, "the answer is over 64 KiB")
    try:
        found = json.loads(body)
    except ValueError:
        return Answer(Verdict.UNAVAILABLE, "the answer is not JSON")
    allow = found.get("allow") if isinstance(found, dict) else None
    if not isinstance(allow, bool):
        return Answer(Verdict.UNAVAILABLE, "the answer has no boolean allow")
    if allow:
        return Answer(Verdict.ALLOW)
    reason = found.get("reason")
    text = " ".join(reason.split()) if isinstance(reason, str) else ""
    return Answer(Verdict.VETO, text[:MAX_REASON] or "no reason given")
