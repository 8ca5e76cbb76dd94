"""The Telnyx carrier: inventory, reservations, orders, messages and webhooks (``telephony.md``
§1.3–1.4).

=============== =================================================== ========================
operation       Telnyx                                              after an unknown outcome
=============== =================================================== ========================
search          ``GET /available_phone_numbers`` (deepObject        repeated (a GET)
                filters; ``best_effort`` near matches dropped)
reserve         the search narrowed to the number (no               the caller asks
                ``exclude_held_numbers``: our own earlier hold must ``find_reservation``
                stay visible), then ``POST /number_reservations``
                with ``customer_reference``; ``pending`` is polled
extend          ``POST /number_reservations/{id}/actions/extend``   the reservation is read
                                                                    again: a later expiry
                                                                    means it was extended
order           ``POST /number_orders`` with the messaging profile  the caller asks
                and ``customer_reference``                          ``find_order``
after success   ``GET /phone_numbers?filter[phone_number]=n``: the  repeated (a GET)
                number's id, which ``release`` needs
release         that lookup, then ``DELETE /phone_numbers/{id}``;   repeated (idempotent)
                unknown or 404 means already released
send            ``POST /messages`` (SMS, MMS) or ``/messages/rcs``  never resent: an event
                (:mod:`.messages`)                                  naming it resolves it
=============== =================================================== ========================

Telnyx code 85000 ("must search the number first") on a reservation or an order is definite
(nothing was done), so the narrowed search runs once more and the request is sent once more;
a second 85000 is raised. Every other failure is the client's (:mod:`.client`).

Webhooks (:meth:`TelnyxCarrier.read_event`) are verified with Ed25519 over
``{timestamp}|{raw body}`` before a byte of JSON is parsed; message events are then translated
by :mod:`.messages` (a payload it cannot read gives no report, never an error).

Past the house's 400 lines: the readers of Telnyx's objects (numbers, reservations, orders,
events) serve one adapter and make sense only beside it; apart, they would be a module of
privates imported by one other.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final
from urllib.parse import quote

import aiohttp
import phonenumbers
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from dialcues_core.adapters.providers.telnyx.client import JSON, Query, TelnyxClient
from dialcues_core.adapters.providers.telnyx.messages import (
    RCS_PATH,
    RCS_UNREACHABLE_CODE,
    STATUS_EVENTS,
    incoming_text,
    message_request,
    receipt,
    status_report,
)
from dialcues_core.errors import (
    CarrierError,
    CarrierRejected,
    CarrierUnknownOutcome,
    ProviderEventRejected,
)
from dialcues_core.messages.model import (
    CarrierReport,
    IncomingText,
    Message,
    OutgoingMessage,
    SendReceipt,
)
from dialcues_core.numbers.model import (
    FEATURES,
    TELNYX,
    AvailableNumber,
    CarrierEvent,
    CarrierEventKind,
    CarrierOrder,
    CarrierSettings,
    Cost,
    NumberQuery,
    OrderStatus,
    Refusal,
    Reservation,
    ReservationStatus,
)

__all__ = [
    "NOT_LISTED",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "TIMESTAMP_TOLERANCE_SECONDS",
    "TelnyxCarrier",
]

SIGNATURE_HEADER: Final = "telnyx-signature-ed25519"
TIMESTAMP_HEADER: Final = "telnyx-timestamp"
TIMESTAMP_TOLERANCE_SECONDS: Final = 300
"""How far a webhook's timestamp may be from now, either way (Telnyx's SDK's choice)."""

NOT_LISTED: Final = "not_listed"
"""Our code (not Telnyx's) when the narrowed search does not list the number."""
NARROW_LIMIT: Final = 5
POLL_SECONDS: Final = 0.25
POLL_ATTEMPTS: Final = 20
"""A pending reservation is read again this often (5 s in all: well inside the 60 s claim)."""

_RESERVATION_STATUS: Final = {
    "pending": ReservationStatus.PENDING,
    "success": ReservationStatus.SUCCESS,
    "expired": ReservationStatus.EXPIRED,
}
"""Anything else (``failure``, ``failed``: the docs' word) means the number is not held."""
_ORDER_FAILED: Final = frozenset({"failure", "failed", "cancelled", "deleted"})
_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # Unix seconds; no sign, no space, no newline


