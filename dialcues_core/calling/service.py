"""The calling policy's use cases: read it (users, operators), change it (operators only).

Users read their organization's policy and cannot change it (an API key acts for one user; the
policy governs all of them). The CLI, the gRPC admin service and the embedding API change it;
each change writes one ``policy.updated`` audit event in its transaction, naming every field
that changed (``{"from", "to"}``; a secret only as ``"rotated"``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from dialcues_core.accounts.model import Organization, Principal
from dialcues_core.audit.model import Actor
from dialcues_core.audit.service import AuditTrail
from dialcues_core.calling.fields import POLICY_FIELDS
from dialcues_core.calling.gate import MONTH, CapCounts
from dialcues_core.calling.policy import INHERITABLE, CallingPolicy, EffectivePolicy, Predial
from dialcues_core.calling.ports import PolicyStore
from dialcues_core.calling.rendering import field_to_json, policy_to_json
from dialcues_core.config import Settings
from dialcues_core.errors import ResourceNotFound, ValidationFailed
from dialcues_core.kernel.crypto import signing_secret
from dialcues_core.kernel.ports import Clock, Transactions
from dialcues_core.kernel.scopes import READ_POLICY, requires
from dialcues_core.kernel.ttlcache import TtlCache
from dialcues_core.kernel.urls import parse_webhook_url, system_resolver

POLICY_CACHE_SECONDS = 5.0
"""How long a process reuses a policy it read for a request (``effective_of``)."""
MAX_ACTOR = 100
"""The longest name an operator may act under (the CLI's ``--actor``, gRPC's ``actor``)."""
PREDIAL_SECRET_OVERLAP = timedelta(hours=24)
"""A rotated-out pre-dial secret keeps signing this long."""


@dataclass(frozen=True, slots=True)
class PolicyView:
    """A policy as read: what is stored, what applies, and a secret shown once."""

    policy: CallingPolicy
    effective: EffectivePolicy
    predial_secret: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The contract's ``GET /policy`` body."""
        return policy_to_json(self.policy, self.effective)


