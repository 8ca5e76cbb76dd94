"""Reading the suppression list's and consent records' requests (§7–8): every problem at once."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from dialcues_core.consent.model import (
    CONSENT_PURPOSES,
    CONSENT_SOURCES,
    CONSENT_TYPES,
    SUPPRESSION_REASONS,
)
from dialcues_core.kernel.fields import (
    FieldReader,
    choice_parser,
    given,
    parse_page,
    parse_positive_int,
    parse_utc_bound,
    require_object,
    single_values,
    text_parser,
)
from dialcues_core.kernel.moments import _parse_iso
from dialcues_core.kernel.phone import parse_phone_number

SUPPRESSION_FIELDS = frozenset({"phone_number", "reason", "note", "external_id"})
SUPPRESSION_QUERY = frozenset(
    {"status", "reason", "phone_number", "date_from", "date_to", "page", "page_size"}
)
SUPPRESSION_STATUSES = ("active", "removed", "all")
CONSENT_FIELDS = frozenset(
    {"phone_number", "type", "purpose", "source", "text", "captured_at", "evidence"}
)
CONSENT_QUERY = frozenset(
    {"phone_number", "type", "purpose", "active", "date_from", "date_to", "page", "page_size"}
)
REVOKE_FIELDS = frozenset({"note"})
EVIDENCE_FIELDS = frozenset({"url", "ip", "user_agent"})
CAPTURED_AHEAD = timedelta(minutes=5)
"""How far in the future a consent's ``captured_at`` may be (clocks differ)."""

parse_note = text_parser(1000)
parse_external_id = text_parser(255)
parse_consent_text = text_parser(5000)


def optional(parse: Any) -> Any:
    """A parser that also accepts null."""
    return lambda value: None if value is None else parse(value)


def paging(reader: FieldReader) -> tuple[int, int]:
    """``page`` and ``page_size`` (1–100, default 20) as offset and limit."""
    page = given(reader.read("page", parse_page)) or 1
    size = given(reader.read("page_size", parse_positive_int(1, 100))) or 20
    return (page - 1) * size, size


def parse_query_bool(value: Any) -> bool:
    """A query parameter ``true`` or ``false``."""
    if value in ("true", "false"):
        return bool(value == "true")
    raise ValueError("must be true or false")


def parse_captured_at(now: datetime) -> Any:
    """An instant with an offset (or ``Z``), at most five minutes after ``now``."""

    def parse(value: Any) -> datetime:
        moment = _parse_iso(value) if isinstance(value, str) else None
        if moment is None or moment.tzinfo is None:
            raise ValueError(
                "must be an ISO 8601 instant with an offset, such as 2026-03-01T10:12:00Z"
            )
        try:
            moment = moment.astimezone(UTC)
        except OverflowError:  # e.g. 0001-01-01T00:00:00+05:00 lies before year 1 in UTC
            raise ValueError("must be an instant between the years 1 and 9999 in UTC") from None
        if moment > now + CAPTURED_AHEAD:
            raise ValueError("must not be more than 5 minutes in the future")
        return moment

    return parse