class TelnyxCarrier:
    """The :class:`~dialcues_core.numbers.ports.Carrier` of one organization's Telnyx account.

    ``settings`` carry the API key, the webhook public key, the messaging profile and the
    base URL (and, for texts, the RCS agent); ``timeout`` bounds each request in seconds;
    ``session_factory`` makes the aiohttp session (opened on first use, closed by
    :meth:`close`).
    """

    name = TELNYX

    def __init__(
        self,
        settings: CarrierSettings,
        *,
        timeout: float = 10.0,
        session_factory: Callable[[], aiohttp.ClientSession] | None = None,
    ) -> None:
        self._settings = settings
        self._http: TelnyxClient | None = None
        if settings.api_key:
            self._http = TelnyxClient(
                settings.base_url,
                settings.api_key,
                timeout=timeout,
                session_factory=session_factory,
            )

    async def close(self) -> None:
        """Close the client session."""
        if self._http is not None:
            await self._http.close()

    # ------------------------------------------------------------------ inventory
    async def search(self, query: NumberQuery) -> list[AvailableNumber]:
        """Return the local numbers Telnyx offers for ``query``, sorted by number.

        Always local, reservable and not held (``telephony.md`` §2.2); near matches Telnyx
        adds (``best_effort``) are dropped.
        """
        filters: dict[str, object] = {
            "country_code": query.country,
            "national_destination_code": query.npa,
            "phone_number": {"starts_with": query.nxx} if query.nxx else None,
            "locality": query.locality,
            "administrative_area": query.region,
            "rate_center": query.rate_center,
            "features": list(query.features) or None,
            "limit": query.limit,
        }
        return await self._search(filters, query.country, exclude_held=True)

    async def _search(
        self, filters: Mapping[str, object], country: str, *, exclude_held: bool
    ) -> list[AvailableNumber]:
        always = {"phone_number_type": "local", "reservable": True}
        held = {"exclude_held_numbers": True} if exclude_held else {}
        query: Query = {"filter": {**filters, **always, **held}}
        body = await self._client().get("/available_phone_numbers", query)
        offers = [_offer(item, country) for item in _items(body)]
        return sorted((o for o in offers if o is not None), key=lambda o: o.number)

    async def _narrowed(self, number: str) -> AvailableNumber:
        """Search for exactly ``number`` (our own held numbers included) and return its offer."""
        country, ndc, rest = _number_parts(number)
        filters: dict[str, object] = {
            "country_code": country,
            "national_destination_code": ndc,
            "phone_number": {"starts_with": rest},
            "limit": NARROW_LIMIT,
        }
        offers = await self._search(filters, country, exclude_held=False)
        offer = next((o for o in offers if o.number == number), None)
        if offer is None:
            raise CarrierRejected(
                NOT_LISTED, Refusal.NUMBER_UNAVAILABLE, "Telnyx does not list the number."
            )
        return offer

    async def _after_search(
        self, number: str, send: Callable[[], Awaitable[JSON]], *, search_first: bool
    ) -> tuple[AvailableNumber | None, JSON]:
        """Send; on 85000 (not seen in a recent search) search once more and send again."""
        offer = await self._narrowed(number) if search_first else None
        try:
            return offer, await send()
        except CarrierRejected as exc:
            if exc.meaning != Refusal.NOT_RECENTLY_SEARCHED:
                raise
        offer = await self._narrowed(number)
        return offer, await send()

    # ------------------------------------------------------------------ reservations
    async def reserve(self, number: str, reference: str) -> Reservation:
        """Reserve ``number`` under ``reference`` after the narrowed search (which fills
        ``offer``); wait out ``pending``. A per-number ``failure`` is ``number_unavailable``;
        still pending after :data:`POLL_ATTEMPTS` reads is an unknown outcome."""
        body = {"phone_numbers": [{"phone_number": number}], "customer_reference": reference}

        async def send() -> JSON:
            return await self._client().post("/number_reservations", body)

        offer, answer = await self._after_search(number, send, search_first=True)
        reservation = _reservation(_data(answer), number)
        if reservation is None:
            raise CarrierRejected(
                "reservation_failure", Refusal.NUMBER_UNAVAILABLE, _failure_text(answer)
            )
        settled = await self._settled(reservation)
        return replace(settled, offer=offer)

    async def _settled(self, reservation: Reservation) -> Reservation:
        """Read a pending reservation again until it is not pending."""
        for _ in range(POLL_ATTEMPTS):
            if reservation.status is not ReservationStatus.PENDING:
                return reservation
            await asyncio.sleep(POLL_SECONDS)
            reservation = await self._get_reservation(reservation.id, reservation.number)
        if reservation.status is ReservationStatus.PENDING:
            raise CarrierUnknownOutcome("The Telnyx reservation is still pending.")
        return reservation

    async def _get_reservation(self, reservation_id: str, number: str | None) -> Reservation:
        body = await self._client().get(f"/number_reservations/{_segment(reservation_id)}")
        reservation = _reservation(_data(body), number)
        if reservation is None:
            raise CarrierRejected(
                "reservation_failure", Refusal.NUMBER_UNAVAILABLE, _failure_text(body)
            )
        return reservation

    async def extend(self, reservation_id: str) -> Reservation:
        """Extend the reservation; return it with Telnyx's new expiry.

        It is read first, so that after an unknown outcome a later expiry proves the
        extension happened (a blind repeat would be refused with 85008).
        """
        before = await self._get_reservation(reservation_id, None)
        path = f"/number_reservations/{_segment(reservation_id)}/actions/extend"
        try:
            answer = await self._client().post(path)
        except CarrierUnknownOutcome:
            after = await self._get_reservation(reservation_id, before.number)
            if _later(after.expires_at, before.expires_at):
                return after
            raise
        extended = _reservation(_data(answer), before.number)
        if extended is None:
            raise CarrierUnknownOutcome("Telnyx answered the extension without the number.")
        return extended

    async def find_reservation(self, reference: str) -> Reservation | None:
        """Return the newest reservation made under ``reference`` that holds (or will hold)
        the number, or None; a lapsed one is returned too (the caller compares
        ``expires_at`` with its clock)."""
        query: Query = {"filter": {"customer_reference": reference}}
        body = await self._client().get("/number_reservations", query)
        found = [
            (str(item.get("created_at") or ""), _reservation(item, None))
            for item in _items(body)
            if item.get("customer_reference") == reference
        ]
        live = [(created, r) for created, r in found if r is not None]
        return max(live, key=lambda pair: pair[0])[1] if live else None

    # ------------------------------------------------------------------ orders, numbers
    async def order(self, number: str, reference: str) -> CarrierOrder:
        """Order ``number`` into the organization's messaging profile, under ``reference``.

        Sent once (Telnyx has no idempotency): after an unknown outcome the caller asks
        :meth:`find_order`. Only 85000 (nothing done) sends it again, after a search.
        """
        profile = self._settings.messaging_profile_id
        if not profile:
            raise CarrierRejected(
                "messaging_profile_id", Refusal.NOT_CONFIGURED, "No messaging profile is set."
            )
        body = {
            "phone_numbers": [{"phone_number": number}],
            "messaging_profile_id": profile,
            "customer_reference": reference,
        }

        async def send() -> JSON:
            return await self._client().post("/number_orders", body)

        _, answer = await self._after_search(number, send, search_first=False)
        return await self._completed(_order(_data(answer), number))

    async def find_order(self, reference: str) -> CarrierOrder | None:
        """Return the newest order placed under ``reference``, or None."""
        query: Query = {"filter": {"customer_reference": reference}}
        body = await self._client().get("/number_orders", query)
        mine = [item for item in _items(body) if item.get("customer_reference") == reference]
        if not mine:
            return None
        newest = max(mine, key=lambda item: str(item.get("created_at") or ""))
        return await self._completed(_order(newest, None))

    async def get_order(self, order_id: str) -> CarrierOrder:
        """Return the order's state; once ``success``, with the bought number's id (None if
        Telnyx does not list the number yet: ask again)."""
        body = await self._client().get(f"/number_orders/{_segment(order_id)}")
        return await self._completed(_order(_data(body), None))

    async def _completed(self, order: CarrierOrder) -> CarrierOrder:
        if order.status is not OrderStatus.SUCCESS:
            return order
        try:
            number_id = await self._number_id(order.number)
        except CarrierError:  # the number is bought whatever the lookup says; release looks
            number_id = None  # it up again by number
        return replace(order, number_id=number_id)

    async def _number_id(self, number: str) -> str | None:
        """Return Telnyx's id of a number our account owns, or None."""
        query: Query = {"filter": {"phone_number": number}}
        body = await self._client().get("/phone_numbers", query)
        ids = [item.get("id") for item in _items(body) if item.get("phone_number") == number]
        return next((i for i in ids if isinstance(i, str) and i), None)

    async def release(self, number: str) -> None:
        """Delete the number from our account; one Telnyx does not list is already gone."""
        number_id = await self._number_id(number)
        if number_id is not None:
            await self._client().delete(f"/phone_numbers/{_segment(number_id)}")

    # ------------------------------------------------------------------ messages
    async def send(self, outgoing: OutgoingMessage) -> SendReceipt:
        """Post one message, once (see :mod:`.messages` for the bodies).

        Repeated only when Telnyx was unreachable or answered 429 (nothing was sent). A
        timeout, a lost connection or a 5xx raise ``CarrierUnknownOutcome`` and nothing is
        sent again: the first event whose ``webhook_url`` names the message resolves it. A
        refusal is classified by its code: ``40300`` ``opted_out``, ``40010``
        ``campaign_not_registered``, an RCS ``40001`` ``channel_unavailable``, ``10011``,
        ``40011`` and ``40318`` throttled, the account codes ``account``; any other keeps its
        code (``rejected``).
        """
        path, body = message_request(outgoing, self._settings)
        try:
            answer = await self._client().post(path, body)
        except CarrierRejected as exc:
            if path == RCS_PATH and exc.carrier_code == RCS_UNREACHABLE_CODE:
                raise CarrierRejected(
                    exc.carrier_code, Refusal.CHANNEL_UNAVAILABLE, str(exc)
                ) from exc
            raise
        found = receipt(_data(answer))
        if found is None:
            raise CarrierUnknownOutcome("Telnyx took the message without naming it.")
        return found

    async def settle(self, message: Message, now: datetime) -> list[CarrierReport | IncomingText]:
        """Return nothing: Telnyx reports every message by webhook (:meth:`read_event`)."""
        return []

    def _client(self) -> TelnyxClient:
        if self._http is None:
            raise CarrierRejected("missing_api_key", Refusal.ACCOUNT, "No Telnyx API key is set.")
        return self._http

    # ------------------------------------------------------------------ webhooks
    def read_event(
        self, headers: Mapping[str, str], raw_body: bytes, now: datetime
    ) -> CarrierEvent:
        """Verify a Telnyx webhook and translate it (``telephony.md`` §1.4 steps 2–5).

        Both headers present (names in any case), the timestamp an integer within
        :data:`TIMESTAMP_TOLERANCE_SECONDS` of ``now``, the signature 64 bytes of base64 that
        verify with the organization's public key over ``{timestamp}|{raw body}``; only then
        is the body parsed. Any failure raises ``ProviderEventRejected``.
        """
        lowered = {key.lower(): value for key, value in headers.items()}
        timestamp = lowered.get(TIMESTAMP_HEADER)
        signature = lowered.get(SIGNATURE_HEADER)
        if timestamp is None or signature is None:
            raise ProviderEventRejected("The Telnyx signature headers are missing.")
        _check_fresh(timestamp, now)
        _verify(self._public_key(), signature, timestamp.encode() + b"|" + raw_body)
        return _event(raw_body)

    def _public_key(self) -> Ed25519PublicKey:
        try:
            raw = base64.b64decode(self._settings.public_key or "", validate=True)
            return Ed25519PublicKey.from_public_bytes(raw)
        except (binascii.Error, ValueError) as exc:
            raise ProviderEventRejected("No usable Telnyx public key is set.") from exc


