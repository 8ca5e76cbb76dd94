"""Inbound calls in the core (``telephony.md`` §3.2–3.4): authenticate a ring, record its
execution, decide its route, and let an ``external`` platform decide within its timeout.

A ring is authenticated by its line (found by the voice provider's id of it) and that
organization's webhook secret; neither failure records anything. A line without a route
refuses the call and records nothing. A routed call gets one inbound execution per call id
(insert-on-conflict: a duplicate ring gets the same answer and no second execution), its
``execution.started`` (and ``call.ringing`` for ``external``) in the same transaction.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from dialcues_core.accounts.model import Principal, Provider
from dialcues_core.accounts.ports import OrganizationRepository
from dialcues_core.calling.service import CallingPolicies
from dialcues_core.calls.model import Execution
from dialcues_core.errors import (
    CallAlreadyAnswered,
    ProviderEventRejected,
    ResourceNotFound,
    ValidationFailed,
)
from dialcues_core.inbound import readback
from dialcues_core.inbound.lines import Lines
from dialcues_core.inbound.model import Answer, NewInbound, Ring
from dialcues_core.inbound.ports import InboundStore
from dialcues_core.inbound.routes import REJECT_SENTENCE, RouteType, parse_route, route_type
from dialcues_core.kernel.crypto import hashes_match
from dialcues_core.kernel.fields import FieldReader, parse_id, require_object
from dialcues_core.kernel.phone import parse_phone_number
from dialcues_core.kernel.ports import Clock, Transactions
from dialcues_core.kernel.scopes import WRITE_CALLS, requires
from dialcues_core.webhooks.outbox import Outbox

logger = logging.getLogger("dialcues.inbound")

ANSWER_FIELDS = frozenset({"call_id", "execution_id", "route"})
SORRY = "Sorry, this number cannot take your call right now."


class InboundCalls:
    """Rings, their executions and their routes."""

    def __init__(
        self,
        lines: Lines,
        store: InboundStore,
        organizations: OrganizationRepository,
        policies: CallingPolicies,
        outbox: Outbox,
        transactions: Transactions,
        clock: Clock,
    ):
        self.lines = lines
        self.store = store
        self.organizations = organizations
        self.policies = policies
        self.outbox = outbox
        self.tx = transactions
        self.clock = clock
        self.unrouted = 0
        """Calls refused because their line has no route (a counter for operators)."""

    def ring(self, ring: Ring) -> Answer:
        """Authenticate ``ring``, record its execution, and answer (``route`` None: an
        ``external`` call waiting for its decision). Raises ``ProviderEventRejected``."""
        line = self.lines.by_provider_line_id(ring.provider_line_id or "")
        if line is None:
            raise ProviderEventRejected()
        with self.tx.atomic():
            organization = self.organizations.get(line.organization_id)
        provider = organization.provider if organization else None
        if provider is None or provider.provider is not Provider.VAPI or ring.secret is None:
            raise ProviderEventRejected()
        if not hashes_match(provider.webhook_secret, ring.secret):
            raise ProviderEventRejected()
        base = Answer(
            None,
            organization_id=line.organization_id,
            line=line,
            caller=ring.caller,
            provider=provider,
        )
        if line.route is None:
            self.unrouted += 1
            logger.info("An inbound call to line %s was refused: the line has no route", line.id)
            return _with(base, error=REJECT_SENTENCE)
        return self._record(base, ring, line.route)

    def _record(self, base: Answer, ring: Ring, route: Mapping[str, Any]) -> Answer:
        line = base.line
        assert line is not None
        now = self.clock.now()
        external = route_type(route) is RouteType.EXTERNAL
        answer_by = (
            now + timedelta(milliseconds=int(route.get("timeout_ms", 4000))) if external else None
        )
        new = NewInbound(
            line.organization_id,
            ring.call_id,
            line.id,
            line.phone_number,
            ring.caller,
            None if external else route,
            answer_by,
            now,
        )
        with self.tx.atomic(), self.outbox.collecting():
            execution_id, created = self.store.record(new)
            if not created and self.store.get(execution_id) is not None:
                other = self.store.get(execution_id)
                if other is not None and other.organization_id != line.organization_id:
                    raise ProviderEventRejected()  # another organization's call id
            if created:
                pairs = [(line.organization_id, execution_id)]
                self.outbox.inbound("execution.started", pairs)
                if external:
                    self.outbox.inbound("call.ringing", pairs)
            execution = self.store.get(execution_id)
        assert execution is not None
        if execution.route is None:  # external, not decided yet
            return _with(base, execution_id=execution_id, answer_by=execution.answer_by)
        return self.answer_for(_with(base, execution_id=execution_id), execution.route)

    def answer_for(self, base: Answer, route: Mapping[str, Any]) -> Answer:
        """The answer of a decided (never ``external``) route."""
        kind = route_type(route)
        answer = _with(base, route=route)
        if kind is RouteType.MESSAGE:
            return _with(answer, error=str(route["text"]))
        if kind in (RouteType.REJECT, None):
            return _with(answer, error=REJECT_SENTENCE)
        if kind is RouteType.READBACK:
            return self._readback(answer)
        return answer

    def _readback(self, answer: Answer) -> Answer:
        caller, org = answer.caller, answer.organization_id or ""
        if caller is None:
            return _with(answer, error=readback.NONE_FOUND)
        with self.tx.atomic():
            items = self.store.readback(org, caller, readback.MAX_ITEMS)
            if items and answer.execution_id is not None:
                self.store.set_readback(answer.execution_id, [i.reminder_id for i in items])
        if not items:
            return _with(answer, error=readback.NONE_FOUND)
        identity = self.policies.effective_of(org).identity
        return _with(
            answer,
            identity=identity,
            readback=tuple(items),
            opening=readback.first_message(identity, items),
        )

    def ring_line(self, organization_id: str, line_id: str, caller: str) -> Answer:
        """An operator's simulated ring of a line (``dialcues lines ring``): the core path of
        a ring without the provider's credential (the operator is trusted)."""
        try:
            number = parse_phone_number(caller)
        except ValueError as exc:
            raise ValidationFailed.one("from", str(exc)) from None
        line = self.lines.get_for(organization_id, line_id)
        with self.tx.atomic():
            organization = self.organizations.get(organization_id)
        provider = organization.provider if organization else None
        base = Answer(
            None, organization_id=organization_id, line=line, caller=number, provider=provider
        )
        if line.route is None:
            self.unrouted += 1
            return _with(base, error=REJECT_SENTENCE)
        ring = Ring(f"sim-inbound-{secrets.token_hex(8)}", line.provider_line_id, number, None)
        return self._record(base, ring, line.route)

    def execution(self, execution_id: int) -> Execution | None:
        """An inbound execution (an operator's view)."""
        with self.tx.atomic():
            return self.store.get(execution_id)

    # ------------------------------------------------------------------ external
    def decision(self, execution_id: int) -> Mapping[str, Any] | None:
        """The route stored for a waiting call, if one was."""
        with self.tx.atomic():
            execution = self.store.get(execution_id)
        return execution.route if execution is not None else None

    def fall_back(self, execution_id: int, fallback: Mapping[str, Any]) -> Mapping[str, Any]:
        """At the deadline: store the line's fallback unless an answer came first; return the
        route that won."""
        with self.tx.atomic():
            if self.store.decide(execution_id, fallback):
                return fallback
            execution = self.store.get(execution_id)
        assert execution is not None and execution.route is not None
        return execution.route

    @requires(WRITE_CALLS)
    def answer(self, principal: Principal, payload: Any) -> Execution:
        """``POST /calls/inbound/answer``: decide a waiting ``external`` call (one winner)."""
        body = require_object(payload)
        reader = FieldReader(body, ANSWER_FIELDS)
        if reader.has("call_id") == reader.has("execution_id"):
            reader.fail("call_id", "give exactly one of call_id and execution_id")
        raw = body.get("route")
        route: Mapping[str, Any] | None = None
        with self.tx.atomic():
            own = {
                line.phone_number
                for line in self.lines.lines.list_for_org(principal.organization_id)
            }
        try:
            route = parse_route(raw, own, external=False) if "route" in body else None
        except ValidationFailed as exc:
            for name, problem in exc.fields.items():
                reader.fail(name, problem)
        if "route" not in body:
            reader.fail("route", "is required")
        reader.raise_if_any()
        assert route is not None
        with self.tx.atomic():
            execution = self._waiting(principal.organization_id, body)
            answer_by = execution.answer_by
            late = answer_by is not None and answer_by <= self.clock.now()
        if late:  # past its deadline: the fallback applies (stored here if its handler is gone)
            raise CallAlreadyAnswered(
                dict(self.fall_back(execution.id, self._fallback_of(execution)))
            )
        with self.tx.atomic():
            if not self.store.decide(execution.id, route):
                current = self.store.get(execution.id)
                raise CallAlreadyAnswered(dict(current.route or {}) if current else {})
            decided = self.store.get(execution.id)
        assert decided is not None
        return decided

    def _waiting(self, organization_id: str, body: Mapping[str, Any]) -> Execution:
        if "call_id" in body:
            ident: Any = body["call_id"]
            if not isinstance(ident, str) or not is_printable(ident):
                raise ResourceNotFound("call", ident)
            found = self.store.by_call_id(ident)
        else:
            ident = body["execution_id"]
            if isinstance(ident, bool) or not isinstance(ident, int | str):
                raise ValidationFailed.one("execution_id", "must be an execution id")
            found = self.store.get(parse_id(ident, "call"))
        if found is None or found.organization_id != organization_id:
            raise ResourceNotFound("call", ident)
        if found.answer_by is None or found.status.is_final:
            raise CallAlreadyAnswered(dict(found.route or {}))
        if found.route is not None:
            raise CallAlreadyAnswered(dict(found.route))
        return found

    def _fallback_of(self, execution: Execution) -> Mapping[str, Any]:
        line = self.lines.lines.get(execution.organization_id, execution.line_id or "")
        route = line.route if line is not None else None
        found = route.get("fallback") if route is not None else None
        return found if isinstance(found, Mapping) else {"type": RouteType.REJECT.value}


def _with(answer: Answer, **changes: Any) -> Answer:
    return dataclasses.replace(answer, **changes)


def is_printable(text: str) -> bool:
    """1–100 printable characters (a provider's call id; anything else is no call of ours)."""
    return 1 <= len(text) <= 100 and text.isprintable()
