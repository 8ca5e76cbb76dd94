"""Who may be texted, judged when a message is written and again when it is sent
(``telephony.md`` §4.2–4.3), in this order: the number is suppressed
(``recipient_suppressed``); consent is missing (``consent_required``: informational texts
need any active consent, marketing an ``express_written`` marketing one); a marketing text
during quiet hours (``outside_calling_window``); a US 10DLC pair on Telnyx without a campaign
(``campaign_not_registered``). Keyword replies skip all four.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import phonenumbers
from phonenumbers import PhoneNumberType

from dialcues_core.accounts.model import OutboundLine
from dialcues_core.calling.windows import Rules
from dialcues_core.calling.zones import Place, number_zones
from dialcues_core.consent.model import NO_COVERAGE
from dialcues_core.errors import (
    CampaignNotRegistered,
    ConsentRequired,
    OutsideCallingWindow,
    RecipientSuppressed,
    ValidationFailed,
)
from dialcues_core.kernel.timefmt import millis, seconds
from dialcues_core.messages.deps import MessageDeps
from dialcues_core.numbers.model import TELNYX, CarrierSettings

HORIZON = timedelta(days=14)
"""How far ahead ``next_allowed_at`` is looked for."""
_LOCAL = frozenset(
    {PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
)


def refuse(
    deps: MessageDeps,
    organization_id: str,
    to: str,
    purpose: str,
    timezone: str | None,
    line: OutboundLine,
    settings: CarrierSettings,
    now: datetime,
) -> None:
    """Raise the first refusal that applies (in the caller's transaction)."""
    pair = (organization_id, to)
    entry = deps.consent.active_suppressions([pair]).get(pair)
    if entry is not None:
        raise RecipientSuppressed(to, entry.reason, millis(entry.created_at))
    kinds = deps.consent.coverage([pair]).get(pair, NO_COVERAGE).kinds
    if purpose == "marketing" and ("express_written", "marketing") not in kinds:
        raise ConsentRequired(
            "express_written",
            "marketing",
            "Marketing texts need an active express_written consent for marketing.",
        )
    if purpose != "marketing" and not kinds:
        raise ConsentRequired(
            "express",
            purpose,
            "Texts need an active consent of the number (automated texts to mobiles need"
            " prior express consent).",
        )
    if purpose == "marketing":
        refuse_quiet_hours(deps, organization_id, to, timezone, now)
    if needs_campaign(line, settings, to):
        raise CampaignNotRegistered(line.phone_number)


def refuse_quiet_hours(
    deps: MessageDeps, organization_id: str, to: str, timezone: str | None, now: datetime
) -> None:
    """Marketing waits for the recipient's calling window (the number's zones, else the
    send's ``timezone``)."""
    place = Place(timezone, number_zones(to))
    zones = place.zones_at(now)
    if not zones:
        raise ValidationFailed(
            {"timezone": "is required for marketing texts to a number that gives no time zone"}
        )
    policy = deps.policies.effective_of(organization_id)
    rules = Rules(policy.window, policy.blocked)
    if rules.inside(now, zones):
        return
    opening = rules.opening(now, now + HORIZON, place.zones_at, place.candidate_zones)
    raise OutsideCallingWindow(
        {"to": "it is quiet hours for the recipient; marketing texts wait for the window"},
        list(zones),
        seconds(opening),
        "Marketing texts are sent only inside the recipient's calling window.",
    )


def needs_campaign(line: OutboundLine, settings: CarrierSettings, to: str) -> bool:
    """A Telnyx line, a US local ``from``, a US ``to``, and no campaign id recorded."""
    if line.carrier != TELNYX or settings.ten_dlc_campaign_id:
        return False
    return _us_local(line.phone_number) and _region(to) == "US"


def _region(number: str) -> str | None:
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(number, None))
    except phonenumbers.NumberParseException:
        return None


def _us_local(number: str) -> bool:
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return False
    return (
        phonenumbers.region_code_for_number(parsed) == "US"
        and phonenumbers.number_type(parsed) in _LOCAL
    )
