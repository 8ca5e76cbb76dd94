"""The deprecation registry: every breaking change of v1, announced 12 months before its sunset.

``telephony.md`` §5. An entry says what is deprecated, when the release that added it was
published (``announced_at``), from which day it may stop working (``sunset_at``: at least
12 calendar months later) and what to use instead. Nothing else declares a deprecation: the
REST edge derives its ``Deprecation``/``Sunset``/``Link`` headers, the OpenAPI document its
``deprecated: true`` marks and ``GET /deprecations`` its body from the tuple it is given;
the gRPC edge its initial metadata and ``ListDeprecations``; usage events their
``deprecated`` flag. The composition roots take the tuple as a parameter: production passes
:data:`REGISTRY`, tests their own.

A ``target`` names one thing, by kind (REST paths are templates relative to
``/api/public/v1``; gRPC names are protobuf full names)::

    route            GET /reminders/{id}
    query_parameter  GET /executions query:to
    request_field    POST /reminders request:message
    response_field   GET /executions response:cost
    event_type       execution.finished
    rpc              /dialcues.v1.ReminderService/GetReminder
    rpc_field        dialcues.v1.Reminder.message

A request *uses* an entry when it calls a deprecated route or RPC, sends a deprecated query
parameter or a deprecated top-level request field (gRPC: sets a deprecated field of its
request message), or gets a reply holding a deprecated response field: a top-level key of
the JSON body, or of an object in its ``items`` (a page). A gRPC reply "holds" every field
its message type declares, so an RPC whose response type has a deprecated field always
uses that entry. The check is that shallow on purpose: it costs one dictionary lookup for a
request no entry concerns.

After its sunset an entry may be marked ``removed`` (``telephony.md`` §5.1) and stays listed.
A removed route or RPC answers ``gone`` (REST 410, gRPC UNIMPLEMENTED: edge-only, no core
error), a removed parameter or request field "is no longer supported" (a validation error),
a removed response field is dropped (:func:`drop_fields`, as shallow as the look above) and
a removed event type never reaches the outbox. Calling a removed route or sending a removed
member still *uses* the entry (the refusal carries the headers); no reply holds a removed
response field, so that entry is never used.

:func:`problems` states the registry's rules: ids unique and usable as a URL fragment, one
entry per target, a well-formed target per kind (an event type the platform sends), the
notice (:func:`earliest_sunset`), and nothing removed before its sunset. Whether a REST or
gRPC target names something is each edge's question (its route table, its proto).

Announcing one: add the entry here (``announced_at`` is the release's date), a "Deprecated"
entry to ``CHANGELOG.md`` and a line to ``docs/public-api.md``; for an ``rpc`` or
``rpc_field``, mark the proto (``option deprecated = true`` / ``[deprecated = true]``) and
run ``make gen-protos``; run ``scripts/gen_openapi.py``. The drift tests fail until the
proto and the OpenAPI document agree with the registry.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import format_datetime
from enum import StrEnum
from typing import Any, Final

from dialcues_core.errors import ValidationFailed
from dialcues_core.webhooks.model import EVENT_TYPES

MINIMUM_NOTICE_MONTHS: Final = 12
"""The least time between an announcement and its sunset, in calendar months."""
CHANGELOG: Final = "https://dialcues.dev/changelog"
"""The changelog page; each entry has an anchor named after its id."""
NO_LONGER_SUPPORTED: Final = "is no longer supported"
"""The ``validation_error`` problem of a removed query parameter or request field."""


class Kind(StrEnum):
    """What kind of thing an entry deprecates (and so how its ``target`` reads)."""

    ROUTE = "route"
    QUERY_PARAMETER = "query_parameter"
    REQUEST_FIELD = "request_field"
    RESPONSE_FIELD = "response_field"
    EVENT_TYPE = "event_type"
    RPC = "rpc"
    RPC_FIELD = "rpc_field"


REST_KINDS: Final = frozenset(
    {Kind.ROUTE, Kind.QUERY_PARAMETER, Kind.REQUEST_FIELD, Kind.RESPONSE_FIELD}
)
GRPC_KINDS: Final = frozenset({Kind.RPC, Kind.RPC_FIELD})
_MEMBER_PREFIX: Final[Mapping[Kind, str]] = {
    Kind.QUERY_PARAMETER: "query",
    Kind.REQUEST_FIELD: "request",
    Kind.RESPONSE_FIELD: "response",
}
_REST_TARGET: Final = re.compile(
    r"(?P<method>GET|POST|PATCH|PUT|DELETE) (?P<path>/[^\s]*)"
    r"(?: (?P<prefix>query|request|response):(?P<member>[A-Za-z_][A-Za-z0-9_]*))?"
)
_RPC_TARGET: Final = re.compile(r"/[A-Za-z_][\w.]*\.[A-Za-z_]\w*/[A-Za-z_]\w*")
_RPC_FIELD_TARGET: Final = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*){2,}")
_ID: Final = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


@dataclass(frozen=True, slots=True)
class Deprecation:
    """One announced breaking change (module docstring: how ``target`` reads by ``kind``).

    ``replacement`` says what to use instead, or None when there is nothing to replace it.
    ``removed`` marks an entry whose thing a release removed after the sunset (the entry
    stays, so clients can still look it up).
    """

    id: str
    kind: Kind
    target: str
    announced_at: date
    sunset_at: date
    replacement: str | None
    removed: bool = False

    @property
    def link(self) -> str:
        """Return the changelog URL of this entry."""
        return f"{CHANGELOG}#{self.id}"

    def rest_route(self) -> tuple[str, str] | None:
        """Return ``(method, template)`` of a REST entry's route, else None."""
        match = _REST_TARGET.fullmatch(self.target) if self.kind in REST_KINDS else None
        return (match["method"], match["path"]) if match else None

    def member(self) -> str | None:
        """Return the parameter or field a REST field entry names, else None."""
        match = _REST_TARGET.fullmatch(self.target) if self.kind in _MEMBER_PREFIX else None
        return match["member"] if match else None