# ----------------------------------------------------------------------------- webhooks
def _check_fresh(timestamp: str, now: datetime) -> None:
    """Refuse a timestamp that is not an integer or is more than 300 s from ``now``."""
    if not _TIMESTAMP.fullmatch(timestamp):
        raise ProviderEventRejected("The Telnyx timestamp is not an integer.")
    if abs(now.timestamp() - int(timestamp)) > TIMESTAMP_TOLERANCE_SECONDS:
        raise ProviderEventRejected("The Telnyx timestamp is too far from now.")


def _verify(key: Ed25519PublicKey, signature: str, message: bytes) -> None:
    """Refuse a signature that is not 64 bytes of base64 or does not verify."""
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ProviderEventRejected("The Telnyx signature is not base64.") from exc
    if len(raw) != 64:
        raise ProviderEventRejected("The Telnyx signature is not 64 bytes.")
    try:
        key.verify(raw, message)
    except InvalidSignature as exc:
        raise ProviderEventRejected("The Telnyx signature does not verify.") from exc


def _event(raw_body: bytes) -> CarrierEvent:
    """Translate a verified body: ``data.id``, ``data.event_type`` and the payload."""
    try:
        body = json.loads(raw_body)
    except ValueError as exc:
        raise ProviderEventRejected("The Telnyx event is not JSON.") from exc
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise ProviderEventRejected("The Telnyx event has no data.")
    event_id, event_type = data.get("id"), data.get("event_type")
    if not isinstance(event_id, str) or not event_id or not isinstance(event_type, str):
        raise ProviderEventRejected("The Telnyx event has no id or type.")
    found = data.get("payload")
    payload: dict[str, Any] = found if isinstance(found, dict) else {}
    kind = _event_kind(event_type)
    reference = payload.get("customer_reference") if kind is CarrierEventKind.NUMBER_ORDER else None
    occurred_at = _instant(data.get("occurred_at"))
    report, incoming = _translated(kind, event_type, payload, occurred_at)
    return CarrierEvent(
        id=event_id,
        kind=kind,
        type=event_type,
        occurred_at=occurred_at,
        reference=reference if isinstance(reference, str) and reference else None,
        payload=dict(payload) if kind in _KEEPS_PAYLOAD else {},
        report=report,
        incoming=incoming,
    )