def parse_evidence(value: Any) -> dict[str, Any] | None:
    """``{"url"?, "ip"?, "user_agent"?}``: an http(s) URL, an IP address, a user agent."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValueError("must be an object with url, ip and user_agent")
    unknown = sorted(set(value) - EVIDENCE_FIELDS)
    if unknown:
        raise ValueError(
            f"has unknown members: {', '.join(unknown)} (allowed: ip, url, user_agent)"
        )
    evidence: dict[str, Any] = {}
    url = value.get("url")
    if url is not None:
        parts = urlsplit(url) if isinstance(url, str) else None
        if (
            parts is None
            or parts.scheme not in ("http", "https")
            or not parts.netloc
            or len(url) > 2048
            or any(c.isspace() or not c.isprintable() for c in url)
        ):
            raise ValueError("url must be an http(s) URL of at most 2048 characters")
        evidence["url"] = url
    ip = value.get("ip")
    if ip is not None:
        try:
            evidence["ip"] = str(ipaddress.ip_address(ip)) if isinstance(ip, str) else None
        except ValueError:
            evidence["ip"] = None
        if evidence["ip"] is None:
            raise ValueError("ip must be an IPv4 or IPv6 address")
    agent = value.get("user_agent")
    if agent is not None:
        if not isinstance(agent, str) or not 1 <= len(agent) <= 1000 or not agent.isprintable():
            raise ValueError("user_agent must be a string of 1–1000 characters")
        evidence["user_agent"] = agent
    return evidence


def read_suppression(payload: Any) -> tuple[str, str, str | None, str | None]:
    """``POST /suppressions``: the number, the reason (``api``), a note, the host's reference."""
    reader = FieldReader(require_object(payload), SUPPRESSION_FIELDS)
    number = reader.read("phone_number", parse_phone_number, required=True)
    reason = given(reader.read("reason", choice_parser(SUPPRESSION_REASONS))) or "api"
    note = given(reader.read("note", optional(parse_note)))
    external = given(reader.read("external_id", optional(parse_external_id)))
    reader.raise_if_any()
    return number, reason, note, external


def read_consent(payload: Any, now: datetime) -> dict[str, Any]:
    """``POST /consents``: every field of a consent record the caller gives."""
    reader = FieldReader(require_object(payload), CONSENT_FIELDS)
    found = {
        "phone_number": reader.read("phone_number", parse_phone_number, required=True),
        "type": reader.read("type", choice_parser(CONSENT_TYPES), required=True),
        "purpose": reader.read("purpose", choice_parser(CONSENT_PURPOSES), required=True),
        "source": reader.read("source", choice_parser(CONSENT_SOURCES), required=True),
        "text": reader.read("text", parse_consent_text, required=True),
        "captured_at": reader.read("captured_at", parse_captured_at(now), required=True),
        "evidence": given(reader.read("evidence", parse_evidence)),
    }
    reader.raise_if_any()
    return found


def read_revoke(payload: Any) -> str | None:
    """``POST /consents/{id}/revoke``: an optional note (an empty body is fine)."""
    if payload is None:
        return None
    reader = FieldReader(require_object(payload), REVOKE_FIELDS)
    note: str | None = given(reader.read("note", optional(parse_note)))
    reader.raise_if_any()
    return note


def read_suppression_query(params: Mapping[str, Any]) -> dict[str, Any]:
    """``GET /suppressions``'s filters."""
    reader = FieldReader(single_values(params), SUPPRESSION_QUERY)
    found = {
        "status": given(reader.read("status", choice_parser(SUPPRESSION_STATUSES))) or "active",
        "reason": given(reader.read("reason", choice_parser(SUPPRESSION_REASONS))),
        "phone_number": given(reader.read("phone_number", parse_phone_number)),
        "date_from": given(reader.read("date_from", parse_utc_bound)),
        "date_to": given(reader.read("date_to", parse_utc_bound)),
    }
    found["offset"], found["limit"] = paging(reader)
    reader.raise_if_any()
    return found


def read_consent_query(params: Mapping[str, Any]) -> dict[str, Any]:
    """``GET /consents``'s filters."""
    reader = FieldReader(single_values(params), CONSENT_QUERY)
    found = {
        "phone_number": given(reader.read("phone_number", parse_phone_number)),
        "type": given(reader.read("type", choice_parser(CONSENT_TYPES))),
        "purpose": given(reader.read("purpose", choice_parser(CONSENT_PURPOSES))),
        "active": given(reader.read("active", parse_query_bool)),
        "date_from": given(reader.read("date_from", parse_utc_bound)),
        "date_to": given(reader.read("date_to", parse_utc_bound)),
    }
    found["offset"], found["limit"] = paging(reader)
    reader.raise_if_any()
    return found
