"""The gate as the claim runs it: the rules of each organization, the numbers' counts. Per batch.

One :class:`Gatekeeper` serves one claim transaction: it reads the organizations' calling
policies once, takes the claimed numbers' locks (PostgreSQL; SQLite's single writer needs
none), counts their placed attempts once, and then decides each attempt with
:func:`dialcues_core.calling.gate.decide` — counting the attempts it lets through, so a batch
never overfills a cap. Suppression and consent (checks 1–2) are read once a batch for the numbers
taken (the consents only for attempts that need one) and decided before the time checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from dialcues_core.accounts.model import ProviderSettings
from dialcues_core.calling import gate
from dialcues_core.calling.gate import CapCounts, Decision, Plan, SkipReason
from dialcues_core.calling.policy import AttemptRules, CallingPolicy, EffectivePolicy
from dialcues_core.calling.predial import PredialTarget
from dialcues_core.calling.zones import Place, number_zones
from dialcues_core.calls.ports import LiveExecution
from dialcues_core.config import Settings
from dialcues_core.consent.model import NO_COVERAGE, Coverage, SuppressionEntry
from dialcues_core.consent.ports import ConsentStore
from dialcues_core.dispatch import policy
from dialcues_core.dispatch.ports import DispatchStore
from dialcues_core.reminders.steps import Attempted

Number = tuple[str, str]
"""(organization id, E.164 number): what the caps count and the claim locks."""

SUPPRESSED = Decision(Plan.SKIP, reason=SkipReason.SUPPRESSED)
CONSENT_MISSING = Decision(Plan.SKIP, reason=SkipReason.CONSENT_MISSING)


@dataclass(frozen=True, slots=True)
class Judged:
    """An attempt's rules, where its recipient is, and the gate's decision."""

    rules: AttemptRules
    place: Place
    decision: Decision


class Gatekeeper:
    """Decide the attempts of one claim batch (see the module docstring)."""

    def __init__(
        self,
        store: DispatchStore,
        settings: Settings,
        providers: dict[str, ProviderSettings | None],
        now: datetime,
        consent: ConsentStore | None = None,
    ):
        self.consent = consent
        self._suppressed: dict[Number, SuppressionEntry] = {}
        self._coverage: dict[Number, Coverage] = {}
        self.store = store
        self.settings = settings
        self.providers = providers
        self.now = now
        self._effective: dict[str, EffectivePolicy] = {}
        self._placed: dict[Number, list[datetime]] = {}
        self._plain: dict[str, AttemptRules] = {}
        """The rules of reminders without overrides, per organization (built once a batch)."""
        self._predial: dict[str, PredialTarget] = {}

    def load(self, org_ids: set[str], hooks: bool = False) -> None:
        """Read the organizations' policies (one query; with ``hooks``, the claim's, one more
        for their pre-dial hooks' secrets when some has a hook)."""
        missing = org_ids - set(self._effective)
        stored = self.store.policies_of(missing)
        hooked = {org for org, p in stored.items() if hooks and p.predial is not None}
        secrets = self.store.predial_secrets(hooked, self.now) if hooked else {}
        for org in hooked:
            hook = stored[org].predial
            assert hook is not None
            self._predial[org] = PredialTarget(
                hook.url, hook.timeout_ms, hook.on_failure, secrets.get(org, ())
            )
        for org in missing:
            found = stored.get(org) or CallingPolicy(org)
            provider = self.providers.get(org)
            delays = provider.retry_delays if provider is not None else None
            self._effective[org] = found.effective(self.settings, delays)

    def predial_of(self, org: str) -> PredialTarget | None:
        """The organization's pre-dial hook, if it has one (``load`` first)."""
        return self._predial.get(org)

    def effective(self, org: str) -> EffectivePolicy:
        """The organization's rules (``load`` first)."""
        if org not in self._effective:
            self.load({org})
        return self._effective[org]

    def lock(self, numbers: list[Number], consenting: set[Number] | None = None) -> set[Number]:
        """Take the numbers' locks, read their suppressions (and, for ``consenting``, their
        consents) and count their placed attempts; return those taken."""
        capped = {n for n in numbers if not self.effective(n[0]).caps.off}
        taken = self.store.lock_numbers(numbers, capped)
        if self.consent is not None and taken:
            self._suppressed = self.consent.active_suppressions(taken)
            wanted = (consenting or set()) & taken
            self._coverage = self.consent.coverage(wanted) if wanted else {}
        counted = capped & taken
        since = self.now - gate.MONTH
        found = self.store.placed_attempts(counted - set(self._placed), since)
        for number in counted:
            self._placed.setdefault(number, found.get(number, []))
        return taken

    def placed(self, number: Number) -> None:
        """Count an attempt this batch lets through."""
        if number in self._placed:
            self._placed[number].append(self.now)

    def rules_of(self, org: str, r: Attempted) -> AttemptRules:
        """What applies to a reminder's attempts (built once a batch for those without
        overrides)."""
        if r.calling_window is None and r.max_lateness_seconds is None and r.retry_policy is None:
            plain = self._plain.get(org)
            if plain is None:
                plain = self._plain[org] = self.effective(org).for_attempt(None, None, None)
            return plain
        return self.effective(org).for_attempt(
            r.calling_window, r.max_lateness_seconds, r.retry_policy
        )

    def needs_consent(self, org: str, purpose: str) -> bool:
        """Tell whether an attempt of ``purpose`` needs a covering consent (§8)."""
        return purpose == "marketing" or self.effective(org).informational_needs_consent

    def suppressed(self, number: Number) -> SuppressionEntry | None:
        """The number's active entry, as the batch read it (``lock`` first)."""
        return self._suppressed.get(number)

    def for_reminder(self, org: str, r: Attempted) -> Judged:
        """Judge a reminder's due attempt."""
        rules = self.rules_of(org, r)
        place = r.place(rules.basis)
        deadline = policy.deadline_of(r, rules.cap)
        decision = self._decide(org, r.phone_number, r.purpose, deadline, rules, place)
        return Judged(rules, place, decision)

    def for_call(self, e: LiveExecution) -> Judged:
        """Judge a call placed now (its own window override, the organization's cap from its
        creation)."""
        rules = self.effective(e.organization_id).for_attempt(e.calling_window, None, None)
        place = Place(e.timezone, number_zones(e.to), rules.basis)
        deadline = e.occurrence + rules.cap
        decision = self._decide(e.organization_id, e.to, e.purpose, deadline, rules, place)
        return Judged(rules, place, decision)

    def _decide(
        self,
        org: str,
        to: str,
        purpose: str,
        deadline: datetime,
        rules: AttemptRules,
        place: Place,
    ) -> Decision:
        if (org, to) in self._suppressed:  # check 1
            return SUPPRESSED
        if self.consent is not None and self.needs_consent(org, purpose):  # check 2
            coverage = self._coverage.get((org, to), NO_COVERAGE)
            informational = self.effective(org).informational_needs_consent
            if coverage.required(purpose, informational) is not None:
                return CONSENT_MISSING
        placed = self._placed.get((org, to))
        counts = CapCounts(placed) if placed is not None else None
        return gate.decide(self.now, deadline, rules.rules, place, rules.caps, counts)


def cap_of(store: DispatchStore, settings: Settings, org: str) -> timedelta:
    """The organization's lateness cap (its own, else the platform's)."""
    found = store.policies_of({org}).get(org)
    seconds = found.max_lateness_seconds if found is not None else None
    return timedelta(seconds=seconds or settings.max_lateness_seconds)