def _translated(
    kind: CarrierEventKind, event_type: str, payload: dict[str, Any], occurred_at: datetime | None
) -> tuple[CarrierReport | None, IncomingText | None]:
    """Return a message event's report or inbound text; a payload that cannot be read gives
    neither (the event is verified: it is answered 200 and logged, never refused)."""
    try:
        if kind is CarrierEventKind.MESSAGE_STATUS:
            return status_report(event_type, payload, occurred_at), None
        if kind is CarrierEventKind.MESSAGE_RECEIVED:
            return None, incoming_text(payload, occurred_at)
    except (TypeError, ValueError, AttributeError, KeyError):  # the readers' safety net
        pass
    return None, None


_KEEPS_PAYLOAD: Final = frozenset(
    {CarrierEventKind.MESSAGE_STATUS, CarrierEventKind.MESSAGE_RECEIVED}
)
"""A number order's event only wakes the provisioner (it confirms with a GET)."""


def _event_kind(event_type: str) -> CarrierEventKind:
    if event_type.startswith("number_order."):
        return CarrierEventKind.NUMBER_ORDER
    if event_type == "message.received":
        return CarrierEventKind.MESSAGE_RECEIVED
    if event_type in STATUS_EVENTS:  # not message.read: ignored (telephony.md §1.4)
        return CarrierEventKind.MESSAGE_STATUS
    return CarrierEventKind.OTHER


