"""A strict fake Telnyx API v2 on 127.0.0.1: numbers and messages (``telephony-facts.md`` §12).

Serves, under ``/v2``: ``GET /available_phone_numbers``; ``POST``/``GET /number_reservations``,
``GET /number_reservations/{id}``, ``POST /number_reservations/{id}/actions/extend``;
``POST``/``GET /number_orders``, ``GET /number_orders/{id}``; ``GET /phone_numbers`` and
``DELETE /phone_numbers/{id}``; ``POST /messages``, ``POST /messages/rcs``,
``GET /messages/{id}``, ``GET /messaging_optouts`` and ``PATCH /messaging_profiles/{id}``
(its webhook URLs). One test-only route, outside ``/v2`` (no auth, not recorded):
``POST /_test/inbound_messages {"from", "to", "text", "type"?, "media_urls"?,
"messaging_profile_id"?}`` — a handset texts our number (:meth:`FakeTelnyx.receive_text`).

As Telnyx does (and stricter where a test gains by it):
- **Auth**: only ``Authorization: Bearer <a known key>``; else 401, code ``10009``. Several
  keys are several accounts sharing one inventory (:meth:`FakeTelnyx.add_account`).
- **Errors**: the ``{"errors": [{"code", "title", "detail", "source", "meta"}]}`` envelope with
  string codes; 400 for a malformed request (``source.pointer`` / ``source.parameter``), 404
  ``10005``, 422 for the numbers rules (85000, 85001, 85004–85008), 429 ``10011``.
- **Queries**: deepObject (``filter[phone_number][starts_with]``), comma-joined arrays,
  ``true``/``false``; a filter the endpoint lacks is a 400 (stricter than Telnyx, to catch a
  typo); a search without ``filter[country_code]`` is a 400; ``*`` or ``%`` in a filter finds
  nothing.
- **Bodies**: strict; an unknown field at any depth is a 400 (stricter than Telnyx on purpose).
- **Inventory** (:func:`default_inventory`, deterministic): a number is available, reserved by
  an account (30 minutes on the injected clock, ``extend`` adds 30 once; no release; expiry
  frees it silently), in a pending order, or owned. Every number a search returns is
  remembered per account; reserving or ordering one the account has not seen within
  ``search_memory`` (and does not hold) is 85000. Another account's reservation hides the
  number from searches and refuses it (85006 on reserve, 85001 on order).
- **Orders**: ``pending``, then (after ``order_delay`` real seconds, or
  :meth:`FakeTelnyx.complete_order`) ``success`` — the number is owned and listed under
  ``/phone_numbers`` — or ``failure`` for the numbers in ``TelnyxState.failing_orders``; then
  a signed ``number_order.complete`` event is POSTed to ``events_url`` (2 s timeout, only a
  200 counts, 3 attempts, then ``failover_url``). No idempotency: a repeated POST is a second
  order.
- **Messages** (:class:`MessagingState`): 200 with ``data`` (a UUID ``id``,
  ``to[0].status`` ``queued``, ``parts``, ``cost`` null, ``webhook_url``); then signed
  ``message.sent`` and ``message.finalized`` (``sending_failed``: only the latter) to the
  message's ``webhook_url``, its ``webhook_failover_url``, then the profile's URLs (default:
  ``events_url``, ``failover_url``). Switches: out of order, twice, concurrently. Outcomes per
  recipient (:meth:`FakeTelnyx.set_outcome`; default ``delivered``). 10DLC per sender number
  (``unregistered``): ``sending_failed`` 40010, or a 422 40010 at once. RCS per recipient
  (``rcs_incapable``): with ``sms_fallback`` delivered by SMS (events' ``type`` ``SMS``),
  without it a 422 40001 at once, or ``sending_failed`` 40001. No idempotency: a repeated POST
  is a second message.
- **Opt-out**: an inbound STOP, STOPALL, STOP ALL, UNSUBSCRIBE, CANCEL, END or QUIT (the
  whole text, any case; SMS and MMS) blocks the handset on the whole messaging profile and
  lists it under ``/messaging_optouts``; later sends to it are a 422 40300 "Blocked due to
  STOP message". START and UNSTOP lift the block. ``autoresponse_type`` is ``STOP``,
  ``START``, ``HELP`` or null (REVOKE, OPT OUT and every other text).
- **Faults**: :meth:`FakeTelnyx.fail_next` (429 or 500 before the work, or the work done and
  then a 500, a dropped connection or an answer later than the client waits; or the
  account's searches forgotten, so the request meets 85000) and the ``throttle_all`` switch
  (429 with ``x-ratelimit-*`` headers). ``fail_next(..., to=number)`` picks one recipient's
  send: ``DONE_THEN_500``, ``DONE_THEN_DROP`` or ``DONE_THEN_HANG`` there is "accepted, answer
  lost" (the message exists and its events follow).

Every request is in :attr:`FakeTelnyx.requests` (:class:`Recorded`: method, path without
``/v2``, the flat query, the JSON body, the key and the status answered).

Usage::

    telnyx = await start_fake_telnyx(api_keys=("key-1",), clock=clock.now)
    try:
        settings = CarrierSettings("telnyx", "key-1", telnyx.public_key, "mp-1", telnyx.url)
        ...
        assert [r.path for r in telnyx.requests_to("POST")] == ["/number_orders"]
        telnyx.events_url = "http://127.0.0.1:8080/api/providers/telnyx/events/org_1"
        telnyx.set_outcome("+14155550111", "delivery_failed")  # errors[0].code 40008
        await telnyx.receive_text("+14155550111", "+14155550100", "STOP")
        assert len(telnyx.sends_to("+14155550111")) == 1
    finally:
        await telnyx.close()

Past the house's 400 lines: the rules, their HTTP skin and the signed deliveries only make
sense together, and nothing outside the tests imports them.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import re
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = [
    "DEFAULT_AGENT",
    "DEFAULT_KEY",
    "DEFAULT_PROFILE",
    "Delivery",
    "FakeTelnyx",
    "Fault",
    "MessagingState",
    "Offer",
    "Outcome",
    "Recorded",
    "TelnyxError",
    "TelnyxState",
    "default_inventory",
    "keyword",
    "parse_deep",
    "segments",
    "start_fake_telnyx",
]

Json = dict[str, Any]
Clock = Callable[[], datetime]

DEFAULT_KEY = "telnyx-test-key"
DEFAULT_PROFILE = "mp-test-profile"
DEFAULT_AGENT = "rcs-test-agent"
RESERVATION_TTL = timedelta(minutes=30)
FEATURE_NAMES = frozenset(
    {"sms", "mms", "voice", "fax", "emergency", "hd_voice", "international_sms", "local_calling"}
)
NUMBER_TYPES = frozenset({"local", "toll_free", "mobile", "national", "shared_cost"})
WILDCARDS = ("*", "%")
E164 = re.compile(r"^\+[1-9]\d{1,14}$")
_DEEP_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


# ----------------------------------------------------------------------------- vocabulary
class TelnyxError(Exception):
    """A refusal in Telnyx's envelope: HTTP status, string code, title, detail, source."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str = "",
        *,
        pointer: str | None = None,
        parameter: str | None = None,
    ) -> None:
        super().__init__(f"{status} {code} {title}")
        self.status, self.code, self.title, self.detail = status, code, title, detail or title
        self.source = {"pointer": pointer} if pointer else {}
        if parameter:
            self.source["parameter"] = parameter

    def body(self) -> Json:
        error: Json = {"code": self.code, "title": self.title, "detail": self.detail}
        if self.source:
            error["source"] = dict(self.source)
        error["meta"] = {"url": f"https://developers.telnyx.com/docs/overview/errors/{self.code}"}
        return {"errors": [error]}


def _bad_request(
    detail: str, *, pointer: str | None = None, parameter: str | None = None
) -> TelnyxError:
    return TelnyxError(400, "10015", "Bad Request", detail, pointer=pointer, parameter=parameter)


def _not_found(what: str) -> TelnyxError:
    return TelnyxError(404, "10005", "Resource not found", f"The {what} was not found.")


def _refusal(code: str, title: str, detail: str = "") -> TelnyxError:
    return TelnyxError(422, code, title, detail)


REFUSALS = {
    "85000": "Must search phone number via search API first",
    "85001": "Phone numbers not available",
    "85006": "Number already reserved",
    "85007": "Too many active reservations",
    "85008": "Extension limit reached",
}


class Fault(StrEnum):
    """A failure to inject into the next matching request (:meth:`FakeTelnyx.fail_next`)."""

    THROTTLE = "throttle"  # 429 10011 before anything is done
    ERROR_500 = "error_500"  # 500 10007, nothing done
    DONE_THEN_500 = "done_then_500"  # the work is done, the answer is a 500
    DONE_THEN_DROP = "done_then_drop"  # the work is done, the connection is dropped
    DONE_THEN_HANG = "done_then_hang"  # the work is done, the answer comes hang_seconds late
    FORGET_SEARCHES = "forget_searches"  # the account's searches are forgotten first (85000)


