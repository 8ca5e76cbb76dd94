"""Recurrence fields as the wire gives them (``recurrence_type``/``_config``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from dialcues_core.kernel.fields import MISSING, FieldReader, _is_int
from dialcues_core.reminders import recurrence
from dialcues_core.reminders.model import RecurrenceKind


# ----------------------------------------------------------------------------- recurrence
@dataclass(frozen=True, slots=True)
class RecurrenceSpec:
    """A validated recurrence, before it is anchored to a reminder's time and zone."""

    kind: RecurrenceKind
    interval_days: int | None = None
    weekdays: tuple[int, ...] = ()
    cron: str | None = None

    def wire_type(self) -> str:
        """Return the contract's ``recurrence_type`` for this spec."""
        if self.kind in (RecurrenceKind.INTERVAL_DAYS, RecurrenceKind.WEEKDAYS):
            return "custom"
        return self.kind.value

    def wire_config(self) -> dict[str, Any] | None:
        """Return the contract's ``recurrence_config`` object."""
        if self.kind is RecurrenceKind.INTERVAL_DAYS:
            return {"interval_days": self.interval_days}
        if self.kind is RecurrenceKind.WEEKDAYS:
            return {"weekdays": list(self.weekdays)}
        if self.kind is RecurrenceKind.CRON:
            return {"expression": self.cron}
        return None


RECURRENCE_TYPES = ("daily", "weekly", "custom", "cron")


def parse_recurrence_type(value: Any) -> str | None:
    """Parse ``recurrence_type``: one of the four types, or null for a one-off."""
    if value is None:
        return None
    if value not in RECURRENCE_TYPES:
        raise ValueError("must be one of daily, weekly, custom, cron, or null")
    return str(value)


def parse_recurrence_config(value: Any) -> dict[str, Any] | None:
    """Parse ``recurrence_config``: an object, a JSON string holding one, or null."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError("must be an object or a JSON string holding one") from None
    if value is not None and not isinstance(value, dict):
        raise ValueError("must be an object or a JSON string holding one")
    return value


def build_recurrence(rtype: str | None, config: dict[str, Any] | None) -> RecurrenceSpec | None:
    """Combine type and config into a spec; ``ValueError`` names the config problem."""
    if rtype is None:
        if config:
            raise ValueError("must be null when recurrence_type is null")
        return None
    if rtype in ("daily", "weekly"):
        if config:
            raise ValueError(f"must be null for a {rtype} recurrence")
        return RecurrenceSpec(RecurrenceKind(rtype))
    if rtype == "cron":
        return RecurrenceSpec(RecurrenceKind.CRON, cron=_cron_from(config))
    return _custom_from(config)


def _cron_from(config: dict[str, Any] | None) -> str:
    if not config or set(config) != {"expression"} or not isinstance(config["expression"], str):
        raise ValueError('must be {"expression": "<five cron fields>"} for cron')
    return recurrence.parse_cron(config["expression"])


def _custom_from(config: dict[str, Any] | None) -> RecurrenceSpec:
    if config and set(config) == {"interval_days"}:
        days = config["interval_days"]
        if not _is_int(days) or not 1 <= days <= 365:
            raise ValueError("interval_days must be an integer from 1 to 365")
        return RecurrenceSpec(RecurrenceKind.INTERVAL_DAYS, interval_days=days)
    if config and set(config) == {"weekdays"}:
        days = config["weekdays"]
        if (
            not isinstance(days, list)
            or not days
            or not all(_is_int(d) and 0 <= d <= 6 for d in days)
            or len(set(days)) != len(days)
        ):
            raise ValueError(
                "weekdays must be a non-empty list of unique integers 0–6 (0 = Sunday)"
            )
        return RecurrenceSpec(RecurrenceKind.WEEKDAYS, weekdays=tuple(sorted(days)))
    raise ValueError('must be {"interval_days": N} or {"weekdays": [0-6, …]} for custom')


CREATE_FIELDS = frozenset(
    {
        "title",
        "message",
        "phone_number",
        "timezone",
        "scheduled_at",
        "vapi_line_id",
        "recurrence_type",
        "recurrence_config",
        "recurrence_end_at",
        "purpose",
        "calling_window",
        "max_lateness_seconds",
        "retry_policy",
        "fallback",
    }
)

UPDATE_FIELDS = CREATE_FIELDS | {"status"}


def _read_recurrence(reader: FieldReader, current: RecurrenceSpec | None, default: Any) -> Any:
    """Read recurrence_type/config; return the spec, None (one-off) or MISSING (bad).

    ``default`` is returned when neither field was sent.
    """
    has_type, has_config = reader.has("recurrence_type"), reader.has("recurrence_config")
    if not has_type and not has_config:
        return default
    rtype = reader.read("recurrence_type", parse_recurrence_type)
    config = reader.read("recurrence_config", parse_recurrence_config)
    if (rtype is MISSING and has_type) or (config is MISSING and has_config):
        return MISSING
    if rtype is MISSING:
        rtype = current.wire_type() if current is not None else None
    if config is MISSING:
        config = None
    try:
        return build_recurrence(rtype, config)
    except ValueError as exc:
        reader.fail("recurrence_config", str(exc))
        return MISSING