# ----------------------------------------------------------------------------- replies
def _data(body: JSON) -> dict[str, Any]:
    """Return ``body.data`` (an object), or raise: an answer without it tells nothing."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise CarrierUnknownOutcome("Telnyx answered without a data object.")
    return data


def _items(body: JSON) -> list[dict[str, Any]]:
    """Return the objects of a listing's ``data`` array (anything else is skipped)."""
    data = body.get("data") if isinstance(body, dict) else None
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def _offer(item: Mapping[str, Any], country: str) -> AvailableNumber | None:
    """Translate one ``AvailablePhoneNumber``; None for a near match or a malformed one."""
    number = item.get("phone_number")
    if item.get("best_effort") is True or not isinstance(number, str) or not number:
        return None
    regions = _regions(item.get("region_information"))
    found = item.get("cost_information")
    cost: Mapping[str, Any] = found if isinstance(found, dict) else {}
    return AvailableNumber(
        number=number,
        country=country,
        locality=regions.get("location"),
        region=regions.get("state"),
        rate_center=regions.get("rate_center"),
        features=_features(item.get("features")),
        cost=Cost(
            monthly=_decimal(cost.get("monthly_cost")),
            upfront=_decimal(cost.get("upfront_cost")),
            currency=str(cost.get("currency") or "USD"),
        ),
        reservable=item.get("reservable") is not False,
    )


def _regions(value: object) -> dict[str, str]:
    """Return ``region_information`` as ``{region_type: region_name}``."""
    entries = value if isinstance(value, list) else []
    return {
        str(entry["region_type"]): str(entry["region_name"])
        for entry in entries
        if isinstance(entry, dict) and entry.get("region_type") and entry.get("region_name")
    }


