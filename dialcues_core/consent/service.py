"""The suppression list's and consent records' use cases (``responsible-calling.md`` §7–8).

**Revoking is an opt-out, and every opt-out revokes**: :class:`OptOuts` adds an entry and
revokes the number's active consents in one transaction, with their audit events and
webhook events; revoking a consent adds an entry (reason ``api``) unless one is active. Every
write to a number's suppression or consent first takes the number's lock, which claims take
too, so a claim either committed before an entry did, or sees it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dialcues_core.accounts.model import Principal
from dialcues_core.audit.model import Actor
from dialcues_core.audit.service import AuditTrail, actor_of
from dialcues_core.calling.service import MAX_ACTOR
from dialcues_core.consent import fields
from dialcues_core.consent.model import (
    ConsentRecord,
    Revocation,
    Source,
    SuppressionEntry,
)
from dialcues_core.consent.ports import (
    ConsentQuery,
    ConsentStore,
    OrganizationEvents,
    SuppressionQuery,
)
from dialcues_core.consent.rendering import consent_payload, suppression_payload
from dialcues_core.errors import ConsentRequired, ResourceNotFound, ValidationFailed
from dialcues_core.kernel.crypto import generate_id
from dialcues_core.kernel.fields import is_well_formed_id
from dialcues_core.kernel.paging import Page
from dialcues_core.kernel.phone import parse_phone_number
from dialcues_core.kernel.ports import Clock, Transactions
from dialcues_core.kernel.scopes import (
    READ_CONSENTS,
    READ_SUPPRESSIONS,
    WRITE_CONSENTS,
    WRITE_SUPPRESSIONS,
    requires,
)
from dialcues_core.kernel.timefmt import millis


class OptOuts:
    """Add entries and revoke consents, each with the other, in the caller's transaction."""

    def __init__(
        self, store: ConsentStore, clock: Clock, audit: AuditTrail, outbox: OrganizationEvents
    ):
        self.store = store
        self.clock = clock
        self.audit = audit
        self.outbox = outbox

    def suppress(
        self,
        organization_id: str,
        number: str,
        reason: str,
        source: Source,
        actor: Actor,
        note: str | None = None,
    ) -> tuple[SuppressionEntry, bool]:
        """Suppress the number (unless an entry is active); return the active entry and
        whether it is new. Revokes the number's active consents with the entry's reason."""
        pair = (organization_id, number)
        self.store.lock_number(pair)
        found = self.store.active_suppressions([pair]).get(pair)
        if found is not None:
            return found, False
        now = self.clock.now()
        entry = SuppressionEntry(
            id=generate_id("sup"),
            organization_id=organization_id,
            phone_number=number,
            reason=reason,
            source=source,
            created_at=now,
            note=note,
        )
        self.store.add_suppression(entry)
        self.audit.record(
            organization_id,
            "suppression.created",
            actor,
            ("phone_number", number),
            {"reason": reason, "source": {"type": source.type, "id": source.id}},
        )
        self.outbox.organization_event(
            "suppression.created", organization_id, suppression_payload(entry)
        )
        active = self.store.active_consents(pair)
        if active:
            self._revoke(organization_id, active, Revocation(reason, source, None), actor)
        return entry, True

    def opt_out(
        self, organization_id: str, number: str, reason: str, source: Source, actor: Actor
    ) -> tuple[SuppressionEntry, bool, int]:
        """The person opted out (a keyword): suppress the number unless an entry is active,
        and revoke its active consents either way — every opt-out revokes, also one made
        while an entry of another reason was active. Return the active entry, whether it is
        new, and how many consents were revoked."""
        entry, new = self.suppress(organization_id, number, reason, source, actor)
        if new:
            return entry, True, 0  # suppress revoked them with the new entry
        active = self.store.active_consents((organization_id, number))
        if active:
            self._revoke(organization_id, active, Revocation(reason, source, None), actor)
        return entry, False, len(active)

    def revoke(self, record: ConsentRecord, actor: Actor, note: str | None) -> ConsentRecord:
        """Revoke one consent (a revoked one is returned unchanged); suppress its number
        with reason ``api`` unless an entry is active."""
        pair = (record.organization_id, record.phone_number)
        self.store.lock_number(pair)
        # read again under the lock: a concurrent opt-out may have revoked it meanwhile
        record = self.store.get_consent(record.organization_id, record.id) or record
        if not record.active:
            return record
        source = Source.of_actor(actor)
        (revoked,) = self._revoke(
            record.organization_id, [record], Revocation("api", source, note), actor
        )
        self.suppress(record.organization_id, record.phone_number, "api", source, actor)
        return revoked

    def _revoke(
        self, organization_id: str, records: list[ConsentRecord], why: Revocation, actor: Actor
    ) -> list[ConsentRecord]:
        revoked = self.store.revoke_consents([r.id for r in records], self.clock.now(), why)
        for record in revoked:
            self.audit.record(
                organization_id,
                "consent.revoked",
                actor,
                ("consent", record.id),
                {"reason": why.reason},
            )
            self.outbox.organization_event(
                "consent.revoked", organization_id, consent_payload(record)
            )
        return revoked


