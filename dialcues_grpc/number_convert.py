"""Numbers and carrier settings between protobuf and the core (``numbers.proto``,
``organizations.proto``; ``telephony.md`` §1.5, §2).

Requests become REST's bodies and query parameters with only the fields they set, so that an
unset required field is "is required" exactly as over REST. Objects are built from the bodies
REST answers (:func:`~dialcues_core.numbers.rendering.number_payload`,
:func:`~dialcues_core.numbers.rendering.offer_payload`,
:func:`~dialcues_core.numbers.carrier_settings.masked`), so the two facades cannot drift: a
JSON null is an unset field, times are whole seconds, costs stay decimal strings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

from dialcues_core.kernel.paging import Page
from dialcues_core.numbers.carrier_settings import CARRIER_FIELD_NAMES
from dialcues_core.numbers.model import AvailableNumber, NumberRecord
from dialcues_core.numbers.rendering import number_payload, offer_payload
from dialcues_grpc._pb.dialcues.v1 import numbers_pb2, organizations_pb2
from dialcues_grpc.convert import Payload, Query, _page_counts, _page_params, _timestamp

N = numbers_pb2
Json = Mapping[str, Any]

_SEARCH_FIELDS: Final = ("country", "npa", "nxx", "locality", "region", "rate_center")
_LIST_FILTERS: Final = ("status", "country")
_CARRIER_FIELDS: Final = CARRIER_FIELD_NAMES


def _set_fields(request: Any, names: Iterable[str]) -> dict[str, Any]:
    """Return the fields among ``names`` that ``request`` sets."""
    return {name: getattr(request, name) for name in names if request.HasField(name)}


def _moment(text: str | None) -> datetime | None:
    """Return a time of a body ("2026-03-25T13:00:00Z"); None → None."""
    return datetime.fromisoformat(text) if text is not None else None


# ----------------------------------------------------------------------------- requests
def search_query(request: N.SearchNumbersRequest) -> Query:
    """Return REST's ``GET /numbers/search`` parameters (features comma-joined, as REST's)."""
    params: Query = _set_fields(request, _SEARCH_FIELDS)
    if request.features:
        params["features"] = ",".join(request.features)
    if request.HasField("limit"):
        params["limit"] = str(request.limit)
    return params


def hold_body(request: N.HoldNumberRequest) -> Payload:
    """Return REST's ``POST /numbers/hold`` body: only the fields the request sets."""
    return _set_fields(request, ("number",))


def assign_body(request: N.AssignNumberRequest) -> Payload | None:
    """Return REST's optional assign body (None when neither field is set: no body)."""
    body: Payload = _set_fields(request, ("label",))
    if request.HasField("is_default"):
        body["default"] = request.is_default
    return body or None


def number_query(request: N.ListNumbersRequest) -> tuple[Query, str]:
    """Return REST's ``GET /numbers`` parameters, and the page token."""
    return _page_params(request, _set_fields(request, _LIST_FILTERS))


def carrier_settings(request: organizations_pb2.SetCarrierSettingsRequest) -> tuple[str, Payload]:
    """Return the organization id and the core's carrier fields (unset → absent)."""
    return request.organization_id, _set_fields(request, _CARRIER_FIELDS)


# ----------------------------------------------------------------------------- objects
def _cost(shape: Json | None) -> N.NumberCost | None:
    return None if shape is None else N.NumberCost(**shape)


def _failure(shape: Json | None) -> N.NumberFailure | None:
    return None if shape is None else N.NumberFailure(**shape)


def number(record: NumberRecord, now: datetime) -> N.PhoneNumber:
    """Return a record with every field of the REST object (``expired`` computed at ``now``)."""
    body = number_payload(record, now)
    return N.PhoneNumber(
        id=body["id"],
        number=body["number"],
        status=body["status"],
        country=body["country"],
        locality=body["locality"],
        region=body["region"],
        rate_center=body["rate_center"],
        features=body["features"],
        carrier=body["carrier"],
        cost=_cost(body["cost"]),
        hold_expires_at=_timestamp(_moment(body["hold_expires_at"])),
        hold_extended=body["hold_extended"],
        line_id=body["line_id"],
        failure=_failure(body["failure"]),
        created_at=_timestamp(_moment(body["created_at"])),
        updated_at=_timestamp(_moment(body["updated_at"])),
    )


def held(result: tuple[NumberRecord, bool], now: datetime) -> N.HoldNumberResponse:
    """Return the hold and whether this request took it (REST's 201 vs 200)."""
    record, created = result
    return N.HoldNumberResponse(number=number(record, now), created=created)


def offers(found: Iterable[AvailableNumber]) -> N.SearchNumbersResponse:
    """Return the search results, in the core's order (by number)."""
    return N.SearchNumbersResponse(items=[N.AvailableNumber(**_offer(o)) for o in found])


def _offer(offer: AvailableNumber) -> dict[str, Any]:
    body = offer_payload(offer)
    return {**body, "cost": _cost(body["cost"])}


def number_page(found: Page[NumberRecord], next_token: str, now: datetime) -> N.ListNumbersResponse:
    """Return one page of records."""
    return N.ListNumbersResponse(
        items=[number(r, now) for r in found.items],
        next_page_token=next_token,
        **_page_counts(found),
    )


def masked_carrier(shown: Json) -> organizations_pb2.MaskedCarrierSettings:
    """Return the masked settings (``carrier_settings.masked``'s mapping), nulls unset."""
    return organizations_pb2.MaskedCarrierSettings(**shown)