def _features(value: object) -> tuple[str, ...]:
    """Return the features we know (``voice``, ``sms``, ``mms``), sorted."""
    entries = value if isinstance(value, list) else []
    names = {e.get("name") if isinstance(e, dict) else e for e in entries}
    return tuple(sorted(name for name in FEATURES if name in names))


def _decimal(value: object) -> str:
    """Return a cost as a decimal string (``1.00``); a number is converted, never floated."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return "0.00"
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return "0.00"
    if not amount.is_finite():
        return "0.00"
    return value if isinstance(value, str) else f"{amount:.2f}"


def _reservation(data: Mapping[str, Any], number: str | None) -> Reservation | None:
    """Translate a ``NumberReservation`` for ``number`` (default: its first); None when
    Telnyx reports the number failed (not held)."""
    phones = [p for p in data.get("phone_numbers") or [] if isinstance(p, dict)]
    phone = next((p for p in phones if p.get("phone_number") == number), None)
    phone = phone or (phones[0] if phones and number is None else None)
    reservation_id = data.get("id")
    if phone is None or not isinstance(reservation_id, str):
        raise CarrierUnknownOutcome("Telnyx answered with a reservation we cannot read.")
    status = _RESERVATION_STATUS.get(str(phone.get("status") or data.get("status")))
    if status is None:
        return None
    return Reservation(
        id=reservation_id,
        number=str(phone.get("phone_number")),
        status=status,
        expires_at=_instant(phone.get("expired_at")),
    )


def _order(data: Mapping[str, Any], number: str | None) -> CarrierOrder:
    """Translate a ``NumberOrderWithPhoneNumbers`` (its number: ``number`` or the first)."""
    phones = [p for p in data.get("phone_numbers") or [] if isinstance(p, dict)]
    phone = next((p for p in phones if p.get("phone_number") == number), None)
    phone = phone or (phones[0] if phones else {})
    order_id, ordered = data.get("id"), phone.get("phone_number") or number
    if not isinstance(order_id, str) or not isinstance(ordered, str):
        raise CarrierUnknownOutcome("Telnyx answered with an order we cannot read.")
    text = str(phone.get("status") or data.get("status") or "pending")
    if text in _ORDER_FAILED or str(data.get("status")) in _ORDER_FAILED:
        failed = text if text in _ORDER_FAILED else str(data.get("status"))
        message = f"Telnyx reports the order {failed}."
        return CarrierOrder(order_id, ordered, OrderStatus.FAILURE, None, failed, message)
    status = OrderStatus.SUCCESS if text == "success" else OrderStatus.PENDING
    return CarrierOrder(order_id, ordered, status)


def _failure_text(body: JSON) -> str:
    """Return the ``errors`` string Telnyx put on a failed reservation (kept short)."""
    data = body.get("data") if isinstance(body, dict) else None
    phones = data.get("phone_numbers") if isinstance(data, dict) else None
    first = phones[0] if isinstance(phones, list) and phones else None
    detail = first.get("errors") if isinstance(first, dict) else None
    return f"Telnyx could not reserve the number: {detail or 'no reason given'}"[:300]


# ----------------------------------------------------------------------------- helpers
def _number_parts(number: str) -> tuple[str, str | None, str]:
    """Return (country, NDC or None, the digits after it) for the narrowed search.

    Never the country code (Telnyx's rule); for NANP the NDC is the area code and the rest
    seven digits.
    """
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException as exc:
        raise CarrierRejected("10016", Refusal.REJECTED, "Not an E.164 number.") from exc
    country = phonenumbers.region_code_for_number(parsed)
    national = phonenumbers.national_significant_number(parsed)
    if not country or not phonenumbers.is_valid_number(parsed):
        raise CarrierRejected("10016", Refusal.REJECTED, "Not a valid phone number.")
    size = phonenumbers.length_of_national_destination_code(parsed)
    return country, national[:size] or None, national[size:]


def _segment(value: str) -> str:
    return quote(value, safe="")


def _later(after: datetime | None, before: datetime | None) -> bool:
    return after is not None and (before is None or after > before)


def _instant(value: object) -> datetime | None:
    """Return an ISO 8601 instant as an aware datetime (naive is read as UTC), or None."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
