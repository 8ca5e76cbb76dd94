"""The retry policy: one attempt budget per occurrence, delays by outcome (§6).

``{"max_attempts": 3, "delays": {"busy": [300, 900], "no_answer": [900, 1800],
"failed": [300], "voicemail": null}}``: the retry that becomes attempt k + 1 waits element k
of the list of the outcome that just ended attempt k (a shorter list repeats its last
element); a ``null`` list means that outcome is not retried (``voicemail`` then counts as
delivered). A delay list ``L`` of the older settings means ``max_attempts`` len(L) + 1 and
``L`` for busy, no answer and failed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

OUTCOME_KEYS = ("busy", "no_answer", "failed", "voicemail")
MAX_ATTEMPTS = 10
MAX_DELAY = 86400


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """The attempts of one occurrence and the waits between them."""

    max_attempts: int
    busy: tuple[int, ...] | None = None
    no_answer: tuple[int, ...] | None = None
    failed: tuple[int, ...] | None = None
    voicemail: tuple[int, ...] | None = None

    @classmethod
    def from_delays(cls, delays: tuple[int, ...]) -> RetryPolicy:
        """The policy an older delay list means (``DIALCUES_RETRY_DELAYS``, ``--retry-delays``)."""
        if not delays:
            return cls(1)
        return cls(len(delays) + 1, delays, delays, delays, None)

    def delays_for(self, outcome: str) -> tuple[int, ...] | None:
        """The delay list of an outcome key (``busy``, ``no_answer``, ``failed``, ``voicemail``)."""
        return getattr(self, outcome) if outcome in OUTCOME_KEYS else None

    def delay(self, outcome: str, attempt: int) -> int | None:
        """Seconds before attempt ``attempt + 1`` after ``attempt`` ended with ``outcome``;
        ``None`` when it is not retried (no list, or the budget is spent)."""
        delays = self.delays_for(outcome)
        if not delays or attempt >= self.max_attempts:
            return None
        return delays[min(attempt, len(delays)) - 1]

    def to_json(self) -> dict[str, Any]:
        """The contract's shape."""
        return {
            "max_attempts": self.max_attempts,
            "delays": {
                key: list(v) if (v := self.delays_for(key)) is not None else None
                for key in OUTCOME_KEYS
            },
        }


def parse_retry_policy(value: object) -> RetryPolicy:
    """Read the contract's shape; raise ``ValueError`` with one sentence on anything else."""
    if not isinstance(value, Mapping):
        raise ValueError("must be an object with max_attempts and delays")
    unknown = set(value) - {"max_attempts", "delays"}
    if unknown:
        raise ValueError(f"has an unknown member: {sorted(unknown)[0]}")
    attempts = value.get("max_attempts")
    if type(attempts) is not int or not 1 <= attempts <= MAX_ATTEMPTS:
        raise ValueError(f"max_attempts must be an integer from 1 to {MAX_ATTEMPTS}")
    delays = value.get("delays", {})
    if delays is None:
        delays = {}
    if not isinstance(delays, Mapping):
        raise ValueError("delays must be an object keyed by busy, no_answer, failed, voicemail")
    unknown = set(delays) - set(OUTCOME_KEYS)
    if unknown:
        raise ValueError(f"delays has an unknown key: {sorted(unknown)[0]}")
    lists = {key: _delay_list(key, delays.get(key)) for key in OUTCOME_KEYS}
    return RetryPolicy(attempts, **lists)


def _delay_list(key: str, raw: object) -> tuple[int, ...] | None:
    if raw is None:
        return None
    problem = f"delays.{key} must be null or a list of 1 to 10 integers from 1 to {MAX_DELAY}"
    if not isinstance(raw, list) or not 1 <= len(raw) <= 10:
        raise ValueError(problem)
    if any(type(d) is not int or not 1 <= d <= MAX_DELAY for d in raw):
        raise ValueError(problem)
    return tuple(raw)


def retry_to_stored(policy: RetryPolicy | None) -> str | None:
    """The text kept in the database (the contract's JSON), or None."""
    return json.dumps(policy.to_json(), sort_keys=True) if policy is not None else None


def retry_from_stored(text: str | None) -> RetryPolicy | None:
    """Read :func:`retry_to_stored`'s text back."""
    return parse_retry_policy(json.loads(text)) if text else None