REGISTRY: Final[tuple[Deprecation, ...]] = ()
"""Every deprecation of v1, oldest first. Empty: nothing is deprecated yet."""


# ----------------------------------------------------------------------------- the rules
def add_months(day: date, months: int) -> date:
    """Return the same day ``months`` calendar months later (the month's last day when the
    month is shorter: 2024-01-31 plus one month is 2024-02-29)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def earliest_sunset(announced_at: date) -> date:
    """Return the first day a sunset announced on ``announced_at`` may fall on."""
    return add_months(announced_at, MINIMUM_NOTICE_MONTHS)


def problems(registry: Iterable[Deprecation], today: date | None = None) -> list[str]:
    """Return every rule the registry breaks, one sentence each (empty: it is valid).

    ``today``, when given, also refuses an entry marked ``removed`` before its sunset.
    """
    found: list[str] = []
    ids: set[str] = set()
    targets: set[tuple[Kind, str]] = set()
    for entry in registry:
        found += _entry_problems(entry, today)
        if entry.id in ids:
            found.append(f"{entry.id}: the id is used twice")
        if (entry.kind, entry.target) in targets:
            found.append(f"{entry.id}: {entry.kind} {entry.target!r} is announced twice")
        ids.add(entry.id)
        targets.add((entry.kind, entry.target))
    return found


def _entry_problems(entry: Deprecation, today: date | None) -> list[str]:
    found = []
    if not _ID.fullmatch(entry.id):
        found.append(f"{entry.id}: an id is 1–64 of a-z, 0-9 and '-', starting alphanumeric")
    target = _target_problem(entry)
    if target:
        found.append(f"{entry.id}: {target}")
    earliest = earliest_sunset(entry.announced_at)
    if entry.sunset_at < earliest:
        found.append(
            f"{entry.id}: the sunset {entry.sunset_at} is less than {MINIMUM_NOTICE_MONTHS} "
            f"months after the announcement {entry.announced_at} (earliest {earliest})"
        )
    if entry.removed and today is not None and today < entry.sunset_at:
        found.append(f"{entry.id}: removed before its sunset {entry.sunset_at}")
    return found


def _target_problem(entry: Deprecation) -> str | None:
    """Say why ``entry.target`` is malformed for its kind (None: it is well-formed)."""
    kind, target = entry.kind, entry.target
    if kind in REST_KINDS:
        match = _REST_TARGET.fullmatch(target)
        prefix = _MEMBER_PREFIX.get(kind)
        if match is None or match["prefix"] != prefix:
            shape = "METHOD /path" + (f" {prefix}:name" if prefix else "")
            return f"a {kind} target reads {shape!r}, not {target!r}"
        return None
    if kind == Kind.EVENT_TYPE:
        return None if target in EVENT_TYPES else f"{target!r} is no event type the platform sends"
    if kind == Kind.RPC:
        return None if _RPC_TARGET.fullmatch(target) else f"{target!r} is no full method name"
    if kind == Kind.RPC_FIELD:
        return None if _RPC_FIELD_TARGET.fullmatch(target) else f"{target!r} is no field name"
    return f"{kind!r} is no kind of deprecation"


class InvalidRegistry(ValueError):
    """The registry breaks its rules (raised by the composition roots, before serving)."""


def validate(registry: Iterable[Deprecation], today: date | None = None) -> None:
    """Raise :class:`InvalidRegistry` naming every rule the registry breaks."""
    found = problems(registry, today)
    if found:
        raise InvalidRegistry("; ".join(found))


# ----------------------------------------------------------------------------- rendering
def deprecation_header(day: date) -> str:
    """Return RFC 9745's ``Deprecation`` value: ``@`` and the Unix seconds of 00:00 UTC."""
    return f"@{calendar.timegm(day.timetuple())}"


