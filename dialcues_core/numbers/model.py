"""The vocabulary of numbers: what a carrier offers, what it reserved or sold, and the
organization's record of one number (``telephony.md`` §1–2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Final

from dialcues_core.accounts.model import CARRIERS, FEATURES
from dialcues_core.messages.model import CarrierReport, IncomingText

SIMULATED: Final = "simulated"
TELNYX: Final = "telnyx"
__all__ = ["CARRIERS", "FEATURES"]  # re-exported: lines and numbers share them
TELNYX_URL: Final = "https://api.telnyx.com/v2"


@dataclass(frozen=True, slots=True)
class Cost:
    """A number's price: decimal strings, never floats."""

    monthly: str
    upfront: str
    currency: str


@dataclass(frozen=True, slots=True)
class NumberQuery:
    """A validated inventory search (``GET /numbers/search``)."""

    country: str
    npa: str | None = None
    nxx: str | None = None
    locality: str | None = None
    region: str | None = None
    rate_center: str | None = None
    features: tuple[str, ...] = ("voice",)
    limit: int = 20


@dataclass(frozen=True, slots=True)
class AvailableNumber:
    """One number a carrier offers."""

    number: str
    country: str
    locality: str | None
    region: str | None
    rate_center: str | None
    features: tuple[str, ...]
    cost: Cost
    reservable: bool = True


class ReservationStatus(StrEnum):
    """A carrier reservation's state."""

    PENDING = "pending"
    SUCCESS = "success"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Reservation:
    """A carrier's hold on one number for us (``reserve``, ``extend``, ``find_reservation``).

    ``offer`` is what the narrowed search said about the number (filled by ``reserve``).
    """

    id: str
    number: str
    status: ReservationStatus
    expires_at: datetime | None
    offer: AvailableNumber | None = None


class OrderStatus(StrEnum):
    """A carrier order's state: pending until the carrier decides."""

    PENDING = "pending"
    SUCCESS = "success"
    FAILURE = "failure"


@dataclass(frozen=True, slots=True)
class CarrierOrder:
    """A carrier's number order. ``number_id`` is the carrier's id of the bought number (looked
    up once the order succeeded; needed to release it); ``failure_code`` says why it failed."""

    id: str
    number: str
    status: OrderStatus
    number_id: str | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    check_after: float | None = None
    """A pending order: seconds until the carrier expects to decide, when it knows (the
    simulated carrier does); the provisioner looks again then rather than in 5 s."""


class ImportStatus(StrEnum):
    """A number imported into the voice provider (Vapi: ``activating`` → ``active``)."""

    ACTIVATING = "activating"
    ACTIVE = "active"
    BLOCKED = "blocked"


@dataclass(frozen=True, slots=True)
class ImportedNumber:
    """A carrier number as the voice provider knows it; ``id`` is the line's provider id."""

    id: str
    number: str
    status: ImportStatus


class CarrierEventKind(StrEnum):
    """What a verified carrier webhook is about."""

    NUMBER_ORDER = "number_order"
    MESSAGE_STATUS = "message_status"
    MESSAGE_RECEIVED = "message_received"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class CarrierEvent:
    """A verified carrier webhook, translated: ``id`` is the carrier's event id (deduplicated),
    ``reference`` our reference in it (an order's ``ord_…``), ``payload`` the rest the
    capability needs (never logged whole)."""

    id: str
    kind: CarrierEventKind
    type: str
    occurred_at: datetime | None
    reference: str | None = None
    payload: dict[str, object] = field(default_factory=dict)
    report: CarrierReport | None = None
    """A message status event, translated (``MESSAGE_STATUS``)."""
    incoming: IncomingText | None = None
    """An inbound text, translated (``MESSAGE_RECEIVED``)."""


class Refusal(StrEnum):
    """What a carrier's refusal (``CarrierRejected.meaning``) means here (``telephony.md``
    §1.3's table; the adapter classifies by the carrier's own code)."""

    ACCOUNT = "account"
    """Our account or settings (``carrier_unavailable``, reason ``account``)."""
    NOT_RECENTLY_SEARCHED = "not_recently_searched"
    """Telnyx 85000: search again once, then repeat."""
    NUMBER_UNAVAILABLE = "number_unavailable"
    HOLD_LIMIT = "hold_limit"
    EXTENSION_LIMIT = "extension_limit"
    NOT_CONFIGURED = "not_configured"
    OPTED_OUT = "opted_out"
    CAMPAIGN = "campaign_not_registered"
    CHANNEL_UNAVAILABLE = "channel_unavailable"
    """The handset cannot take the channel (RCS) and no fallback was asked."""
    REJECTED = "rejected"
    """Any other refusal: the carrier's code is kept."""


@dataclass(frozen=True, slots=True)
class CarrierSettings:
    """An organization's carrier (``dialcues orgs set-carrier``); ``simulated`` needs nothing.

    ``api_key`` is write-only (printed masked); ``public_key`` is the base64 of the 32-byte
    Ed25519 key Telnyx signs webhooks with (not secret).
    """

    carrier: str = SIMULATED
    api_key: str | None = None
    public_key: str | None = None
    messaging_profile_id: str | None = None
    base_url: str = TELNYX_URL
    ten_dlc_campaign_id: str | None = None
    rcs_agent_id: str | None = None
    help_text: str | None = None
    opt_out_text: str | None = None
    opt_in_text: str | None = None


class NumberStatus(StrEnum):
    """A number record's status (``telephony.md`` §2.1); ``expired`` is computed on read."""

    HELD = "held"
    EXPIRED = "expired"
    ORDERING = "ordering"
    ORDERED = "ordered"
    IMPORTING = "importing"
    ACTIVE = "active"
    RELEASING = "releasing"
    RELEASED = "released"
    FAILED = "failed"


class FailedStep(StrEnum):
    """The provisioning step a ``failed`` number failed at."""

    ORDER = "order"
    IMPORT = "import"
    RELEASE = "release"


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a number is ``failed``."""

    step: FailedStep
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class NumberRecord:
    """The organization's history with one number (``num_…``): what the API shows, plus the
    provisioner's bookkeeping (references at the carrier and the voice provider)."""

    id: str
    organization_id: str
    user_id: str | None
    number: str
    status: NumberStatus
    country: str
    locality: str | None
    region: str | None
    rate_center: str | None
    features: tuple[str, ...]
    carrier: str
    cost: Cost | None
    hold_expires_at: datetime | None
    hold_extended: bool
    line_id: str | None
    failure: Failure | None
    created_at: datetime
    updated_at: datetime
    reservation_id: str | None = None
    order_reference: str | None = None
    carrier_order_id: str | None = None
    carrier_number_id: str | None = None
    order_attempted_at: datetime | None = None
    provider_line_id: str | None = None
    assign_label: str | None = None
    assign_default: bool = False
    step_due_at: datetime | None = None
    step_tries: int = 0
    step_started_at: datetime | None = None

    def status_at(self, now: datetime) -> NumberStatus:
        """The status a reader sees: a ``held`` record past its expiry is ``expired``."""
        expires = self.hold_expires_at
        if self.status is NumberStatus.HELD and expires is not None and expires <= now:
            return NumberStatus.EXPIRED
        return self.status