class Suppressions:
    """An organization's suppression list: list, add, read and remove (with new consent)."""

    def __init__(self, store: ConsentStore, tx: Transactions, clock: Clock, opt_outs: OptOuts):
        self.store = store
        self.tx = tx
        self.clock = clock
        self.opt_outs = opt_outs

    @requires(READ_SUPPRESSIONS)
    def list(self, principal: Principal, params: Mapping[str, Any]) -> Page[SuppressionEntry]:
        """One page of the organization's entries, newest first."""
        return self.list_for(principal.organization_id, params)

    def list_for(self, organization_id: str, params: Mapping[str, Any]) -> Page[SuppressionEntry]:
        """The same for an operator."""
        found = fields.read_suppression_query(params)
        query = SuppressionQuery(organization_id, **found)
        with self.tx.atomic():
            items, total = self.store.list_suppressions(query)
        return Page(items, total, query.offset // query.limit + 1, query.limit)

    @requires(WRITE_SUPPRESSIONS)
    def add(self, principal: Principal, payload: Any) -> tuple[SuppressionEntry, bool]:
        """``POST /suppressions``: the new entry and True, or the active one and False."""
        actor = actor_of(principal)
        return self.add_for(principal.organization_id, payload, actor)

    def add_for(
        self, organization_id: str, payload: Any, actor: Actor
    ) -> tuple[SuppressionEntry, bool]:
        """The same for an operator (``actor``: ``admin``)."""
        number, reason, note, external = fields.read_suppression(payload)
        source = Source.of_actor(actor, external)
        with self.tx.atomic(), self.opt_outs.outbox.collecting():
            if actor.type == "admin":
                check_operator(self.store, organization_id, actor)
            return self.opt_outs.suppress(organization_id, number, reason, source, actor, note)

    @requires(READ_SUPPRESSIONS)
    def get(self, principal: Principal, number: Any) -> SuppressionEntry:
        """The number's active entry, or ``not_found``."""
        return self.get_for(principal.organization_id, number)

    def get_for(self, organization_id: str, number: Any) -> SuppressionEntry:
        """The same for an operator."""
        pair = (organization_id, _number_of(number))
        with self.tx.atomic():
            found = self.store.active_suppressions([pair]).get(pair)
        if found is None:
            raise ResourceNotFound("suppression", number)
        return found

    @requires(WRITE_SUPPRESSIONS)
    def remove(self, principal: Principal, number: Any, consent_id: Any) -> SuppressionEntry:
        """``DELETE /suppressions/{number}?consent_id=…``: only with a newer active consent."""
        return self.remove_for(principal.organization_id, number, consent_id, actor_of(principal))

    def remove_for(
        self, organization_id: str, number: Any, consent_id: Any, actor: Actor
    ) -> SuppressionEntry:
        """The same for an operator."""
        phone = _number_of(number)
        pair = (organization_id, phone)
        with self.tx.atomic():
            if actor.type == "admin":
                check_operator(self.store, organization_id, actor)
            self.store.lock_number(pair)
            entry = self.store.active_suppressions([pair]).get(pair)
            if entry is None:
                raise ResourceNotFound("suppression", number)
            consent = None
            if isinstance(consent_id, str) and is_well_formed_id(consent_id):
                consent = self.store.get_consent(organization_id, consent_id)
            if (
                consent is None
                or not consent.active
                or consent.phone_number != phone
                or consent.captured_at <= entry.created_at
            ):
                raise ConsentRequired(
                    None,
                    None,
                    "Removing a suppression needs consent_id: an active consent for the number"
                    " captured after the entry was created.",
                    {
                        "consent_id": consent_id if isinstance(consent_id, str) else None,
                        "suppressed_at": millis(entry.created_at),
                    },
                )
            removed = self.store.remove_suppression(entry.id, self.clock.now(), actor, consent.id)
            self.opt_outs.audit.record(
                organization_id,
                "suppression.removed",
                actor,
                ("phone_number", phone),
                {"consent_id": consent.id},
            )
            with self.opt_outs.outbox.collecting():
                self.opt_outs.outbox.organization_event(
                    "suppression.removed", organization_id, suppression_payload(removed)
                )
        return removed


class Consents:
    """An organization's consent records: record, list, read, revoke (never delete)."""

    def __init__(self, store: ConsentStore, tx: Transactions, clock: Clock, opt_outs: OptOuts):
        self.store = store
        self.tx = tx
        self.clock = clock
        self.opt_outs = opt_outs

    @requires(WRITE_CONSENTS)
    def create(self, principal: Principal, payload: Any) -> ConsentRecord:
        """``POST /consents``."""
        return self.create_for(principal.organization_id, payload, actor_of(principal))

    def create_for(self, organization_id: str, payload: Any, actor: Actor) -> ConsentRecord:
        """The same for an operator."""
        now = self.clock.now()
        found = fields.read_consent(payload, now)
        record = ConsentRecord(
            id=generate_id("cns"),
            organization_id=organization_id,
            created_at=now,
            created_by=actor,
            **found,
        )
        with self.tx.atomic():
            if actor.type == "admin":
                check_operator(self.store, organization_id, actor)
            self.store.lock_number((organization_id, record.phone_number))
            self.store.add_consent(record)
            self.opt_outs.audit.record(
                organization_id,
                "consent.created",
                actor,
                ("consent", record.id),
                {"type": record.type, "purpose": record.purpose},
            )
        return record

    @requires(READ_CONSENTS)
    def list(self, principal: Principal, params: Mapping[str, Any]) -> Page[ConsentRecord]:
        """One page of the organization's records, newest first."""
        return self.list_for(principal.organization_id, params)

    def list_for(self, organization_id: str, params: Mapping[str, Any]) -> Page[ConsentRecord]:
        """The same for an operator."""
        query = ConsentQuery(organization_id, **fields.read_consent_query(params))
        with self.tx.atomic():
            items, total = self.store.list_consents(query)
        return Page(items, total, query.offset // query.limit + 1, query.limit)

    @requires(READ_CONSENTS)
    def get(self, principal: Principal, consent_id: Any) -> ConsentRecord:
        """One record, or ``not_found``."""
        return self.get_for(principal.organization_id, consent_id)

    def get_for(self, organization_id: str, consent_id: Any) -> ConsentRecord:
        """The same for an operator."""
        with self.tx.atomic():
            return self._get(organization_id, consent_id)

    def _get(self, organization_id: str, consent_id: Any) -> ConsentRecord:
        found = None
        if isinstance(consent_id, str) and is_well_formed_id(consent_id):
            found = self.store.get_consent(organization_id, consent_id)
        if found is None:
            raise ResourceNotFound("consent", consent_id)
        return found

    @requires(WRITE_CONSENTS)
    def revoke(self, principal: Principal, consent_id: Any, payload: Any) -> ConsentRecord:
        """``POST /consents/{id}/revoke``: the record revoked (a revoked one unchanged)."""
        return self.revoke_for(principal.organization_id, consent_id, payload, actor_of(principal))

    def revoke_for(
        self, organization_id: str | None, consent_id: Any, payload: Any, actor: Actor
    ) -> ConsentRecord:
        """The same for an operator; with ``organization_id`` None the record is found by its
        id alone (consent ids are unique across organizations)."""
        note = fields.read_revoke(payload)
        with self.tx.atomic(), self.opt_outs.outbox.collecting():
            if organization_id is None:
                found = None
                if isinstance(consent_id, str) and is_well_formed_id(consent_id):
                    found = self.store.consent_by_id(consent_id)
                if found is None:
                    raise ResourceNotFound("consent", consent_id)
                organization_id = found.organization_id
            if actor.type == "admin":
                check_operator(self.store, organization_id, actor)
            record = self._get(organization_id, consent_id)
            return self.opt_outs.revoke(record, actor, note)


def check_operator(store: ConsentStore, organization_id: str, actor: Actor) -> None:
    """An operator's request names an existing organization and a 1–100 character name."""
    if isinstance(actor.id, str) and not 1 <= len(actor.id.strip()) <= MAX_ACTOR:
        raise ValidationFailed({"actor": f"must be 1–{MAX_ACTOR} characters long"})
    if not store.organization_exists(organization_id):
        raise ResourceNotFound("organization", organization_id)


def _number_of(value: Any) -> str:
    """A ``{number}`` path segment: E.164 (``+`` as is or ``%2B``), else ``not_found``."""
    try:
        return parse_phone_number(value)
    except ValueError:
        raise ResourceNotFound("suppression", value) from None