def sunset_header(day: date) -> str:
    """Return RFC 8594's ``Sunset`` value: the IMF-fixdate of 00:00 UTC on ``day``."""
    return format_datetime(datetime(day.year, day.month, day.day, tzinfo=UTC), usegmt=True)


def link_header(entries: Iterable[Deprecation]) -> str:
    """Return the ``Link`` value: each entry's changelog anchor, ``rel="deprecation"``."""
    links = dict.fromkeys(f'<{e.link}>; rel="deprecation"; type="text/html"' for e in entries)
    return ", ".join(links)


def headers(entries: Sequence[Deprecation]) -> dict[str, str]:
    """Return the three headers of a reply that used ``entries`` (at least one).

    Several entries: ``Deprecation`` is the earliest announcement, ``Sunset`` the earliest
    sunset (the first day something the client used may stop working), ``Link`` names each.
    """
    return {
        "Deprecation": deprecation_header(min(e.announced_at for e in entries)),
        "Sunset": sunset_header(min(e.sunset_at for e in entries)),
        "Link": link_header(entries),
    }


def item(entry: Deprecation) -> dict[str, Any]:
    """Return one entry as ``GET /deprecations`` lists it (dates as ``YYYY-MM-DD``)."""
    return {
        "id": entry.id,
        "kind": entry.kind.value,
        "target": entry.target,
        "announced_at": entry.announced_at.isoformat(),
        "sunset_at": entry.sunset_at.isoformat(),
        "replacement": entry.replacement,
        "removed": entry.removed,
    }


def listing(registry: Iterable[Deprecation]) -> dict[str, Any]:
    """Return the body of ``GET /deprecations``: the policy, then every entry."""
    return {
        "policy": {"minimum_notice_months": MINIMUM_NOTICE_MONTHS, "changelog": CHANGELOG},
        "items": [item(entry) for entry in registry],
    }


# ----------------------------------------------------------------------------- use
@dataclass(frozen=True, slots=True)
class RouteDeprecations:
    """What the registry says about one REST route: the route itself, and its members."""

    route: tuple[Deprecation, ...] = ()
    query: Mapping[str, Deprecation] = field(default_factory=dict)
    request: Mapping[str, Deprecation] = field(default_factory=dict)
    response: Mapping[str, Deprecation] = field(default_factory=dict)

    def used(self, query: Iterable[str], body: Any = None, reply: Any = None) -> list[Deprecation]:
        """Return the entries a request used (module docstring: how shallow the look is).

        ``query``: the parameter names sent; ``body`` and ``reply``: the decoded JSON of the
        request and of the reply (anything else counts as holding no field).
        """
        found = list(self.route)
        found += [self.query[name] for name in query if name in self.query]
        if self.request and isinstance(body, dict):
            found += [entry for name, entry in self.request.items() if name in body]
        if self.response:
            keys = reply_keys(reply)
            found += [entry for name, entry in self.response.items() if name in keys]
        return list(dict.fromkeys(found))

    def gone(self) -> Deprecation | None:
        """Return the removed entry of the route itself, or None (it still works)."""
        return next((entry for entry in self.route if entry.removed), None)

    def refuse_removed(self, query: Iterable[str], body: Any = None) -> None:
        """Raise ``validation_error`` naming each removed parameter in ``query`` and each
        removed top-level field of ``body`` (the decoded JSON request), if any."""
        removed = _removed(self.query)
        refused = [name for name in query if name in removed]
        if isinstance(body, dict):
            refused += [name for name in _removed(self.request) if name in body]
        if refused:
            raise ValidationFailed(dict.fromkeys(refused, NO_LONGER_SUPPORTED))

    def removed_request(self) -> frozenset[str]:
        """Return the names of the route's removed request fields."""
        return _removed(self.request)

    def removed_response(self) -> frozenset[str]:
        """Return the names of the route's removed response fields."""
        return _removed(self.response)

    def removes(self) -> bool:
        """Tell whether any entry of the route is removed (so requests need the check)."""
        return bool(self.gone()) or any(map(_removed, (self.query, self.request, self.response)))


