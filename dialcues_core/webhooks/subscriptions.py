"""Webhook subscriptions: create, list, read, change, delete, rotate the secret, read the log.

Every use case needs the ``webhooks:manage`` scope (checked first) and acts on the caller's
own subscriptions: another user's is ``not_found``. A secret (``whsec_`` + base64 of 24
random bytes, the Standard Webhooks form) is returned only by ``create`` and
``rotate_secret``; after a rotation the old secret keeps signing beside the new one for
:data:`ROTATION_OVERLAP`. URLs are checked by :mod:`dialcues_core.kernel.urls` (outside the
transaction: a DNS lookup must not hold the database).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from dialcues_core.accounts.model import Principal
from dialcues_core.errors import ResourceNotFound, ValidationFailed
from dialcues_core.kernel import crypto
from dialcues_core.kernel.fields import (
    MISSING,
    FieldReader,
    is_well_formed_id,
    parse_bool,
    parse_page,
    parse_positive_int,
    require_object,
    single_values,
)
from dialcues_core.kernel.paging import Page
from dialcues_core.kernel.ports import Clock, Transactions
from dialcues_core.kernel.scopes import (
    MANAGE_WEBHOOKS,
    READ,
    READ_CONSENTS,
    READ_EXECUTIONS,
    READ_MESSAGES,
    READ_NUMBERS,
    READ_SUPPRESSIONS,
    requires,
)
from dialcues_core.kernel.urls import Resolver, parse_webhook_url, system_resolver
from dialcues_core.webhooks.model import (
    EVENT_TYPES,
    DisabledReason,
    IssuedSecret,
    WebhookDelivery,
    WebhookRepository,
    WebhookSubscription,
)

ROTATION_OVERLAP = timedelta(hours=24)
CREATE_FIELDS = frozenset({"url", "events"})
UPDATE_FIELDS = frozenset({"url", "events", "enabled"})
PAGE_FIELDS = frozenset({"page", "page_size"})


def new_secret() -> str:
    """Return a fresh signing secret: ``whsec_`` + standard base64 of 24 random bytes."""
    return crypto.signing_secret()


def parse_events(value: Any) -> tuple[str, ...]:
    """Return a non-empty list of known event types, deduplicated, in the given order."""
    if not isinstance(value, list) or not value:
        raise ValueError(f"must be a non-empty list of: {', '.join(EVENT_TYPES)}")
    unknown = [v for v in value if v not in EVENT_TYPES]
    if unknown:
        raise ValueError(f"must name only known events: {', '.join(EVENT_TYPES)}")
    return tuple(dict.fromkeys(value))


EVENT_SCOPES = {
    "suppression.": READ_SUPPRESSIONS,
    "consent.": READ_CONSENTS,
    "number.": READ_NUMBERS,
    "call.": READ_EXECUTIONS,
    "message.": READ_MESSAGES,
}
"""Events about an organization's own records need the scope that reads them (§15)."""


def require_event_scopes(principal: Principal, events: tuple[str, ...]) -> None:
    """Raise ``insufficient_scope`` when an event is listed whose records the credential
    cannot read (``suppression.*``: ``suppressions:read``; ``consent.*``: ``consents:read``)."""
    for event in events:
        for prefix, scope in EVENT_SCOPES.items():
            if event.startswith(prefix):
                principal.require(scope)