class CallingPolicies:
    """Read and change organizations' calling policies."""

    def __init__(
        self,
        store: PolicyStore,
        tx: Transactions,
        clock: Clock,
        settings: Settings,
        audit: AuditTrail,
    ):
        self.store = store
        self.tx = tx
        self.clock = clock
        self.settings = settings
        self.audit = audit
        self._read: TtlCache[str, EffectivePolicy] = TtlCache(clock, POLICY_CACHE_SECONDS)
        """Policies as the request paths read them."""

    def name_caller(self, organization: Organization) -> None:
        """A new organization's calls say its name (``caller_name``), as the migration gave
        the existing ones; called in the creating transaction."""
        caller = " ".join(organization.name.replace("{", "").replace("}", "").split())[:100]
        if caller.strip():
            now = self.clock.now()
            policy = CallingPolicy(organization.id, caller_name=caller.strip(), updated_at=now)
            self.store.save_policy(policy)

    @requires(READ_POLICY)
    def get(self, principal: Principal) -> PolicyView:
        """The principal's organization's policy."""
        return self.get_for(principal.organization_id)

    def get_for(self, organization_id: str) -> PolicyView:
        """An organization's policy (operators)."""
        if not self.store.organization_exists(organization_id):
            raise ResourceNotFound("organization", organization_id)
        policy = self.store.policy_of(organization_id) or CallingPolicy(organization_id)
        return PolicyView(policy, self.effective(policy))

    def placed_to(self, organization_id: str, to: str) -> CapCounts:
        """The attempts the frequency caps count for one number, over the last 30 days."""
        now = self.clock.now()
        return CapCounts(self.store.placed_attempts(organization_id, to, now - MONTH))

    def effective_of(self, organization_id: str) -> EffectivePolicy:
        """What applies to an organization's attempts (no existence check), for the request
        paths: create and update checks, ``next_eligible_at``, the preview, calls placed now.

        Read at most every :data:`POLICY_CACHE_SECONDS` per process (a change made here is
        seen at once; one made by another process within that bound, as revoked keys are).
        The dispatcher never uses it: every claim reads the policy in its own transaction.
        """
        found = self._read.get(organization_id)
        if found is not None:
            return found
        stored = self.store.policy_of(organization_id) or CallingPolicy(organization_id)
        effective = self.effective(stored)
        self._read.put(organization_id, effective)
        return effective

    def effective(self, policy: CallingPolicy) -> EffectivePolicy:
        """What applies, every default filled in."""
        delays = self.store.provider_retry_delays(policy.organization_id)
        return policy.effective(self.settings, delays)

    def update(
        self,
        organization_id: str,
        changes: Mapping[str, Any],
        *,
        actor: Actor,
        reset: Sequence[str] = (),
        rotate_predial_secret: bool = False,
    ) -> PolicyView:
        """Change the named fields (operators); ``reset`` puts inheritable ones back.

        ``changes`` holds wire values (``GET /policy``'s shapes). Every problem is reported at
        once as a ``validation_error``; nothing is written then.
        """
        if not isinstance(changes, Mapping):
            raise ValidationFailed({}, "The policy change must be an object.")
        parsed, problems = _parse(changes, reset)
        if isinstance(actor.id, str) and not 1 <= len(actor.id.strip()) <= MAX_ACTOR:
            problems["actor"] = f"must be 1–{MAX_ACTOR} characters long"
        with self.tx.atomic():
            if not self.store.organization_exists(organization_id):
                raise ResourceNotFound("organization", organization_id)
            before = self.store.policy_of(organization_id) or CallingPolicy(organization_id)
            secrets = self.store.predial_secrets(organization_id)
            after = replace(before, **parsed)
            if "predial" in changes:
                after, predial_problem = _with_predial(after, changes["predial"], self.settings)
                problems.update(predial_problem)
            if problems:
                raise ValidationFailed(problems)
            secret = None
            needs_secret = after.predial is not None and (
                secrets[0] is None or rotate_predial_secret
            )
            if needs_secret:
                secret = signing_secret()  # Standard Webhooks, like subscriptions' secrets
            elif rotate_predial_secret:
                problems["predial"] = "is not set: there is no secret to rotate"
                raise ValidationFailed(problems)
            changed = before.changes(after)
            now = self.clock.now()
            if changed or secret is not None:
                after = replace(after, updated_at=now)
                self.store.save_policy(after)
                if secret is not None:
                    previous = secrets[0] if rotate_predial_secret else None
                    self.store.set_predial_secret(
                        organization_id, secret, previous, now + PREDIAL_SECRET_OVERLAP
                    )
                detail: dict[str, Any] = {
                    "changed": {
                        name: {
                            "from": field_to_json(getattr(before, name)),
                            "to": field_to_json(getattr(after, name)),
                        }
                        for name in changed
                    }
                }
                if secret is not None:
                    detail["changed"]["predial_secret"] = "rotated"
                self.audit.record(
                    organization_id,
                    "policy.updated",
                    actor,
                    ("organization", organization_id),
                    detail,
                )
            self._read.pop(organization_id)
            return PolicyView(after, self.effective(after), secret)


def _parse(
    changes: Mapping[str, Any], reset: Sequence[str]
) -> tuple[dict[str, Any], dict[str, str]]:
    parsed: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for name, value in changes.items():
        if name == "predial":
            continue
        parse = POLICY_FIELDS.get(name)
        if parse is None:
            problems[name] = "is not a field of the calling policy"
            continue
        try:
            parsed[name] = parse(value)
        except ValueError as exc:
            problems[name] = str(exc)
    for name in reset:
        if name not in INHERITABLE:
            problems["reset"] = f"{name} cannot be reset: only {', '.join(INHERITABLE)}"
        elif name in changes:
            problems[name] = "is both changed and reset"
        else:
            parsed[name] = None
    return parsed, problems


def _with_predial(
    policy: CallingPolicy, value: Any, settings: Settings
) -> tuple[CallingPolicy, dict[str, str]]:
    """Apply a ``predial`` change: ``null`` removes the hook; an object merges over it."""
    if value is None:
        return replace(policy, predial=None), {}
    if not isinstance(value, Mapping) or set(value) - {"url", "timeout_ms", "on_failure"}:
        return policy, {"predial": "must be null or {url, timeout_ms, on_failure}"}
    current = policy.predial
    url = value.get("url", current.url if current else None)
    timeout = value.get("timeout_ms", current.timeout_ms if current else 2000)
    on_failure = value.get("on_failure", current.on_failure if current else "skip")
    if not isinstance(url, str):
        return policy, {"predial": "needs a url"}
    try:
        url = parse_webhook_url(url, settings.webhooks_allow_private, system_resolver)
    except ValueError as exc:
        return policy, {"predial": f"url {exc}"}
    if type(timeout) is not int or not 200 <= timeout <= 5000:
        return policy, {"predial": "timeout_ms must be an integer from 200 to 5000"}
    if on_failure not in ("allow", "skip"):
        return policy, {"predial": "on_failure must be allow or skip"}
    return replace(policy, predial=Predial(url, timeout, on_failure)), {}
