"""An organization's carrier settings (``telephony.md`` §1.5): parsed here, shown masked.

``telnyx`` needs the API key (write-only), the public key webhooks are verified with (base64
of exactly 32 bytes; not secret) and the messaging profile id. The three texts are 20–320
characters; ``{org}`` becomes the organization's name.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any, Final

from dialcues_core.kernel.fields import MISSING, FieldReader, choice_parser, given, text_parser
from dialcues_core.numbers.model import CARRIERS, TELNYX, TELNYX_URL, CarrierSettings

CARRIER_FIELD_NAMES: Final = (
    "carrier",
    "api_key",
    "public_key",
    "messaging_profile_id",
    "base_url",
    "ten_dlc_campaign_id",
    "rcs_agent_id",
    "help_text",
    "opt_out_text",
    "opt_in_text",
)
"""Every carrier setting, in the order operators see them (CLI flags, gRPC fields)."""
CARRIER_FIELDS: Final = frozenset(CARRIER_FIELD_NAMES)
TEXTS: Final = ("help_text", "opt_out_text", "opt_in_text")
DEFAULT_TEXTS: Final = {
    "help_text": "{org}: reminders by phone and text. Reply STOP to opt out. "
    "Msg & data rates may apply.",
    "opt_out_text": "{org}: you are unsubscribed and will get no more messages. "
    "Reply START to resubscribe.",
    "opt_in_text": "{org}: you are subscribed again. Reply STOP to opt out, HELP for help.",
}
EVENTS_PATH: Final = "/api/providers/telnyx/events/{organization_id}"


def parse_carrier_settings(fields: Mapping[str, Any]) -> CarrierSettings:
    """Validate carrier settings given as a mapping (CLI flags, gRPC, host apps)."""
    reader = FieldReader({k: v for k, v in fields.items() if v is not None}, CARRIER_FIELDS)
    carrier = reader.read("carrier", choice_parser(CARRIERS), required=True)
    telnyx = carrier == TELNYX
    found = {
        "api_key": given(reader.read("api_key", text_parser(1000), required=telnyx)),
        "public_key": given(reader.read("public_key", _parse_public_key, required=telnyx)),
        "messaging_profile_id": given(
            reader.read("messaging_profile_id", text_parser(255), required=telnyx)
        ),
        "ten_dlc_campaign_id": given(reader.read("ten_dlc_campaign_id", text_parser(255))),
        "rcs_agent_id": given(reader.read("rcs_agent_id", text_parser(255))),
    }
    base_url = reader.read("base_url", _parse_base_url)
    texts = {name: given(reader.read(name, _parse_text)) for name in TEXTS}
    reader.raise_if_any()
    return CarrierSettings(
        carrier=str(carrier),
        base_url=base_url if base_url is not MISSING else TELNYX_URL,
        **found,
        **texts,
    )


def _parse_public_key(value: Any) -> str:
    try:
        raw = base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("must be the base64 of a 32-byte Ed25519 public key") from None
    if len(raw) != 32:
        raise ValueError("must be the base64 of exactly 32 bytes (an Ed25519 public key)")
    return str(value)


def _parse_base_url(value: Any) -> str:
    text = str(value).rstrip("/")
    if not text.startswith(("https://", "http://")) or len(text) > 500:
        raise ValueError("must be an http(s) URL of at most 500 characters")
    return text


def _parse_text(value: Any) -> str:
    text = " ".join(str(value).split())
    if not 20 <= len(text) <= 320:
        raise ValueError("must be 20–320 characters")
    return text


def text_of(settings: CarrierSettings, name: str, organization: str) -> str:
    """One of the texts, with ``{org}`` filled in (the default when none is set)."""
    text = getattr(settings, name) or DEFAULT_TEXTS[name]
    return str(text).replace("{org}", organization)


def masked(settings: CarrierSettings, organization_id: str, public_url: str) -> dict[str, Any]:
    """The settings as an operator sees them: the API key masked, and the webhook URL."""
    key = settings.api_key
    return {
        "carrier": settings.carrier,
        "api_key": (key[:4] + "…" + key[-4:]) if key and len(key) > 12 else ("…" if key else None),
        "public_key": settings.public_key,
        "messaging_profile_id": settings.messaging_profile_id,
        "base_url": settings.base_url,
        "ten_dlc_campaign_id": settings.ten_dlc_campaign_id,
        "rcs_agent_id": settings.rcs_agent_id,
        "help_text": settings.help_text,
        "opt_out_text": settings.opt_out_text,
        "opt_in_text": settings.opt_in_text,
        "webhook_url": public_url + EVENTS_PATH.format(organization_id=organization_id),
    }