def _removed(members: Mapping[str, Deprecation]) -> frozenset[str]:
    return frozenset(name for name, entry in members.items() if entry.removed)


def drop_fields(reply: Any, names: frozenset[str]) -> Any:
    """Return ``reply`` without the top-level keys ``names``, nor those keys of each object
    in its ``items`` (a page); ``reply`` itself when it holds none of them (a copy else)."""
    if not names or not (names & reply_keys(reply)):
        return reply
    kept = _without(reply, names)
    if isinstance(kept.get("items"), list):
        kept["items"] = [_without(one, names) for one in kept["items"]]
    return kept


def _without(one: Any, names: frozenset[str]) -> Any:
    return {k: v for k, v in one.items() if k not in names} if isinstance(one, dict) else one


def removed_event_types(registry: Iterable[Deprecation]) -> frozenset[str]:
    """Return the event types the registry marks removed (never written to the outbox)."""
    return frozenset(e.target for e in registry if e.kind == Kind.EVENT_TYPE and e.removed)


def reply_keys(reply: Any) -> set[str]:
    """Return the top-level keys of a JSON reply and of each object in its ``items``."""
    if not isinstance(reply, dict):
        return set()
    keys = set(reply)
    items = reply.get("items")
    if isinstance(items, list):
        for one in items:
            if isinstance(one, dict):
                keys.update(one)
    return keys


def by_route(registry: Iterable[Deprecation]) -> dict[tuple[str, str], RouteDeprecations]:
    """Index the REST entries by ``(method, template)`` of their route."""
    grouped: dict[tuple[str, str], dict[Kind, list[Deprecation]]] = {}
    for entry in registry:
        route = entry.rest_route()
        if route is not None:
            grouped.setdefault(route, {}).setdefault(entry.kind, []).append(entry)
    return {route: _route_entries(kinds) for route, kinds in grouped.items()}


def _route_entries(kinds: Mapping[Kind, list[Deprecation]]) -> RouteDeprecations:
    def members(kind: Kind) -> dict[str, Deprecation]:
        return {str(e.member()): e for e in kinds.get(kind, ())}

    return RouteDeprecations(
        route=tuple(kinds.get(Kind.ROUTE, ())),
        query=members(Kind.QUERY_PARAMETER),
        request=members(Kind.REQUEST_FIELD),
        response=members(Kind.RESPONSE_FIELD),
    )


def by_rpc(registry: Iterable[Deprecation]) -> dict[str, tuple[Deprecation, ...]]:
    """Index the ``rpc`` entries by full method name."""
    found: dict[str, tuple[Deprecation, ...]] = {}
    for entry in registry:
        if entry.kind == Kind.RPC:
            found[entry.target] = (*found.get(entry.target, ()), entry)
    return found


def by_message(registry: Iterable[Deprecation]) -> dict[str, dict[str, Deprecation]]:
    """Index the ``rpc_field`` entries: message full name → field name → entry."""
    found: dict[str, dict[str, Deprecation]] = {}
    for entry in registry:
        if entry.kind == Kind.RPC_FIELD:
            message, _, name = entry.target.rpartition(".")
            found.setdefault(message, {})[name] = entry
    return found
