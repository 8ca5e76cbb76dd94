"""The audit trail's use cases: record an event, list an organization's events."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dialcues_core.accounts.model import Principal
from dialcues_core.audit.model import ACTIONS, Actor, AuditEvent
from dialcues_core.audit.ports import AuditQuery, AuditStore
from dialcues_core.kernel.crypto import generate_id
from dialcues_core.kernel.fields import (
    FieldReader,
    choice_parser,
    given,
    parse_page,
    parse_positive_int,
    parse_utc_bound,
    single_values,
    text_parser,
)
from dialcues_core.kernel.paging import Page
from dialcues_core.kernel.ports import Clock
from dialcues_core.kernel.requests import current_request_id
from dialcues_core.kernel.scopes import READ_AUDIT, requires

AUDIT_QUERY = frozenset(
    {"action", "subject_type", "subject_id", "date_from", "date_to", "page", "page_size"}
)
SUBJECT_TYPES = ("organization", "reminder", "execution", "phone_number", "consent")


def actor_of(principal: Principal) -> Actor:
    """The actor a public request acts as: its API key or its OAuth client."""
    if principal.client_id is not None:
        return Actor("oauth_client", principal.client_id, principal.user_id)
    return Actor("api_key", principal.api_key_id, principal.user_id)


class AuditTrail:
    """Append audit events and list them."""

    def __init__(self, store: AuditStore, clock: Clock):
        self.store = store
        self.clock = clock

    def record(
        self,
        organization_id: str,
        action: str,
        actor: Actor,
        subject: tuple[str, str],
        detail: Mapping[str, Any],
        request_id: str | None = None,
    ) -> AuditEvent:
        """Append one event; call it inside the transaction of the change it records."""
        if request_id is None:
            request_id = current_request_id()  # the REST request or RPC that made the change
        event = AuditEvent(
            id=generate_id("aud"),
            organization_id=organization_id,
            occurred_at=self.clock.now(),
            action=action,
            actor=actor,
            subject_type=subject[0],
            subject_id=subject[1],
            detail=dict(detail),
            request_id=request_id,
        )
        self.store.add_audit_event(event)
        return event

    @requires(READ_AUDIT)
    def list(self, principal: Principal, params: Mapping[str, Any]) -> Page[AuditEvent]:
        """One page of the principal's organization's events, newest first."""
        return self.list_for(principal.organization_id, params)

    def list_for(self, organization_id: str, params: Mapping[str, Any]) -> Page[AuditEvent]:
        """The same for an operator (the CLI, the gRPC admin service)."""
        reader = FieldReader(single_values(params), AUDIT_QUERY)
        action = given(reader.read("action", choice_parser(ACTIONS)))
        subject_type = given(reader.read("subject_type", choice_parser(SUBJECT_TYPES)))
        subject_id = given(reader.read("subject_id", text_parser(100)))
        date_from = given(reader.read("date_from", parse_utc_bound))
        date_to = given(reader.read("date_to", parse_utc_bound))
        page = given(reader.read("page", parse_page)) or 1
        size = given(reader.read("page_size", parse_positive_int(1, 100))) or 20
        reader.raise_if_any()
        items, total = self.store.list_audit_events(
            AuditQuery(
                organization_id,
                action,
                subject_type,
                subject_id,
                date_from,
                date_to,
                offset=(page - 1) * size,
                limit=size,
            )
        )
        return Page(items, total, page, size)