@dataclass
class Recorded:
    """One request the fake received (``status``: what it answered; None: no answer)."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    api_key: str | None
    status: int | None = None


@dataclass(frozen=True)
class Delivery:
    """One webhook attempt: where, the exact bytes and headers, the HTTP status (None: none)."""

    url: str
    body: bytes
    headers: Mapping[str, str]
    status: int | None
    attempt: int


@dataclass(frozen=True)
class Offer:
    """One number of the inventory (all local)."""

    number: str
    country: str
    rate_center: str
    state: str
    locality: str
    features: tuple[str, ...] = ("mms", "sms", "voice")
    monthly: str = "1.00"
    upfront: str = "1.00"
    currency: str = "USD"

    @property
    def ndc(self) -> str:
        return self.number[2:5]  # NANP: the area code after +1

    @property
    def after_ndc(self) -> str:
        return self.number[5:]


_AREAS = (
    ("US", "415", "SAN FRANCI", "CA", "San Francisco"),
    ("US", "312", "CHICAGO", "IL", "Chicago"),
    ("US", "212", "NEW YORK", "NY", "New York"),
    ("CA", "416", "TORONTO", "ON", "Toronto"),
)


def default_inventory() -> list[Offer]:
    """Twenty numbers ``+1 NPA 555-0100…0119`` in each of four areas; ``…0104`` is voice only."""
    offers = []
    for country, npa, rate_center, state, locality in _AREAS:
        for i in range(20):
            features = ("voice",) if i == 4 else ("mms", "sms", "voice")
            number = f"+1{npa}555{100 + i:04d}"
            offers.append(Offer(number, country, rate_center, state, locality, features))
    return offers


def parse_deep(pairs: Iterable[tuple[str, str]]) -> Json:
    """Return deepObject query pairs as nested dicts (``filter[a][b]=1`` → ``{filter: {a: {b}}}``).

    A malformed key is a 400 naming it.
    """
    parsed: Json = {}
    for key, value in pairs:
        match = _DEEP_KEY.match(key)
        if match is None:
            raise _bad_request(f"Malformed query parameter {key!r}.", parameter=key)
        parts = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        node = parsed
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise _bad_request(f"Conflicting query parameter {key!r}.", parameter=key)
            node = child
        node[parts[-1]] = value
    return parsed


# ----------------------------------------------------------------------------- the state
@dataclass
class _Held:
    """One number of a reservation."""

    id: str
    number: str
    status: str
    expired_at: datetime
    errors: str = ""


@dataclass
class _Reservation:
    id: str
    account: str
    customer_reference: str | None
    created_at: datetime
    numbers: list[_Held]
    extensions: int = 0
    polls_left: int = 0


@dataclass
class _Order:
    id: str
    account: str
    customer_reference: str | None
    messaging_profile_id: str | None
    connection_id: str | None
    created_at: datetime
    numbers: list[Json]
    status: str = "pending"
    updated_at: datetime | None = None


@dataclass
class _Owned:
    id: str
    account: str
    number: str
    messaging_profile_id: str | None
    created_at: datetime


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _flag(filters: Mapping[str, Any], name: str) -> bool | None:
    """Return a boolean filter (``true``/``false`` only), or None when absent."""
    value = filters.get(name)
    if value is None:
        return None
    if value not in ("true", "false"):
        raise _bad_request(f"{name} must be true or false.", parameter=f"filter[{name}]")
    return bool(value == "true")


def _allowed(given: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
    """Refuse any key of ``given`` that ``allowed`` lacks (``where``: its parameter prefix)."""
    extra = sorted(set(given) - set(allowed))
    if extra:
        name = f"{where}[{extra[0]}]" if where else extra[0]
        raise _bad_request(f"Unknown query parameter {name}.", parameter=name)


class TelnyxState:
    """The numbers rules, with no HTTP: inventory, reservations, orders, owned numbers.

    Knobs (public attributes): ``clock`` (a callable returning an aware datetime),
    ``search_memory`` (how long a searched number counts as "recently searched"),
    ``reservation_limit`` (live reserved numbers per account, then 85007),
    ``extension_limit`` (extensions per reservation, then 85008), ``pending_reservation_polls``
    (a new reservation reads ``pending`` this many ``GET``s long), ``failing_orders`` (numbers
    whose orders fail), ``best_effort_fill`` (pad short searches with near matches flagged
    ``best_effort``, as ``filter[best_effort]=true`` does), ``messaging_profiles`` and
    ``connections`` (the ids an order may name).
    """

    def __init__(self, clock: Clock, inventory: Iterable[Offer]) -> None:
        self.clock = clock
        self.inventory = {offer.number: offer for offer in inventory}
        self.search_memory = timedelta(minutes=30)
        self.reservation_limit = 10
        self.extension_limit = 1
        self.pending_reservation_polls = 0
        self.failing_orders: set[str] = set()
        self.best_effort_fill = False
        self.messaging_profiles: set[str] = {DEFAULT_PROFILE}
        self.connections: set[str] = set()
        self.seen: dict[str, dict[str, datetime]] = {}
        self.reservations: list[_Reservation] = []
        self.orders: list[_Order] = []
        self.owned: dict[str, _Owned] = {}

    # ------------------------------------------------------------------ who has a number
    def holder(self, number: str) -> str | None:
        """Return the account with a live reservation of ``number``, or None."""
        now = self.clock()
        for reservation in self.reservations:
            for held in reservation.numbers:
                live = held.status in ("success", "pending") and held.expired_at > now
                if held.number == number and live:
                    return reservation.account
        return None

    def taken(self, number: str) -> bool:
        """Tell whether the number is owned or in a pending order (gone for everyone)."""
        if number in {owned.number for owned in self.owned.values()}:
            return True
        return any(
            order.status == "pending" and any(n["phone_number"] == number for n in order.numbers)
            for order in self.orders
        )

    def recently_seen(self, account: str, number: str) -> bool:
        seen = self.seen.get(account, {}).get(number)
        return seen is not None and self.clock() - seen <= self.search_memory

    def live_holds(self, account: str) -> int:
        now = self.clock()
        return sum(
            1
            for r in self.reservations
            if r.account == account
            for held in r.numbers
            if held.status in ("success", "pending") and held.expired_at > now
        )

    # ------------------------------------------------------------------ search
    def search(self, account: str, filters: Json) -> list[Json]:
        """Return ``AvailablePhoneNumber`` objects for the filters; remember them as seen."""
        self._check_search(filters)
        if any(w in json.dumps(filters) for w in WILDCARDS):
            return []
        limit = int(filters.get("limit") or 50)
        exact = [o for o in self._visible(account, filters) if self._matches(o, filters)]
        found = [self._available(o, False) for o in sorted(exact, key=lambda o: o.number)][:limit]
        if (self.best_effort_fill or _flag(filters, "best_effort")) and len(found) < limit:
            near = [o for o in self._visible(account, filters) if o not in exact]
            near = [o for o in near if o.country == filters["country_code"]]
            found += [self._available(o, True) for o in near[: limit - len(found)]]
        marks = self.seen.setdefault(account, {})
        for item in found:
            marks[item["phone_number"]] = self.clock()
        return found

    def _check_search(self, filters: Json) -> None:
        allowed = {
            "country_code", "national_destination_code", "phone_number", "locality",
            "administrative_area", "rate_center", "phone_number_type", "features", "limit",
            "best_effort", "quickship", "reservable", "exclude_held_numbers",
        }  # fmt: skip
        _allowed(filters, allowed, "filter")
        pattern = filters.get("phone_number", {})
        if not isinstance(pattern, dict):
            raise _bad_request("Use filter[phone_number][starts_with].", parameter="filter")
        _allowed(pattern, {"starts_with", "contains", "ends_with"}, "filter[phone_number]")
        if not filters.get("country_code"):
            raise TelnyxError(
                400, "10004", "Missing required parameter",
                "filter[country_code] is required.", parameter="filter[country_code]",
            )  # fmt: skip
        for name in ("best_effort", "quickship", "reservable", "exclude_held_numbers"):
            _flag(filters, name)
        self._check_enums(filters)

    def _check_enums(self, filters: Json) -> None:
        features = str(filters.get("features") or "").split(",") if "features" in filters else []
        if any(name not in FEATURE_NAMES for name in features):
            raise _bad_request("Unknown feature.", parameter="filter[features]")
        kind = filters.get("phone_number_type")
        if kind is not None and kind not in NUMBER_TYPES:
            raise _bad_request("Unknown phone_number_type.", parameter="filter[phone_number_type]")
        limit = filters.get("limit")
        if limit is not None and (not str(limit).isdigit() or int(limit) < 1):
            raise _bad_request("limit must be a positive integer.", parameter="filter[limit]")

    def _visible(self, account: str, filters: Json) -> list[Offer]:
        """The numbers a search by ``account`` may list at all (not taken, not held by others;
        with ``exclude_held_numbers``, not held by anyone)."""
        exclude_held = _flag(filters, "exclude_held_numbers") is True
        visible = []
        for offer in self.inventory.values():
            holder = self.holder(offer.number)
            if self.taken(offer.number) or holder not in (None, account):
                continue
            if exclude_held and holder is not None:
                continue
            visible.append(offer)
        return visible

    def _matches(self, offer: Offer, filters: Json) -> bool:
        pattern = filters.get("phone_number") or {}
        ndc = filters.get("national_destination_code")
        digits = offer.after_ndc if ndc else offer.number[2:]  # never the country code
        wanted_features = [f for f in str(filters.get("features") or "").split(",") if f]
        checks = [
            offer.country == filters["country_code"],
            ndc is None or offer.ndc == ndc,
            digits.startswith(pattern.get("starts_with", "")),
            pattern.get("contains", "") in digits,
            digits.endswith(pattern.get("ends_with", "")),
            _same(filters.get("locality"), offer.locality),
            _same(filters.get("administrative_area"), offer.state),
            _same(filters.get("rate_center"), offer.rate_center),
            filters.get("phone_number_type") in (None, "local"),
            all(feature in offer.features for feature in wanted_features),
            _flag(filters, "quickship") is not True,  # quickship is toll-free only
        ]
        return all(checks)

    def _available(self, offer: Offer, best_effort: bool) -> Json:
        regions = [
            ("rate_center", offer.rate_center), ("state", offer.state),
            ("location", offer.locality), ("country_code", offer.country),
        ]  # fmt: skip
        return {
            "record_type": "available_phone_number",
            "phone_number": offer.number,
            "vanity_format": "",
            "best_effort": best_effort,
            "quickship": False,
            "reservable": True,
            "cost_information": {
                "currency": offer.currency,
                "monthly_cost": offer.monthly,
                "upfront_cost": offer.upfront,
            },
            "features": [{"name": name} for name in offer.features],
            "region_information": [{"region_type": t, "region_name": n} for t, n in regions],
        }

    # ------------------------------------------------------------------ reservations
    def reserve(self, account: str, numbers: list[str], reference: str | None) -> Json:
        """Reserve each number on its own (not atomic); all refused → the first refusal."""
        now = self.clock()
        reservation = _Reservation(str(uuid.uuid4()), account, reference, now, [])
        refusals: list[TelnyxError] = []
        for number in numbers:
            refusal = self._reserve_refusal(account, number)
            status = "pending" if self.pending_reservation_polls else "success"
            status = "failure" if refusal is not None else status
            held = _Held(str(uuid.uuid4()), number, status, now + RESERVATION_TTL)
            if refusal is not None:
                held.errors = refusal.title
                refusals.append(refusal)
            reservation.numbers.append(held)
        if len(refusals) == len(numbers):
            raise refusals[0]
        reservation.polls_left = self.pending_reservation_polls
        self.reservations.append(reservation)
        return self._reservation_json(reservation)

    def _reserve_refusal(self, account: str, number: str) -> TelnyxError | None:
        holder = self.holder(number)
        if number not in self.inventory or self.taken(number):
            return _refusal("85001", REFUSALS["85001"])
        if holder not in (None, account):
            return _refusal("85006", REFUSALS["85006"])
        if holder is None and not self.recently_seen(account, number):
            return _refusal("85000", REFUSALS["85000"])
        if self.live_holds(account) >= self.reservation_limit:
            return _refusal("85007", REFUSALS["85007"])
        return None

    def reservation(self, account: str, reservation_id: str, *, poll: bool = False) -> Json:
        """Return one of the account's reservations (a poll moves a pending one on)."""
        found = self._find_reservation(account, reservation_id)
        if poll and found.polls_left > 0:
            found.polls_left -= 1
            if found.polls_left == 0:
                for held in found.numbers:
                    held.status = "success" if held.status == "pending" else held.status
        return self._reservation_json(found)

    def _find_reservation(self, account: str, reservation_id: str) -> _Reservation:
        for reservation in self.reservations:
            if reservation.id == reservation_id and reservation.account == account:
                return reservation
        raise _not_found("number reservation")

    def extend(self, account: str, reservation_id: str) -> Json:
        """Add 30 minutes to every live number of the reservation, ``extension_limit`` times."""
        reservation = self._find_reservation(account, reservation_id)
        live = [h for h in reservation.numbers if h.status == "success"]
        if not live or all(h.expired_at <= self.clock() for h in live):
            raise _not_found("number reservation (expired)")
        if reservation.extensions >= self.extension_limit:
            raise _refusal("85008", REFUSALS["85008"])
        reservation.extensions += 1
        for held in live:
            held.expired_at += RESERVATION_TTL
        return self._reservation_json(reservation)

    def list_reservations(self, account: str, filters: Json) -> list[Json]:
        allowed = {"status", "customer_reference", "phone_numbers.phone_number", "created_at"}
        _allowed(filters, allowed, "filter")
        number = filters.get("phone_numbers.phone_number")
        return [
            self._reservation_json(r)
            for r in self.reservations
            if r.account == account
            and filters.get("customer_reference") in (None, r.customer_reference)
            and (number is None or any(h.number == number for h in r.numbers))
            and filters.get("status") in (None, self._overall(r))
        ]

    def _overall(self, reservation: _Reservation) -> str:
        statuses = {held.status for held in reservation.numbers}
        if statuses == {"success"} or statuses == {"pending"}:
            return statuses.pop()
        return "pending" if "pending" in statuses else "partial_success"

    def _reservation_json(self, r: _Reservation) -> Json:
        created = _iso(r.created_at)
        return {
            "id": r.id, "record_type": "number_reservation", "status": self._overall(r),
            "customer_reference": r.customer_reference, "created_at": created,
            "updated_at": created, "errors": "",
            "phone_numbers": [
                {
                    "id": h.id, "record_type": "reserved_phone_number",
                    "phone_number": h.number, "status": h.status, "created_at": created,
                    "updated_at": created, "expired_at": _iso(h.expired_at), "errors": h.errors,
                }
                for h in r.numbers
            ],
        }  # fmt: skip

    # ------------------------------------------------------------------ orders, numbers
    def order(self, account: str, body: Json) -> Json:
        """Create a pending order (all numbers orderable, else the first refusal)."""
        profile, connection = body.get("messaging_profile_id"), body.get("connection_id")
        if profile is not None and profile not in self.messaging_profiles:
            raise _refusal("85005", "Invalid messaging profile id")
        if connection is not None and connection not in self.connections:
            raise _refusal("85004", "Invalid connection id")
        numbers = [item["phone_number"] for item in body["phone_numbers"]]
        for number in numbers:
            refusal = self._order_refusal(account, number)
            if refusal is not None:
                raise refusal
        now = self.clock()
        order = _Order(
            str(uuid.uuid4()), account, body.get("customer_reference"), profile, connection,
            now, [self._order_number(number) for number in numbers], updated_at=now,
        )  # fmt: skip
        self.orders.append(order)
        return self._order_json(order)

    def _order_refusal(self, account: str, number: str) -> TelnyxError | None:
        holder = self.holder(number)
        if number not in self.inventory or self.taken(number) or holder not in (None, account):
            return _refusal("85001", REFUSALS["85001"])
        if holder is None and not self.recently_seen(account, number):
            return _refusal("85000", REFUSALS["85000"])
        return None

    def complete(self, order_id: str) -> Json:
        """Settle a pending order: ``success`` (numbers owned) or ``failure``."""
        order = next(o for o in self.orders if o.id == order_id)
        if order.status != "pending":
            return self._order_json(order)
        failed = any(n["phone_number"] in self.failing_orders for n in order.numbers)
        order.status = "failure" if failed else "success"
        order.updated_at = self.clock()
        for item in order.numbers:
            item["status"] = order.status
            if not failed:
                owned = _Owned(
                    str(uuid.uuid4()), order.account, item["phone_number"],
                    order.messaging_profile_id, self.clock(),
                )  # fmt: skip
                self.owned[owned.id] = owned
        return self._order_json(order)

    def _order_number(self, number: str) -> Json:
        return {
            "id": str(uuid.uuid4()), "record_type": "number_order_phone_number",
            "phone_number": number, "phone_number_type": "local", "country_code": number[1:2],
            "country_iso_alpha2": self.inventory[number].country, "status": "pending",
            "requirements_met": True, "requirements_status": "approved",
            "regulatory_requirements": [],
        }  # fmt: skip

    def get_order(self, account: str, order_id: str) -> Json:
        for order in self.orders:
            if order.id == order_id and order.account == account:
                return self._order_json(order)
        raise _not_found("number order")

    def list_orders(self, account: str, filters: Json) -> list[Json]:
        allowed = {"status", "created_at", "phone_numbers_count", "customer_reference"}
        _allowed(filters, allowed | {"requirements_met"}, "filter")
        return [
            self._order_json(o)
            for o in self.orders
            if o.account == account
            and filters.get("customer_reference") in (None, o.customer_reference)
            and filters.get("status") in (None, o.status)
        ]

    def _order_json(self, o: _Order) -> Json:
        return {
            "id": o.id, "record_type": "number_order", "status": o.status,
            "phone_numbers_count": len(o.numbers), "requirements_met": True,
            "sub_number_orders_ids": [], "connection_id": o.connection_id,
            "messaging_profile_id": o.messaging_profile_id, "billing_group_id": None,
            "customer_reference": o.customer_reference, "created_at": _iso(o.created_at),
            "updated_at": _iso(o.updated_at or o.created_at),
            "phone_numbers": [dict(item) for item in o.numbers],
        }  # fmt: skip

    def phone_numbers(self, account: str, filters: Json) -> list[Json]:
        _allowed(filters, {"phone_number", "status", "tag", "connection_id"}, "filter")
        wanted = filters.get("phone_number")
        return [
            _phone_json(owned)
            for owned in self.owned.values()
            if owned.account == account and wanted in (None, owned.number)
        ]

    def delete_number(self, account: str, number_id: str) -> Json:
        """Delete an owned number: it returns to the inventory."""
        owned = self.owned.get(number_id)
        if owned is None or owned.account != account:
            raise _not_found("phone number")
        del self.owned[number_id]
        return {**_phone_json(owned), "status": "deleted"}


