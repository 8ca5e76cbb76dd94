"""Who may be called, judged when a reminder or call is written (§7, §8, §10, §17).

A write is refused, in this order, when the number is suppressed (``recipient_suppressed``),
when consent that covers the purpose is missing (``consent_required``), or when a Vapi line
would be used without the caller identity the opening needs (``caller_identity_required``);
the calling window and the frequency caps come after. The gate applies the same rules to
every attempt (:mod:`dialcues_core.dispatch.gatekeeper`).
"""

from __future__ import annotations

from dialcues_core.calling.policy import EffectivePolicy
from dialcues_core.consent.model import NO_COVERAGE
from dialcues_core.consent.ports import ConsentStore
from dialcues_core.errors import CallerIdentityRequired, ConsentRequired, RecipientSuppressed
from dialcues_core.kernel.timefmt import millis


def refuse_unwanted(
    store: ConsentStore,
    organization_id: str,
    number: str,
    purpose: str,
    policy: EffectivePolicy,
    vapi_line: bool,
) -> None:
    """Raise the first refusal that applies to calling ``number`` for ``purpose`` (in the
    caller's transaction)."""
    pair = (organization_id, number)
    entry = store.active_suppressions([pair]).get(pair)
    if entry is not None:
        raise RecipientSuppressed(number, entry.reason, millis(entry.created_at))
    coverage = store.coverage([pair]).get(pair, NO_COVERAGE)
    needed = coverage.required(purpose, policy.informational_needs_consent)
    if needed is not None:
        raise ConsentRequired(
            needed,
            purpose,
            f"The number has no active {needed} consent that covers {purpose} calls.",
        )
    if vapi_line:
        missing = policy.identity.missing(purpose)
        if missing:
            raise CallerIdentityRequired(missing)
