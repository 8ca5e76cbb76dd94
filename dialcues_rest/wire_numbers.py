"""Wire models of numbers, lines and inbound answers (``telephony.md`` §2, §3.1, §3.4).

The same rules as :mod:`dialcues_rest.wire` (whose base classes, patterns and inbound route
models these reuse: the line and execution objects there embed a route too): request models as
tight as the core's validation where JSON Schema can say it exactly, response models that
forbid unknown fields. Number times are whole seconds; amounts are decimal strings, never
floats.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from dialcues_rest.wire import (
    Carrier,
    DecidedRoute,
    Feature,
    Instant,
    LineRoute,
    PageFields,
    PhoneNumber,
    Request,
    Response,
    no_default,
    trimmed_text_pattern,
)

NumberStatus = Literal[
    "held",
    "expired",
    "ordering",
    "ordered",
    "importing",
    "active",
    "releasing",
    "released",
    "failed",
]
"""A number record's status (``expired``: a ``held`` record past its expiry, computed on
read)."""
FailedStep = Literal["order", "import", "release"]
Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$", examples=["US"])]
Amount = Annotated[str, Field(pattern=r"^[0-9]+(\.[0-9]+)?$", examples=["1.00"])]
LABEL_PATTERN = trimmed_text_pattern(255)
"""The ``lines add`` label rule: 1–255 characters after trimming, without NUL."""
LineLabel = Annotated[str, Field(pattern=LABEL_PATTERN, examples=["Front desk"])]


# ----------------------------------------------------------------------------- numbers
class Cost(Response):
    """A number's price: decimal strings, never floats."""

    monthly: Amount
    upfront: Amount
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["USD"])]


class NumberFailure(Response):
    """Why a number is ``failed``: after step ``order`` the number is free again; after
    ``import`` or ``release`` the organization still owns it."""

    step: FailedStep
    code: str
    message: str


class Number(Response):
    """The organization's record of one number (``num_…``): its latest is
    ``GET /numbers/{number}``."""

    id: str = Field(examples=["num_Q2f8tH1b"])
    number: str = Field(examples=["+14155550142"])
    status: NumberStatus
    country: str
    locality: str | None
    region: str | None
    rate_center: str | None
    features: list[Feature]
    carrier: Carrier
    cost: Cost | None
    """Null until the carrier priced the number."""
    hold_expires_at: Instant | None
    hold_extended: bool
    line_id: str | None
    """The line the assign created, once ``active``."""
    failure: NumberFailure | None
    created_at: Instant
    updated_at: Instant


class NumberPage(PageFields):
    """One page of the organization's number records, newest first."""

    items: list[Number]


class AvailableNumber(Response):
    """A number the carrier offers (none another organization holds or owns)."""

    number: str = Field(examples=["+14155550142"])
    country: str
    locality: str | None
    region: str | None
    rate_center: str | None
    features: list[Feature]
    cost: Cost
    reservable: bool


class NumberSearchResult(Response):
    """``GET /numbers/search``: a live sample of the inventory, sorted by number (not
    paginated: ask narrower)."""

    items: list[AvailableNumber]


class HoldNumber(Request):
    """``POST /numbers/hold``: a valid fixed-line or mobile number of a country the carrier
    serves."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"number": "+14155550142"}]}
    )

    number: PhoneNumber


class AssignNumber(Request):
    """``POST /numbers/{number}/assign``'s optional body: the new line's label, and whether it
    becomes the organization's default once ``active``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"label": "Front desk", "default": True}]},
    )

    label: LineLabel | None = None
    default: bool | SkipJsonSchema[None] = Field(default=None, json_schema_extra={"default": False})


# ----------------------------------------------------------------------------- lines
class UpdateLine(Request):
    """``PATCH /lines/{id}``: any of ``label`` (null clears it), ``route`` (null: the line
    refuses inbound calls) and ``is_default: true``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "minProperties": 1,
            "examples": [{"route": {"type": "reminders_readback"}}],
        },
    )

    label: LineLabel | None = None
    route: LineRoute | None = None
    is_default: Literal[True] | SkipJsonSchema[None] = Field(
        default=None, json_schema_extra=no_default
    )
    """Only ``true``: to stop being the default, make another line the default."""


# ----------------------------------------------------------------------------- inbound calls
class AnswerInboundCall(Request):
    """``POST /calls/inbound/answer``: decide a waiting ``external`` call, named by exactly one
    of ``call_id`` (Vapi's) and ``execution_id``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "oneOf": [{"required": ["call_id"]}, {"required": ["execution_id"]}],
            "examples": [
                {
                    "call_id": "4f1c2d7e-0a0b-4c47-9d4e-2b1f6a7c9e10",
                    "route": {"type": "transfer", "number": "+14155552671"},
                }
            ],
        },
    )

    call_id: str | SkipJsonSchema[None] = Field(
        default=None, min_length=1, json_schema_extra=no_default
    )
    execution_id: int | SkipJsonSchema[None] = Field(
        default=None, ge=1, le=10**18 - 1, json_schema_extra=no_default
    )
    route: DecidedRoute