def _same(wanted: object, actual: str) -> bool:
    return wanted is None or str(wanted).casefold() == actual.casefold()


def _phone_json(owned: _Owned) -> Json:
    created = _iso(owned.created_at)
    return {
        "id": owned.id, "record_type": "phone_number", "phone_number": owned.number,
        "status": "active", "messaging_profile_id": owned.messaging_profile_id,
        "connection_id": None, "tags": [], "created_at": created, "updated_at": created,
    }  # fmt: skip


# ----------------------------------------------------------------------------- bodies
def _strict(body: object, allowed: Iterable[str], pointer: str = "") -> Json:
    """Return ``body`` as an object with no key beyond ``allowed`` (else a 400 naming it)."""
    if not isinstance(body, dict):
        raise _bad_request("The body must be a JSON object.", pointer=pointer or "/")
    extra = sorted(set(body) - set(allowed))
    if extra:
        raise _bad_request(f"Unknown field {extra[0]!r}.", pointer=f"{pointer}/{extra[0]}")
    return body


def _phone_items(body: Json, allowed: Iterable[str]) -> list[str]:
    """Return the E.164 numbers of a body's ``phone_numbers`` (strict items)."""
    items = body.get("phone_numbers")
    if not isinstance(items, list) or not items:
        raise _bad_request("phone_numbers must be a non-empty list.", pointer="/phone_numbers")
    numbers = []
    for index, item in enumerate(items):
        _strict(item, allowed, f"/phone_numbers/{index}")
        number = item.get("phone_number")
        if not isinstance(number, str) or not E164.match(number):
            raise TelnyxError(
                400, "10016", "Phone number must be +E.164", pointer=f"/phone_numbers/{index}"
            )
        numbers.append(number)
    return numbers


