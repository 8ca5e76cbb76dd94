"""Wire models of the suppression list and consent records (``responsible-calling.md`` §7–8).

The same rules as :mod:`dialcues_rest.wire`: request models as tight as the core's validation
where JSON Schema can say it exactly, response models that forbid unknown fields. Times carry
milliseconds.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from dialcues_rest.wire import (
    Instant,
    PageFields,
    PhoneNumber,
    Purpose,
    Request,
    Response,
    trimmed_text_pattern,
)
from dialcues_rest.wire_calling import AuditActor

SuppressionReason = Literal[
    "opt_out_keypress", "opt_out_voice", "opt_out_sms", "inbound_call", "api", "complaint"
]
SourceType = Literal[
    "execution", "message", "carrier", "api_key", "oauth_client", "admin", "system"
]
ConsentType = Literal["express", "express_written"]
ConsentSource = Literal["web_form", "verbal", "sms_keyword", "api", "import"]
INSTANT_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}(:?[0-9]{2}){0,2}([.,][0-9]+)?"
    r"([Zz]|[+-][0-9]{2}(:?[0-9]{2}){0,2}([.,][0-9]+)?)$"
)
"""An ISO 8601 instant: a date-time with ``Z`` or an offset."""
Note = Annotated[str, Field(pattern=trimmed_text_pattern(1000))]


# ----------------------------------------------------------------------------- suppressions
class AddSuppression(Request):
    """``POST /suppressions``: put a number on the organization's suppression list."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"phone_number": "+14155550009", "reason": "complaint", "note": "Asked by phone."}
            ]
        },
    )

    phone_number: PhoneNumber
    reason: SuppressionReason | SkipJsonSchema[None] = Field(
        default=None, json_schema_extra={"default": "api"}
    )
    note: Note | None = None
    external_id: Annotated[str, Field(pattern=trimmed_text_pattern(255))] | None = None
    """The host's own reference (e.g. its SMS message id)."""


class SuppressionSource(Response):
    """What added an entry: an execution (integer id), a message, a credential, an operator."""

    type: SourceType
    id: str | int | None
    user_id: str | None
    external_id: str | None


class SuppressionEntry(Response):
    """One number on the suppression list; a removed entry stays listed."""

    id: str
    phone_number: str
    status: Literal["active", "removed"]
    reason: SuppressionReason
    source: SuppressionSource
    note: str | None
    created_at: Instant
    removed_at: Instant | None
    removed_by: AuditActor | None
    removal_consent_id: str | None
    """The newer consent the removal was made with."""


class SuppressionPage(PageFields):
    """One page of suppression entries, newest first."""

    items: list[SuppressionEntry]


# ----------------------------------------------------------------------------- consents
EvidenceUrl = Annotated[str, Field(max_length=2048, pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://\S+$")]
IpAddress = Annotated[str, Field(description="An IPv4 or IPv6 address.")]
UserAgent = Annotated[str, Field(min_length=1, max_length=1000, pattern=r"^[^\x00]*$")]


class EvidenceGiven(Request):
    """Where and how a consent was captured; every member optional, no other member."""

    url: EvidenceUrl | None = None
    ip: IpAddress | None = None
    user_agent: UserAgent | None = None


class CreateConsent(Request):
    """``POST /consents``: record that a person agreed to be called (never deleted)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "phone_number": "+14155550123",
                    "type": "express_written",
                    "purpose": "marketing",
                    "source": "web_form",
                    "text": "I agree that Acme Pharmacy may call me with offers.",
                    "captured_at": "2026-03-01T10:12:00Z",
                    "evidence": {"url": "https://acme.example/signup", "ip": "203.0.113.7"},
                }
            ]
        },
    )

    phone_number: PhoneNumber
    type: ConsentType
    purpose: Purpose
    source: ConsentSource
    text: Annotated[str, Field(pattern=trimmed_text_pattern(5000))]
    """The consent language the person saw or heard."""
    captured_at: Annotated[str, Field(pattern=INSTANT_PATTERN, examples=["2026-03-01T10:12:00Z"])]
    """When the person agreed: at most 5 minutes in the future."""
    evidence: EvidenceGiven | None = None


class RevokeConsent(Request):
    """``POST /consents/{id}/revoke``: an optional note (an empty body is fine too)."""

    note: Note | None = None


class Evidence(Response):
    """A consent's evidence: every member, null when it was not given."""

    model_config = ConfigDict(extra="forbid")

    url: str | None
    ip: str | None
    user_agent: str | None


class Revocation(Response):
    """Why a consent stopped counting."""

    reason: SuppressionReason
    source: SuppressionSource
    note: str | None


class ConsentRecord(Response):
    """A consent record: evidence that a person agreed to be called."""

    id: str
    phone_number: str
    type: ConsentType
    purpose: Purpose
    source: ConsentSource
    text: str
    captured_at: Instant
    evidence: Evidence | None
    created_at: Instant
    created_by: AuditActor
    revoked_at: Instant | None
    revocation: Revocation | None


class ConsentPage(PageFields):
    """One page of consent records, newest first (by ``captured_at``)."""

    items: list[ConsentRecord]
