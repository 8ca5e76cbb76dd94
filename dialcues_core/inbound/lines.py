"""Lines as the public API manages them (``telephony.md`` §0 #3, §3.1): read one, change its
label, route or default. Adding a line by hand stays with operators (CLI, admin service,
embedding API); assign adds one, release removes one.

The ``assistant-request`` path finds a line by the voice provider's id of it through a cache
(:meth:`Lines.by_provider_line_id`): a change applies at once in the process that made it and
within ``DIALCUES_KEY_CACHE_SECONDS`` elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from dialcues_core.accounts.model import OutboundLine, Principal
from dialcues_core.accounts.ports import LineRepository
from dialcues_core.errors import ResourceNotFound, ValidationFailed
from dialcues_core.inbound.routes import parse_route
from dialcues_core.kernel.fields import (
    FieldReader,
    is_well_formed_id,
    require_object,
    text_parser,
)
from dialcues_core.kernel.ports import Clock, Transactions
from dialcues_core.kernel.scopes import READ_LINES, WRITE_LINES, requires
from dialcues_core.kernel.ttlcache import TtlCache

LINE_FIELDS: Final = frozenset({"label", "route", "is_default"})
MAX_LABEL: Final = 255

_LABEL = text_parser(MAX_LABEL)


class Lines:
    """The organization's lines: read, change, and found by the provider's id."""

    def __init__(
        self, lines: LineRepository, transactions: Transactions, clock: Clock, cache_seconds: float
    ):
        self.lines = lines
        self.tx = transactions
        self._by_provider_id: TtlCache[str, OutboundLine | None] = TtlCache(clock, cache_seconds)

    @requires(READ_LINES)
    def get(self, principal: Principal, line_id: Any) -> OutboundLine:
        """``GET /lines/{id}``."""
        return self.get_for(principal.organization_id, line_id)

    def get_for(self, organization_id: str, line_id: Any) -> OutboundLine:
        """The same for an operator."""
        if not isinstance(line_id, str) or not is_well_formed_id(line_id):
            raise ResourceNotFound("line", line_id)
        with self.tx.atomic():
            line = self.lines.get(organization_id, line_id)
        if line is None:
            raise ResourceNotFound("line", line_id)
        return line

    @requires(WRITE_LINES)
    def update(self, principal: Principal, line_id: Any, payload: Any) -> OutboundLine:
        """``PATCH /lines/{id}``: any of ``label``, ``route`` (null clears it), ``is_default:
        true``; an empty body or an unknown field is a ``validation_error``."""
        return self.update_for(principal.organization_id, line_id, payload)

    def update_for(self, organization_id: str, line_id: Any, payload: Any) -> OutboundLine:
        """The same for an operator (``dialcues lines set-route``)."""
        body = require_object(payload)
        if not body:
            raise ValidationFailed({}, "Give at least one of label, route, is_default.")
        with self.tx.atomic():
            line = self.get_for(organization_id, line_id)
            own = {other.phone_number for other in self.lines.list_for_org(organization_id)}
            changes = _read_changes(body, own)
            default = changes.pop("is_default", False)
            self.lines.update(organization_id, line.id, changes)
            if default:
                self.lines.set_default(organization_id, line.id)
            updated = self.get_for(organization_id, line.id)
        self.forget(updated)
        return updated

    def by_provider_line_id(self, provider_line_id: str) -> OutboundLine | None:
        """Any organization's line by the voice provider's id of it (cached)."""
        cached = self._by_provider_id.get(provider_line_id)
        if cached is not None:
            return cached
        with self.tx.atomic():
            line = self.lines.by_provider_line_id(provider_line_id)
        if line is not None:
            self._by_provider_id.put(provider_line_id, line)
        return line

    def cached(self, provider_line_id: str) -> OutboundLine | None:
        """The line if this process has it cached (no database: for answering during an
        outage)."""
        return self._by_provider_id.get(provider_line_id)

    def forget(self, line: OutboundLine) -> None:
        """Drop a changed line from this process's cache."""
        if line.provider_line_id is not None:
            self._by_provider_id.pop(line.provider_line_id)


def _read_changes(body: Mapping[str, Any], own_numbers: set[str]) -> dict[str, Any]:
    reader = FieldReader(body, LINE_FIELDS)
    changes: dict[str, Any] = {}
    if reader.has("label"):
        changes["label"] = reader.read("label", _parse_label)
    if reader.has("route"):
        raw = body["route"]
        try:
            changes["route"] = None if raw is None else parse_route(raw, own_numbers)
        except ValidationFailed as exc:
            for name, problem in exc.fields.items():
                reader.fail(name, problem)
    if reader.has("is_default"):
        changes["is_default"] = reader.read("is_default", _parse_true)
    reader.raise_if_any()
    return changes


def _parse_label(value: Any) -> str | None:
    """A line's label (the ``lines add`` rule: 1–255 characters, no control characters), or
    null."""
    if value is None:
        return None
    return _LABEL(value.strip() if isinstance(value, str) else value)


def _parse_true(value: Any) -> bool:
    if value is not True:
        raise ValueError("must be true (make another line the default instead of false)")
    return True