class Webhooks:
    """Manage a principal's webhook subscriptions."""

    def __init__(
        self,
        repo: WebhookRepository,
        tx: Transactions,
        clock: Clock,
        allow_private: bool,
        resolve: Resolver = system_resolver,
    ):
        self.repo = repo
        self.tx = tx
        self.clock = clock
        self.allow_private = allow_private
        self.resolve = resolve

    def _url(self, value: Any) -> str:
        return parse_webhook_url(value, self.allow_private, self.resolve)

    # ------------------------------------------------------------------ create
    @requires(MANAGE_WEBHOOKS)
    def create(self, principal: Principal, payload: Mapping[str, Any]) -> IssuedSecret:
        """Validate ``{"url", "events"}`` and subscribe; the secret is in the result only."""
        reader = FieldReader(require_object(payload), CREATE_FIELDS)
        url = reader.read("url", self._url, required=True)
        events = reader.read("events", parse_events, required=True)
        reader.raise_if_any()
        require_event_scopes(principal, events)
        now, secret = self.clock.now(), new_secret()
        subscription = WebhookSubscription(
            id=crypto.generate_id("whsub"),
            user_id=principal.user_id,
            organization_id=principal.organization_id,
            url=url,
            events=events,
            enabled=True,
            disabled_reason=None,
            secret=secret,
            previous_secret=None,
            previous_expires_at=None,
            failing_since=None,
            last_success_at=None,
            created_at=now,
            updated_at=now,
        )
        with self.tx.atomic():
            self.repo.add(subscription)
        return IssuedSecret(subscription, secret)

    # ------------------------------------------------------------------ read
    @requires(MANAGE_WEBHOOKS, rate=READ)
    def get(self, principal: Principal, subscription_id: Any) -> WebhookSubscription:
        """Return the principal's subscription or raise ``not_found``."""
        with self.tx.atomic():
            return self._owned(principal, subscription_id)

    @requires(MANAGE_WEBHOOKS, rate=READ)
    def list(self, principal: Principal, params: Mapping[str, Any]) -> Page[WebhookSubscription]:
        """Return one page of the principal's subscriptions, oldest first."""
        page, size = _paging(params)
        with self.tx.atomic():
            return self.repo.list(principal.user_id, page, size)

    @requires(MANAGE_WEBHOOKS, rate=READ)
    def deliveries(
        self, principal: Principal, subscription_id: Any, params: Mapping[str, Any]
    ) -> Page[WebhookDelivery]:
        """Return one page of a subscription's delivery attempts, newest first."""
        page, size = _paging(params)
        with self.tx.atomic():
            found = self._owned(principal, subscription_id)
            return self.repo.deliveries(found.id, page, size)

    # ------------------------------------------------------------------ change
    @requires(MANAGE_WEBHOOKS)
    def update(
        self, principal: Principal, subscription_id: Any, payload: Mapping[str, Any]
    ) -> WebhookSubscription:
        """Apply a PATCH of ``url``, ``events`` and/or ``enabled``.

        Enabling a subscription (also one disabled automatically) clears its failing
        streak, so it gets three fresh days.
        """
        payload = require_object(payload)
        if not payload:
            raise ValidationFailed({}, "The request body must name at least one field to change.")
        reader = FieldReader(payload, UPDATE_FIELDS)
        changes: dict[str, Any] = {}
        for name, parse in (("url", self._url), ("events", parse_events)):
            value = reader.read(name, parse)
            if value is not MISSING:
                changes[name] = value
        enabled = reader.read("enabled", parse_bool)
        reader.raise_if_any()
        require_event_scopes(principal, changes.get("events", ()))
        with self.tx.atomic():
            current = self._owned(principal, subscription_id)
            if enabled is not MISSING:
                changes.update(_switch(current, enabled))
            updated = dataclasses.replace(current, **changes, updated_at=self.clock.now())
            self.repo.save(updated)
        return updated

    @requires(MANAGE_WEBHOOKS)
    def delete(self, principal: Principal, subscription_id: Any) -> None:
        """Delete a subscription, its pending messages and its delivery log."""
        with self.tx.atomic():
            self.repo.delete(self._owned(principal, subscription_id).id)

    @requires(MANAGE_WEBHOOKS)
    def rotate_secret(self, principal: Principal, subscription_id: Any) -> IssuedSecret:
        """Issue a new secret; the current one keeps signing beside it for 24 hours."""
        now, secret = self.clock.now(), new_secret()
        with self.tx.atomic():
            current = self._owned(principal, subscription_id)
            rotated = dataclasses.replace(
                current,
                secret=secret,
                previous_secret=current.secret,
                previous_expires_at=now + ROTATION_OVERLAP,
                updated_at=now,
            )
            self.repo.save(rotated)
        return IssuedSecret(rotated, secret)

    def _owned(self, principal: Principal, subscription_id: Any) -> WebhookSubscription:
        sid = str(subscription_id)
        found = self.repo.get(principal.user_id, sid) if is_well_formed_id(sid) else None
        if found is None:
            raise ResourceNotFound("webhook subscription", subscription_id)
        return found


def _switch(current: WebhookSubscription, enabled: bool) -> dict[str, Any]:
    """Return the field changes of enabling or disabling a subscription by its user."""
    if enabled == current.enabled:
        return {}
    if enabled:
        return {"enabled": True, "disabled_reason": None, "failing_since": None}
    return {"enabled": False, "disabled_reason": DisabledReason.BY_USER}


def _paging(params: Mapping[str, Any]) -> tuple[int, int]:
    """Read ``page`` (≥ 1, default 1) and ``page_size`` (1–100, default 20)."""
    reader = FieldReader(single_values(params), PAGE_FIELDS)
    page = reader.read("page", parse_page)
    size = reader.read("page_size", parse_positive_int(1, 100))
    reader.raise_if_any()
    return (1 if page is MISSING else page), (20 if size is MISSING else size)