def _optional_text(body: Json, name: str) -> None:
    if name in body and not isinstance(body[name], str | None):
        raise _bad_request(f"{name} must be a string.", pointer=f"/{name}")


def _page(items: list[Json], page: Mapping[str, Any]) -> Json:
    """Return a listing page (``page[number]``, ``page[size]``) with Telnyx's ``meta``."""
    _allowed(page, {"number", "size"}, "page")
    try:
        number, size = int(page.get("number", 1)), int(page.get("size", 20))
    except ValueError as exc:
        raise _bad_request("page must be integers.", parameter="page") from exc
    if number < 1 or not 1 <= size <= 250:
        raise _bad_request("page out of range.", parameter="page")
    total_pages = max(1, math.ceil(len(items) / size))
    meta = {"page_number": number, "page_size": size, "total_pages": total_pages,
            "total_results": len(items)}  # fmt: skip
    return {"data": items[(number - 1) * size : number * size], "meta": meta}


# ----------------------------------------------------------------------------- messaging
FINAL_STATUSES = frozenset(
    {"delivered", "delivery_failed", "delivery_unconfirmed", "sending_failed", "expired"}
)
DEFAULT_ERRORS = {
    "delivery_failed": ("40008", "Undeliverable"),
    "sending_failed": ("40012", "Invalid destination number"),
    "expired": ("40005", "Message expired during transmission"),
}
"""The ``errors[0]`` of an outcome that names no code of its own."""
UNREGISTERED_10DLC = ("40010", "Unregistered 10DLC message")
RCS_UNREACHABLE = ("40001", "Not routable")
"""The fake's code for RCS to a handset that cannot take it (Telnyx documents none)."""
BLOCKED = ("40300", "Blocked due to STOP message")
STOP_WORDS = frozenset({"STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_WORDS = frozenset({"START", "UNSTOP"})
HELP_WORDS = frozenset({"HELP"})
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = frozenset("^{}\\[~]|€\f")
MAX_MMS_MEDIA = 10
MAX_RCS_TEXT = 3072
MAX_URL = 2000


@dataclass(frozen=True)
class Outcome:
    """What becomes of a message to one number: the final ``to[0].status`` of its
    ``message.finalized`` and, for a failure, ``errors[0]`` (default: :data:`DEFAULT_ERRORS`)."""

    status: str = "delivered"
    code: str | None = None
    title: str | None = None

    def __post_init__(self) -> None:
        if self.status not in FINAL_STATUSES:
            raise ValueError(f"not a final status: {self.status!r}")

    def errors(self) -> list[Json]:
        default = DEFAULT_ERRORS.get(self.status)
        code = self.code or (default[0] if default else None)
        if code is None:
            return []
        title = self.title or (default[1] if default and default[0] == code else "Message failed")
        return [{"code": code, "title": title, "detail": title}]


@dataclass
class _Message:
    """One outbound message; ``kind`` is what travels (``RCS``, or ``SMS`` after a fallback)."""

    id: str
    account: str
    profile: str
    kind: str
    sender: Json
    to: str
    text: str
    media_urls: list[str]
    subject: str | None
    webhook_url: str | None
    failover_url: str | None
    use_profile_webhooks: bool
    created_at: datetime
    outcome: Outcome
    status: str = "queued"
    sent_at: datetime | None = None
    completed_at: datetime | None = None
    cost: Json | None = None
    settled: bool = False


def keyword(text: str) -> str | None:
    """Return Telnyx's ``autoresponse_type`` for an inbound text (case-insensitive, the whole
    message, inner spaces collapsed): ``STOP``, ``START``, ``HELP`` or None."""
    word = " ".join(text.split()).upper()
    for words, kind in ((STOP_WORDS, "STOP"), (START_WORDS, "START"), (HELP_WORDS, "HELP")):
        if word in words:
            return kind
    return None


def segments(text: str) -> tuple[int, str]:
    """Return the parts and encoding of an SMS: GSM-7 (160, then 153 a part; the extension
    characters count twice) or UCS-2 (70, then 67 code units a part)."""
    if all(c in GSM_BASIC or c in GSM_EXTENDED for c in text):
        size = len(text) + sum(1 for c in text if c in GSM_EXTENDED)
        return (1 if size <= 160 else math.ceil(size / 153)), "GSM-7"
    units = len(text.encode("utf-16-le")) // 2
    return (1 if units <= 70 else math.ceil(units / 67)), "UCS-2"


class MessagingState:
    """The messaging rules, with no HTTP: outbound messages, outcomes, STOP blocks, inbound.

    Knobs (public attributes): ``outcomes`` (recipient number → :class:`Outcome`; default
    ``delivered``), ``unregistered`` (sender numbers without a 10DLC campaign) and
    ``ten_dlc_refusal`` (``"final"``: accepted, then ``sending_failed`` 40010; ``"sync"``: a
    422 40010 at once), ``rcs_agents`` (the agent ids ``POST /messages/rcs`` accepts),
    ``rcs_incapable`` (numbers that cannot take RCS) and ``rcs_refusal`` (RCS to one of them
    without ``sms_fallback``: ``"sync"``, a 422 40001 at once; ``"final"``: accepted, then
    ``sending_failed`` 40001), ``part_cost`` (USD per part in ``message.finalized``).
    Records: ``messages`` (by id), ``blocks`` ((profile, handset) → since), ``optouts``,
    ``received`` (inbound payloads), ``autoreplies`` ((our number, handset, type) Telnyx
    answered itself), ``senders`` (our numbers → the profile they were seen on).
    """

    def __init__(self, numbers: TelnyxState) -> None:
        self.numbers = numbers
        self.outcomes: dict[str, Outcome] = {}
        self.unregistered: set[str] = set()
        self.ten_dlc_refusal = "final"
        self.rcs_agents: set[str] = {DEFAULT_AGENT}
        self.rcs_incapable: set[str] = set()
        self.rcs_refusal = "sync"
        self.part_cost = "0.0040"
        self.messages: dict[str, _Message] = {}
        self.blocks: dict[tuple[str, str], datetime] = {}
        self.optouts: list[Json] = []
        self.received: list[Json] = []
        self.autoreplies: list[tuple[str, str, str]] = []
        self.senders: dict[str, str] = {}

    def clock(self) -> datetime:
        """Now, on the numbers' injected clock (one clock for the whole fake)."""
        return self.numbers.clock()

    # ------------------------------------------------------------------ profiles
    def profile_of(self, number: str, given: str | None = None) -> str:
        """Return the messaging profile of our ``number``: ``given``, else the one it was
        ordered into or last sent on, else :data:`DEFAULT_PROFILE`."""
        if given:
            return given
        owned = [o for o in self.numbers.owned.values() if o.number == number]
        if owned and owned[0].messaging_profile_id:
            return owned[0].messaging_profile_id
        return self.senders.get(number, DEFAULT_PROFILE)

    def _check_profile(self, profile: str | None, sender: str | None) -> None:
        if profile is not None and profile not in self.numbers.messaging_profiles:
            raise _bad_request("Unknown messaging profile.", pointer="/messaging_profile_id")
        owned = [o for o in self.numbers.owned.values() if o.number == sender]
        theirs = owned[0].messaging_profile_id if owned else None
        if profile is not None and theirs not in (None, profile):
            raise _refusal("40305", "Invalid 'from' address", "The number is on another profile.")

    # ------------------------------------------------------------------ sending
    def send_sms(self, account: str, body: Json) -> _Message:
        """Accept ``POST /messages`` (a checked body, ``type`` set) or refuse it: 40300 (a STOP
        block on the profile), 40305 (``from`` on another profile), 40010 (``sync``)."""
        sender, to, given = body["from"], body["to"], body.get("messaging_profile_id")
        self._check_profile(given, sender)
        profile = self.profile_of(sender, given)
        self._check_block(profile, sender, to)
        message = _Message(
            str(uuid.uuid4()), account, profile, body["type"], {"phone_number": sender}, to,
            body.get("text") or "", list(body.get("media_urls") or []), body.get("subject"),
            body.get("webhook_url"), body.get("webhook_failover_url"),
            body.get("use_profile_webhooks", True), self.clock(), self._sms_outcome(sender, to),
        )  # fmt: skip
        self.senders[sender] = profile
        return self._stored(message)

    def send_rcs(self, account: str, body: Json) -> _Message:
        """Accept ``POST /messages/rcs`` (a checked body): a handset in ``rcs_incapable`` gets
        the ``sms_fallback`` by SMS (events of ``type`` ``SMS``), else the ``rcs_refusal``."""
        profile, to, agent = body["messaging_profile_id"], body["to"], body["agent_id"]
        if agent not in self.rcs_agents:
            raise _bad_request("Unknown RCS agent.", pointer="/agent_id")
        fallback: Json | None = body.get("sms_fallback")
        self._check_profile(profile, fallback["from"] if fallback else None)
        self._check_block(profile, agent, to)
        kind, text = "RCS", body["agent_message"]["content_message"]["text"]
        sender: Json = {"agent_id": agent, "agent_name": "Test agent"}
        outcome = self.outcomes.get(to, Outcome())
        if to in self.rcs_incapable and fallback is None:
            outcome = self._refused_or(self.rcs_refusal, RCS_UNREACHABLE)
        elif fallback is not None and to in self.rcs_incapable:
            kind, text = "SMS", fallback["text"]
            sender = {"phone_number": fallback["from"]}
            outcome = self._sms_outcome(fallback["from"], to)
            self.senders[fallback["from"]] = profile
        message = _Message(
            str(uuid.uuid4()), account, profile, kind, sender, to, text, [], None,
            body.get("webhook_url"), None, True, self.clock(), outcome,
        )  # fmt: skip
        return self._stored(message)

    def _stored(self, message: _Message) -> _Message:
        self.messages[message.id] = message
        return message

    def _sms_outcome(self, sender: str, to: str) -> Outcome:
        if sender in self.unregistered:
            return self._refused_or(self.ten_dlc_refusal, UNREGISTERED_10DLC)
        return self.outcomes.get(to, Outcome())

    def _refused_or(self, mode: str, error: tuple[str, str]) -> Outcome:
        """Refuse now with ``error`` (``sync``: a 422), or fail later with it (``final``)."""
        if mode == "sync":
            raise _refusal(*error)
        return Outcome("sending_failed", *error)

    def _check_block(self, profile: str, sender: str, to: str) -> None:
        if (profile, to) in self.blocks:
            detail = (
                f"Messages cannot be sent from '{sender}' to '{to}' due to an existing block rule."
            )
            raise _refusal(*BLOCKED, detail)

    def get(self, account: str, message_id: str) -> _Message:
        found = self.messages.get(message_id)
        if found is None or found.account != account:
            raise _not_found("message")
        return found

    # ------------------------------------------------------------------ what happens next
    def settle(self, message: _Message) -> list[tuple[str, Json]]:
        """Move the message to its outcome; return its events in Telnyx's order, each with the
        payload as it stood then (``sending_failed``: no ``message.sent``)."""
        if message.settled:
            return []
        message.settled = True
        events = []
        if message.outcome.status != "sending_failed":
            message.status, message.sent_at = "sent", self.clock()
            events.append(("message.sent", self.message_json(message)))
        message.status, message.completed_at = message.outcome.status, self.clock()
        if message.outcome.status != "sending_failed":
            amount = Decimal(self.part_cost) * self.parts(message)
            message.cost = {"amount": f"{amount:.4f}", "currency": "USD"}
        events.append(("message.finalized", self.message_json(message)))
        return events

    def parts(self, message: _Message) -> int:
        return 1 if message.kind != "SMS" else segments(message.text)[0]

    def message_json(self, m: _Message) -> Json:
        """Return the ``OutboundMessagePayload`` (RCS: ``body.text``, no ``text``)."""
        final = m.status in FINAL_STATUSES
        payload: Json = {
            "id": m.id, "record_type": "message", "direction": "outbound", "type": m.kind,
            "messaging_profile_id": m.profile, "organization_id": _organization(m.account),
            "from": {**m.sender, "carrier": "Telnyx", "line_type": "Wireless"},
            "to": [{"phone_number": m.to, "status": m.status, "carrier": "T-Mobile USA",
                    "line_type": "Wireless"}],
            "cc": [], "parts": self.parts(m),
            "encoding": segments(m.text)[1] if m.kind == "SMS" else "UTF-8",
            "media": [{"url": url, "content_type": None, "sha256": None, "size": None}
                      for url in m.media_urls],
            "cost": m.cost, "received_at": _iso(m.created_at),
            "sent_at": _iso(m.sent_at) if m.sent_at else None,
            "completed_at": _iso(m.completed_at) if m.completed_at else None,
            "valid_until": _iso(m.created_at + timedelta(hours=4)),
            "errors": m.outcome.errors() if final else [], "tags": [],
            "webhook_url": m.webhook_url, "webhook_failover_url": m.failover_url,
            "wait_seconds": 0,
        }  # fmt: skip
        if m.kind == "RCS":
            payload["body"] = {"text": m.text}
        else:
            payload["text"], payload["subject"] = m.text, m.subject
        return payload

    # ------------------------------------------------------------------ inbound
    def receive(
        self, handset: str, ours: str, text: str, kind: str, media: Iterable[str], profile: str
    ) -> Json:
        """Apply an inbound text's keyword (SMS and MMS only: how Telnyx treats STOP over RCS
        is not known) and return its ``message.received`` payload."""
        word = keyword(text) if kind != "RCS" else None
        now = self.clock()
        if word == "STOP" and (profile, handset) not in self.blocks:
            self.blocks[(profile, handset)] = now
            self.optouts.append(
                {"from": handset, "to": ours, "keyword": " ".join(text.split()).lower(),
                 "messaging_profile_id": profile, "created_at": _iso(now)}
            )  # fmt: skip
        if word == "START":
            self.blocks.pop((profile, handset), None)
            self.optouts = [
                o for o in self.optouts
                if (o["messaging_profile_id"], o["from"]) != (profile, handset)
            ]  # fmt: skip
        if word is not None:
            self.autoreplies.append((ours, handset, word))
        payload = self._inbound_json(handset, ours, text, kind, list(media), profile, word)
        self.received.append(payload)
        return payload

    def _inbound_json(
        self, handset: str, ours: str, text: str, kind: str, media: list[str], profile: str,
        word: str | None,
    ) -> Json:  # fmt: skip
        payload: Json = {
            "id": str(uuid.uuid4()), "record_type": "message", "direction": "inbound",
            "type": kind, "messaging_profile_id": profile,
            "from": {"phone_number": handset, "carrier": "T-Mobile USA", "line_type": "Wireless"},
            "to": [{"phone_number": ours, "status": "webhook_delivered", "carrier": "Telnyx",
                    "line_type": "Wireless"}],
            "cc": [], "media": [{"url": url, "content_type": None, "hash_sha256": None,
                                 "size": None} for url in media],
            "parts": 1 if kind == "RCS" else segments(text)[0],
            "received_at": _iso(self.clock()), "sent_at": None, "completed_at": None,
            "cost": None, "errors": [], "tags": [], "is_spam": False,
            "autoresponse_type": word,
        }  # fmt: skip
        if kind == "RCS":
            payload["body"] = {"text": text}
        else:
            payload["text"] = text
        return payload

    def list_optouts(self, filters: Json) -> list[Json]:
        _allowed(filters, {"messaging_profile_id", "from"}, "filter")
        return [
            dict(o) for o in self.optouts
            if filters.get("messaging_profile_id") in (None, o["messaging_profile_id"])
            and filters.get("from") in (None, o["from"])
        ]  # fmt: skip


def _organization(account: str) -> str:
    """A stable organization id for an account (never the key itself)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"telnyx-account:{account}"))


# ----------------------------------------------------------------------------- the server
@dataclass
class _Planned:
    fault: Fault
    method: str | None
    path: str | None
    times: int
    to: str | None = None

    def matches(self, record: Recorded) -> bool:
        sent_to = record.json.get("to") if isinstance(record.json, dict) else None
        return (
            self.method in (None, record.method)
            and self.path in (None, record.path)
            and self.to in (None, sent_to)
        )


class FakeTelnyx:
    """The fake on the network: auth, recording, faults, deliveries; rules in :attr:`state`.

    Knobs: ``throttle_all`` (every request 429), ``ratelimit_reset`` (seconds in the 429's
    ``x-ratelimit-reset``), ``hang_seconds`` (how late a ``DONE_THEN_HANG`` answer comes),
    ``auto_complete`` and ``order_delay`` (orders settle by themselves after that many real
    seconds; off: :meth:`complete_order`), ``events_url`` and ``failover_url`` (where
    ``number_order.complete`` goes), ``stale_signatures`` (sign deliveries 400 s in the past),
    ``delivery_backoff`` (seconds before a delivery's second attempt, doubling).
    Messages: ``auto_deliver_messages`` and ``message_delay`` (a message's events follow by
    themselves after that many real seconds; off: :meth:`deliver_message`),
    ``finalized_first`` (``message.finalized`` before ``message.sent``), ``deliver_twice``
    (each event once more after its 200: same ``data.id``, next ``meta.attempt``),
    ``deliver_concurrently`` (a message's events at once), ``profile_webhooks`` (profile id →
    (webhook URL, failover URL); a profile not there uses ``events_url`` and
    ``failover_url``). The rules and their knobs are in :attr:`messaging`.
    Records: ``requests`` (:class:`Recorded`), ``deliveries`` (:class:`Delivery`).
    """

    def __init__(
        self, api_keys: Iterable[str], clock: Clock, inventory: Iterable[Offer] | None = None
    ) -> None:
        self.accounts: set[str] = set(api_keys)
        self.state = TelnyxState(clock, inventory if inventory is not None else default_inventory())
        self.throttle_all = False
        self.ratelimit_reset = 0
        self.hang_seconds = 30.0
        self.auto_complete = True
        self.order_delay = 0.05
        self.events_url: str | None = None
        self.failover_url: str | None = None
        self.stale_signatures = False
        self.delivery_backoff = 0.05
        self.messaging = MessagingState(self.state)
        self.auto_deliver_messages = True
        self.message_delay = 0.02
        self.finalized_first = False
        self.deliver_twice = False
        self.deliver_concurrently = False
        self.profile_webhooks: dict[str, tuple[str | None, str | None]] = {}
        self.requests: list[Recorded] = []
        self.deliveries: list[Delivery] = []
        self.url = ""
        self._faults: list[_Planned] = []
        self._signing_key = Ed25519PrivateKey.generate()
        self._tasks: set[asyncio.Task[None]] = set()
        self._released = asyncio.Event()
        self._delivered = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None

    # ------------------------------------------------------------------ knobs and queries
    def add_account(self, api_key: str) -> None:
        """Accept another API key: another account on the same inventory."""
        self.accounts.add(api_key)

    def fail_next(
        self,
        fault: Fault,
        *,
        method: str | None = None,
        path: str | None = None,
        times: int = 1,
        to: str | None = None,
    ) -> None:
        """Apply ``fault`` to the next ``times`` requests matching ``method``, ``path`` (without
        ``/v2``) and ``to`` (the body's, e.g. a message's recipient); None matches any."""
        self._faults.append(_Planned(fault, method, path, times, to))

    def requests_to(self, method: str, path: str | None = None) -> list[Recorded]:
        """Return the recorded requests with this method (and path, without ``/v2``)."""
        return [r for r in self.requests if r.method == method and path in (None, r.path)]

    @property
    def public_key(self) -> str:
        """The base64 of the 32-byte Ed25519 public key the fake signs webhooks with."""
        raw = self._signing_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return base64.b64encode(raw).decode()

    def sign(
        self, body: bytes, *, stale: bool = False, timestamp: int | None = None
    ) -> dict[str, str]:
        """Return the Telnyx signature headers for ``body`` (``stale``: 400 s in the past)."""
        moment = timestamp if timestamp is not None else int(self.state.clock().timestamp())
        moment -= 400 if stale else 0
        signature = self._signing_key.sign(f"{moment}|".encode() + body)
        return {
            "telnyx-signature-ed25519": base64.b64encode(signature).decode(),
            "telnyx-timestamp": str(moment),
        }

    def event_body(
        self,
        event_type: str,
        payload: Json,
        *,
        event_id: str | None = None,
        attempt: int = 1,
        url: str = "",
    ) -> bytes:
        """Return a webhook body as Telnyx builds one (``data``, ``meta``), as bytes.

        Every attempt of one event carries the same ``data.id`` (default: a new UUID).
        """
        event = {
            "data": {
                "id": event_id or str(uuid.uuid4()), "event_type": event_type,
                "occurred_at": _iso(self.state.clock()), "record_type": "event",
                "payload": payload,
            },
            "meta": {"attempt": attempt, "delivered_to": url},
        }  # fmt: skip
        return json.dumps(event).encode()

    async def complete_order(self, order_id: str) -> Json:
        """Settle a pending order now and deliver its ``number_order.complete`` event."""
        order = self.state.complete(order_id)
        await self._deliver_event("number_order.complete", order)
        return order

    async def wait_for_deliveries(self, count: int, within: float = 5.0) -> list[Delivery]:
        """Wait until at least ``count`` webhook attempts were made; return them all."""
        async with asyncio.timeout(within), self._delivered:
            await self._delivered.wait_for(lambda: len(self.deliveries) >= count)
        return list(self.deliveries)

    # ------------------------------------------------------------------ messages
    def set_profile_webhook(
        self, profile_id: str, url: str | None, failover_url: str | None = None
    ) -> None:
        """Set a messaging profile's webhook URLs (the profile becomes known); as
        ``PATCH /messaging_profiles/{id}`` does."""
        self.state.messaging_profiles.add(profile_id)
        self.profile_webhooks[profile_id] = (url, failover_url)

    def set_outcome(
        self, number: str, status: str = "delivered", code: str | None = None,
        title: str | None = None,
    ) -> None:  # fmt: skip
        """Make messages to ``number`` end ``status`` (``delivered``, ``delivery_failed``,
        ``delivery_unconfirmed``, ``sending_failed``, ``expired``) with ``errors[0]``
        ``code`` and ``title`` (default: :data:`DEFAULT_ERRORS`)."""
        self.messaging.outcomes[number] = Outcome(status, code, title)

    def message(self, message_id: str) -> Json:
        """Return a message as ``GET /messages/{id}`` shows it now."""
        return self.messaging.message_json(self.messaging.messages[message_id])

    def sends_to(self, number: str) -> list[Recorded]:
        """Return the ``POST /messages`` and ``/messages/rcs`` requests to ``number``."""
        return [
            r for r in self.requests
            if r.method == "POST" and r.path in ("/messages", "/messages/rcs")
            and isinstance(r.json, dict) and r.json.get("to") == number
        ]  # fmt: skip

    def deliver_later(self, message_id: str) -> None:
        """Deliver a new message's events after ``message_delay`` (when
        ``auto_deliver_messages``)."""
        if self.auto_deliver_messages:
            self._spawn(self._deliver_after(message_id))

    async def _deliver_after(self, message_id: str) -> None:
        await asyncio.sleep(self.message_delay)
        await self.deliver_message(message_id)

    async def deliver_message(self, message_id: str) -> None:
        """Settle a message now and deliver its events (once; again: nothing), to its
        ``webhook_url``, its ``webhook_failover_url``, then its profile's URLs, in the order
        and manner the switches say."""
        message = self.messaging.messages[message_id]
        events = self.messaging.settle(message)
        if self.finalized_first:
            events.reverse()
        urls = [message.webhook_url, message.failover_url]
        if message.use_profile_webhooks:
            urls += self._profile_urls(message.profile)
        sends = [self._deliver_event(t, p, urls, twice=self.deliver_twice) for t, p in events]
        if self.deliver_concurrently:
            await asyncio.gather(*sends)
            return
        for send in sends:
            await send

    async def receive_text(
        self,
        from_number: str,
        to_number: str,
        text: str,
        *,
        kind: str = "SMS",
        media_urls: Iterable[str] = (),
        profile: str | None = None,
    ) -> Json:
        """Inject a text a handset sends to our number and deliver its signed
        ``message.received`` to the profile's webhook (``profile``: default the number's,
        see :meth:`MessagingState.profile_of`); return the payload once delivered.

        STOP words create the profile-wide block (later sends to the handset: 40300),
        START words lift it, HELP is answered; each sets ``autoresponse_type``.
        """
        profile = self.messaging.profile_of(to_number, profile)
        payload = self.messaging.receive(from_number, to_number, text, kind, media_urls, profile)
        await self._deliver_event("message.received", payload, self._profile_urls(profile))
        return payload

    def _profile_urls(self, profile: str) -> list[str | None]:
        return list(self.profile_webhooks.get(profile, (self.events_url, self.failover_url)))

    # ------------------------------------------------------------------ lifetime
    async def start(self) -> None:
        """Listen on 127.0.0.1 (a free port); set :attr:`url` (ending in ``/v2``)."""
        app = web.Application(middlewares=[self._middleware])
        _number_routes(app, self)
        _message_routes(app, self)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/v2"
        self._client = aiohttp.ClientSession()

    async def close(self) -> None:
        """Release hanging answers, stop pending work, close everything."""
        self._released.set()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # ------------------------------------------------------------------ the HTTP skin
    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Record, authenticate, throttle, inject faults, render refusals (the test-only
        control routes are neither recorded nor authenticated)."""
        if request.path.startswith(CONTROL):
            try:
                return await handler(request)  # type: ignore[no-any-return]
            except TelnyxError as error:
                return web.json_response(error.body(), status=error.status)
        record = await _record(request)
        self.requests.append(record)
        planned = self._planned(record)
        try:
            response = await self._answer(request, handler, record, planned)
        except TelnyxError as error:
            response = web.json_response(error.body(), status=error.status)
        record.status = response.status
        return await self._after(request, response, record, planned)

    async def _answer(
        self, request: web.Request, handler: Any, record: Recorded, planned: Fault | None
    ) -> web.StreamResponse:
        if record.api_key not in self.accounts:
            raise TelnyxError(
                401, "10009", "Authentication failed",
                "Could not understand the provided credentials.",
            )  # fmt: skip
        if self.throttle_all or planned is Fault.THROTTLE:
            return self._throttled()
        if planned is Fault.ERROR_500:
            raise TelnyxError(500, "10007", "Unexpected error")
        if planned is Fault.FORGET_SEARCHES:
            self.state.seen.pop(record.api_key or "", None)
        if not request.path.startswith("/v2/") or request.match_info.http_exception is not None:
            raise _not_found("resource")
        return await handler(request)  # type: ignore[no-any-return]

    async def _after(
        self, request: web.Request, response: web.StreamResponse, record: Recorded,
        planned: Fault | None,
    ) -> web.StreamResponse:  # fmt: skip
        """Lose the answer of work done, as ``planned`` says."""
        if planned is Fault.DONE_THEN_500 and record.status is not None and record.status < 300:
            record.status = 500
            return web.json_response(
                TelnyxError(500, "10007", "Unexpected error").body(), status=500
            )
        if planned is Fault.DONE_THEN_DROP and request.transport is not None:
            record.status = None
            request.transport.close()
        if planned is Fault.DONE_THEN_HANG:
            record.status = None
            with suppress(TimeoutError):
                await asyncio.wait_for(self._released.wait(), self.hang_seconds)
        return response

    def _throttled(self) -> web.Response:
        body = TelnyxError(429, "10011", "Too many requests").body()
        headers = {
            "x-ratelimit-limit": "100", "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": str(self.ratelimit_reset),
        }  # fmt: skip
        return web.json_response(body, status=429, headers=headers)

    def _planned(self, record: Recorded) -> Fault | None:
        if record.path.startswith(CONTROL):
            return None
        for planned in self._faults:
            if planned.matches(record):
                planned.times -= 1
                if planned.times <= 0:
                    self._faults.remove(planned)
                return planned.fault
        return None

    def account(self, request: web.Request) -> str:
        """The API key (account) of an authenticated request."""
        return _bearer(request) or ""

    # ------------------------------------------------------------------ deliveries
    def settle_later(self, order: Json) -> None:
        """Settle a new order after ``order_delay`` (when ``auto_complete``)."""
        if self.auto_complete:
            self._spawn(self._settle_after(order["id"]))

    async def _settle_after(self, order_id: str) -> None:
        await asyncio.sleep(self.order_delay)
        await self.complete_order(order_id)

    async def _deliver_event(
        self,
        event_type: str,
        payload: Json,
        urls: Iterable[str | None] | None = None,
        *,
        twice: bool = False,
    ) -> None:
        """POST a signed event: 3 attempts at each of ``urls`` in turn (default:
        ``events_url``, then ``failover_url``) until one is answered 200; ``twice``: that URL
        gets it once more (same ``data.id``, the next ``meta.attempt``)."""
        event_id, attempt = str(uuid.uuid4()), 0
        targets = (self.events_url, self.failover_url) if urls is None else urls
        for url in targets:
            for _ in range(3):
                if url is None:
                    break
                attempt += 1
                body = self.event_body(
                    event_type, payload, event_id=event_id, attempt=attempt, url=url
                )
                if await self._attempt(url, body, attempt):
                    if twice:
                        again = self.event_body(
                            event_type, payload, event_id=event_id, attempt=attempt + 1, url=url
                        )
                        await self._attempt(url, again, attempt + 1)
                    return
                await asyncio.sleep(self.delivery_backoff * 2 ** (attempt - 1))

    async def _attempt(self, url: str, body: bytes, attempt: int) -> bool:
        """POST one signed attempt; only a 200 counts."""
        headers = {
            "Content-Type": "application/json",
            **self.sign(body, stale=self.stale_signatures),
        }
        status: int | None = None
        assert self._client is not None
        try:
            timeout = aiohttp.ClientTimeout(total=2.0)
            async with self._client.post(url, data=body, headers=headers, timeout=timeout) as r:
                status = r.status
        except (TimeoutError, aiohttp.ClientError):
            status = None
        async with self._delivered:
            self.deliveries.append(Delivery(url, body, headers, status, attempt))
            self._delivered.notify_all()
        return status == 200  # Telnyx counts any other answer as a failure (75299)

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme == "Bearer" else None


async def _record(request: web.Request) -> Recorded:
    text = await request.text() if request.can_read_body else ""
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = text
    path = request.path.removeprefix("/v2")
    query = {key: value for key, value in request.query.items()}
    return Recorded(request.method, path, query, body, _bearer(request))


# ----------------------------------------------------------------------------- handlers
Route = Callable[[FakeTelnyx, web.Request, str], Awaitable[Json]]
"""A handler: the fake, the request and its account (API key); returns the JSON answer."""


async def _search(fake: FakeTelnyx, request: web.Request, account: str) -> Json:
    query = _query(request, {"filter"})
    found = fake.state.search(account, query.get("filter") or {})
    near = sum(1 for item in found if item["best_effort"])
    meta = {"total_results": len(found), "best_effort_results": near}
    return {"data": found, "meta": meta, "metadata": meta}


async def _reserve(fake: FakeTelnyx, request: web.Request, account: str) -> Json:
    body = _strict(await _json(request), {"phone_numbers", "customer_reference"})
    _optional_text(body, "customer_reference")
    numbers = _phone_items(body, {"phone_number"})
    return {"data": fake.state.reserve(account, numbers, body.get("customer_reference"))}


async def _list_reservations(fake: FakeTelnyx, request: web.Request, account: str) -> Json:
    query = _query(request, {"filter", "page"})
    items = fake.state.list_reservations(account, query.get("filter") or {})
    return _page(items, query.get("page") or {})


async def _get_reservation(fake: FakeTelnyx, request: web.Request, account: str) -> Json:
    _query(request, set())
    found = fake.state.reservation(account, request.match_info["id"], poll=True)
    return {"data": found}


async def _extend(fake: FakeTelnyx, request: web.Request, account: str) -> Json:
    if await request.text() not in ("", "{}", "null"):
        raise _bad_request("The extend action takes no body.", pointer="/")
    return {"data": fake.state.extend(account, request.match_info["id"])}


ORDER_FIELDS = frozenset(
    {"phone_numbers", "connection_id", "messaging_profile_id", "billing_group_id",
     "customer_reference"}
)  # fmt: skip


async def _order(fake: FakeTelnyx, request: web.Request, account: str) -> Json:
    body = _strict(await _json(request), ORDER_FIELDS)
    for name in ORDER_FIELDS - {"phone_numbers"}:
        _optional_text(body, name)
    _phone_items(body, {"phone_number", "bundle_id", "requirement_group_id"})
    created = fake.state.order(account, body)
    fake.settle_later(created)
    return {"data": created}


async def _list_orders(fake: FakeTelnyx, request: web.Request, account: str) -> Json:
    query = _query(request, {"filter", "page"})
    items = fake.state.list_orders(account, query.get("filter") or {})
    return _page(items, query.get("page") or {})


async def _get_order(fake: FakeTelnyx, request: web.Request, account: str) -> Json:
    _query(request, set())
    return {"data": fake.state.get_order(account, request.match_info["id"])}


async def _list_numbers(fake: FakeTelnyx, request: web.Request, account: str) -> Json:
    query = _query(request, {"filter", "page"})
    items = fake.state.phone_numbers(account, query.get("filter") or {})
    return _page(items, query.get("page") or {})


async def _delete_number(fake: FakeTelnyx, request: web.Request, account: str) -> Json:
    return {"data": fake.state.delete_number(account, request.match_info["id"])}


NUMBER_ROUTES: tuple[tuple[str, str, Route], ...] = (
    ("GET", "/available_phone_numbers", _search),
    ("POST", "/number_reservations", _reserve),
    ("GET", "/number_reservations", _list_reservations),
    ("GET", "/number_reservations/{id}", _get_reservation),
    ("POST", "/number_reservations/{id}/actions/extend", _extend),
    ("POST", "/number_orders", _order),
    ("GET", "/number_orders", _list_orders),
    ("GET", "/number_orders/{id}", _get_order),
    ("GET", "/phone_numbers", _list_numbers),
    ("DELETE", "/phone_numbers/{id}", _delete_number),
)
"""The numbers endpoints (paths under ``/v2``); messages have :data:`MESSAGE_ROUTES`."""


def _number_routes(app: web.Application, fake: FakeTelnyx) -> None:
    """Register :data:`NUMBER_ROUTES` on ``app`` for ``fake``."""
    for method, path, route in NUMBER_ROUTES:
        app.router.add_route(method, "/v2" + path, _serving(fake, route))


# ----------------------------------------------------------------------------- message handlers
SMS_FIELDS = frozenset(
    {"from", "to", "text", "type", "media_urls", "subject", "messaging_profile_id",
     "webhook_url", "webhook_failover_url", "use_profile_webhooks"}
)  # fmt: skip
"""What ``POST /messages`` takes here (Telnyx has more: ``send_at``, ``encoding``, … are 400s)."""
RCS_FIELDS = frozenset(
    {"agent_id", "to", "messaging_profile_id", "agent_message", "type", "webhook_url",
     "sms_fallback"}
)  # fmt: skip
"""What ``POST /messages/rcs`` takes here (``content_message`` holds only ``text``)."""
PROFILE_FIELDS = frozenset({"webhook_url", "webhook_failover_url", "webhook_api_version"})
INBOUND_FIELDS = frozenset({"from", "to", "text", "type", "media_urls", "messaging_profile_id"})


def _number(body: Json, name: str, prefix: str = "") -> str:
    """Return the required E.164 ``name`` (10004 missing, 10016 malformed)."""
    if name not in body:
        raise TelnyxError(
            400, "10004", "Missing required parameter", f"{name} is required.",
            pointer=f"{prefix}/{name}",
        )  # fmt: skip
    value = body[name]
    if not isinstance(value, str) or not E164.match(value):
        raise TelnyxError(400, "10016", "Phone number must be +E.164", pointer=f"{prefix}/{name}")
    return value


def _required_text(body: Json, name: str, prefix: str = "", *, limit: int | None = None) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise TelnyxError(
            400, "10004", "Missing required parameter", f"{name} is required.",
            pointer=f"{prefix}/{name}",
        )  # fmt: skip
    if limit is not None and len(value) > limit:
        raise _bad_request(f"{name} is longer than {limit}.", pointer=f"{prefix}/{name}")
    return value


def _url(value: object, pointer: str) -> None:
    """Refuse anything but an http(s) URL of at most 2000 characters (10003)."""
    ok = isinstance(value, str) and value.startswith(("http://", "https://"))
    if not ok or len(str(value)) > MAX_URL:
        raise TelnyxError(400, "10003", "Invalid URL", "An http(s) URL of ≤ 2000.", pointer=pointer)


def _optional_urls(body: Json, names: Iterable[str]) -> None:
    for name in names:
        if body.get(name) is not None:
            _url(body[name], f"/{name}")


def _message_type(body: Json) -> str:
    """Return ``SMS`` or ``MMS`` (by ``type``, else by ``media_urls``); check what it needs."""
    kind, media = body.get("type"), body.get("media_urls")
    if kind not in (None, "SMS", "MMS"):
        raise _bad_request("type must be SMS or MMS.", pointer="/type")
    if media is not None and not isinstance(media, list):
        raise _bad_request("media_urls must be a list.", pointer="/media_urls")
    kind = kind or ("MMS" if media else "SMS")
    if kind == "SMS" and media is not None:
        raise _bad_request("media_urls needs type MMS.", pointer="/media_urls")
    if kind == "SMS":
        _required_text(body, "text")
        return kind
    if not media:
        raise TelnyxError(400, "10004", "Missing required parameter", pointer="/media_urls")
    if len(media) > MAX_MMS_MEDIA:
        raise _refusal("40317", "Invalid MMS content", "At most 10 media URLs.")
    for index, url in enumerate(media):
        _url(url, f"/media_urls/{index}")
    return kind


async def _send_message(fake: FakeTelnyx, request: web.Request, account: str) -> Json:
    body = _strict(await _json(request), SMS_FIELDS)
    _number(body, "to")
    _number(body, "from")
    for name in ("text", "subject", "messaging_profile_id"):
        _optional_text(body, name)
    _optional_urls(body, ("webhook_url", "webhook_failover_url"))
    if not isinstance(body.get("use_profile_webhooks", True), bool):
        raise _bad_request(
            "use_profile_webhooks must be a boolean.", pointer="/use_profile_webhooks"
        )
    message = fake.messaging.send_sms(account, {**body, "type": _message_type(body)})
    fake.deliver_later(message.id)
    return {"data": fake.messaging.message_json(message)}


async def _send_rcs(fake: FakeTelnyx, request: web.Request, account: str) -> Json:
    body = _strict(await _json(request), RCS_FIELDS)
    _number(body, "to")
    _required_text(body, "agent_id")
    _required_text(body, "messaging_profile_id")
    if body.get("type", "RCS") != "RCS":
        raise _bad_request("type must be RCS.", pointer="/type")
    _optional_urls(body, ("webhook_url",))
    agent_message = _strict(body.get("agent_message"), {"content_message"}, "/agent_message")
    where = "/agent_message/content_message"
    content = _strict(agent_message.get("content_message"), {"text"}, where)
    _required_text(content, "text", where, limit=MAX_RCS_TEXT)
    if body.get("sms_fallback") is not None:
        fallback = _strict(body["sms_fallback"], {"from", "text"}, "/sms_fallback")
        _number(fallback, "from", "/sms_fallback")
        _required_text(fallback, "text", "/sms_fallback")
    message = fake.messaging.send_rcs(account, body)
    fake.deliver_later(message.id)
    return {"data": fake.messaging.message_json(message)}


async def _get_message(fake: FakeTelnyx, request: web.Request, account: str) -> Json:
    _query(request, set())
    found = fake.messaging.get(account, request.match_info["id"])
    return {"data": fake.messaging.message_json(found)}


async def _list_optouts(fake: FakeTelnyx, request: web.Request, account: str) -> Json:
    query = _query(request, {"filter", "page"})
    return _page(fake.messaging.list_optouts(query.get("filter") or {}), query.get("page") or {})


async def _update_profile(fake: FakeTelnyx, request: web.Request, account: str) -> Json:
    body = _strict(await _json(request), PROFILE_FIELDS)
    profile = request.match_info["id"]
    if profile not in fake.state.messaging_profiles:
        raise _not_found("messaging profile")
    for name in ("webhook_url", "webhook_failover_url"):
        if body.get(name) is not None:
            _url(body[name], f"/{name}")
    if body.get("webhook_api_version", "2") not in ("1", "2", "2010-04-01"):
        raise _bad_request("Unknown webhook_api_version.", pointer="/webhook_api_version")
    url, failover = fake.profile_webhooks.get(profile, (None, None))
    url, failover = body.get("webhook_url", url), body.get("webhook_failover_url", failover)
    fake.set_profile_webhook(profile, url, failover)
    return {
        "data": {"id": profile, "record_type": "messaging_profile", "webhook_url": url,
                 "webhook_failover_url": failover, "webhook_api_version": "2"}
    }  # fmt: skip


async def _inject_inbound(fake: FakeTelnyx, request: web.Request, account: str) -> Json:
    """The test-only route: a handset texts our number (:meth:`FakeTelnyx.receive_text`)."""
    body = _strict(await _json(request), INBOUND_FIELDS)
    text, kind, media = body.get("text", ""), body.get("type", "SMS"), body.get("media_urls", [])
    if not isinstance(text, str) or kind not in ("SMS", "MMS", "RCS"):
        raise _bad_request("text must be a string and type SMS, MMS or RCS.", pointer="/")
    if not isinstance(media, list) or not all(isinstance(url, str) for url in media):
        raise _bad_request("media_urls must be a list of URLs.", pointer="/media_urls")
    _optional_text(body, "messaging_profile_id")
    payload = await fake.receive_text(
        _number(body, "from"), _number(body, "to"), text, kind=kind, media_urls=media,
        profile=body.get("messaging_profile_id"),
    )  # fmt: skip
    return {"data": payload}


MESSAGE_ROUTES: tuple[tuple[str, str, Route], ...] = (
    ("POST", "/messages", _send_message),
    ("POST", "/messages/rcs", _send_rcs),
    ("GET", "/messages/{id}", _get_message),
    ("GET", "/messaging_optouts", _list_optouts),
    ("PATCH", "/messaging_profiles/{id}", _update_profile),
)
"""The messaging endpoints (paths under ``/v2``)."""
CONTROL = "/_test/"
CONTROL_ROUTES: tuple[tuple[str, str, Route], ...] = (
    ("POST", "/_test/inbound_messages", _inject_inbound),
)
"""Test-only routes (no ``/v2``, no auth, not recorded)."""


def _message_routes(app: web.Application, fake: FakeTelnyx) -> None:
    """Register :data:`MESSAGE_ROUTES` (under ``/v2``) and :data:`CONTROL_ROUTES`."""
    for method, path, route in MESSAGE_ROUTES:
        app.router.add_route(method, "/v2" + path, _serving(fake, route))
    for method, path, route in CONTROL_ROUTES:
        app.router.add_route(method, path, _serving(fake, route))


def _serving(fake: FakeTelnyx, route: Route) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def serve(request: web.Request) -> web.Response:
        return web.json_response(await route(fake, request, fake.account(request)))

    return serve


def _query(request: web.Request, allowed: set[str]) -> Json:
    """Return the request's query in deepObject form, refusing unknown top-level names."""
    parsed = parse_deep(request.query.items())
    _allowed(parsed, allowed, "")
    for name, value in parsed.items():
        if not isinstance(value, dict):
            raise _bad_request(f"{name} must be a deepObject.", parameter=name)
    return parsed


async def _json(request: web.Request) -> object:
    try:
        return await request.json()
    except ValueError as exc:
        raise _bad_request("The body is not JSON.", pointer="/") from exc


async def start_fake_telnyx(
    *,
    api_keys: Iterable[str] = (DEFAULT_KEY,),
    clock: Clock | None = None,
    inventory: Iterable[Offer] | None = None,
    **knobs: Any,
) -> FakeTelnyx:
    """Start a :class:`FakeTelnyx`; ``knobs`` set its public attributes or its state's.

    ``clock`` is a callable returning an aware datetime (default: the real time).
    """
    fake = FakeTelnyx(api_keys, clock or (lambda: datetime.now(UTC)), inventory)
    for name, value in knobs.items():
        owners = (fake, fake.state, fake.messaging)
        target = next((o for o in owners if hasattr(o, name)), fake.state)
        if name.startswith("_") or not hasattr(target, name):
            raise TypeError(f"FakeTelnyx has no knob {name!r}")
        setattr(target, name, value)
    await fake.start()
    return fake
