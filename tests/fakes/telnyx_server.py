"""A strict fake Telnyx API v2 on 127.0.0.1: the numbers half (``telephony-facts.md`` §12).

Serves, under ``/v2``: ``GET /available_phone_numbers``; ``POST``/``GET /number_reservations``,
``GET /number_reservations/{id}``, ``POST /number_reservations/{id}/actions/extend``;
``POST``/``GET /number_orders``, ``GET /number_orders/{id}``; ``GET /phone_numbers`` and
``DELETE /phone_numbers/{id}``. Messages are not served yet: their routes and state go beside
:class:`TelnyxState`'s numbers part and :func:`_number_routes`.

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
- **Faults**: :meth:`FakeTelnyx.fail_next` (429 or 500 before the work, or the work done and
  then a 500, a dropped connection or an answer later than the client waits; or the
  account's searches forgotten, so the request meets 85000) and the ``throttle_all`` switch
  (429 with ``x-ratelimit-*`` headers).

Every request is in :attr:`FakeTelnyx.requests` (:class:`Recorded`: method, path without
``/v2``, the flat query, the JSON body, the key and the status answered).

Usage::

    telnyx = await start_fake_telnyx(api_keys=("key-1",), clock=clock.now)
    try:
        settings = CarrierSettings("telnyx", "key-1", telnyx.public_key, "mp-1", telnyx.url)
        ...
        assert [r.path for r in telnyx.requests_to("POST")] == ["/number_orders"]
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
from enum import StrEnum
from typing import Any

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = [
    "DEFAULT_KEY",
    "DEFAULT_PROFILE",
    "Delivery",
    "FakeTelnyx",
    "Fault",
    "Offer",
    "Recorded",
    "TelnyxError",
    "TelnyxState",
    "default_inventory",
    "parse_deep",
    "start_fake_telnyx",
]

Json = dict[str, Any]
Clock = Callable[[], datetime]

DEFAULT_KEY = "telnyx-test-key"
DEFAULT_PROFILE = "mp-test-profile"
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


# ----------------------------------------------------------------------------- the server
@dataclass
class _Planned:
    fault: Fault
    method: str | None
    path: str | None
    times: int


class FakeTelnyx:
    """The fake on the network: auth, recording, faults, deliveries; rules in :attr:`state`.

    Knobs: ``throttle_all`` (every request 429), ``ratelimit_reset`` (seconds in the 429's
    ``x-ratelimit-reset``), ``hang_seconds`` (how late a ``DONE_THEN_HANG`` answer comes),
    ``auto_complete`` and ``order_delay`` (orders settle by themselves after that many real
    seconds; off: :meth:`complete_order`), ``events_url`` and ``failover_url`` (where
    ``number_order.complete`` goes), ``stale_signatures`` (sign deliveries 400 s in the past),
    ``delivery_backoff`` (seconds before a delivery's second attempt, doubling).
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
        self, fault: Fault, *, method: str | None = None, path: str | None = None, times: int = 1
    ) -> None:
        """Apply ``fault`` to the next ``times`` requests matching ``method`` and ``path``
        (a path without ``/v2``; None matches any)."""
        self._faults.append(_Planned(fault, method, path, times))

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

    # ------------------------------------------------------------------ lifetime
    async def start(self) -> None:
        """Listen on 127.0.0.1 (a free port); set :attr:`url` (ending in ``/v2``)."""
        app = web.Application(middlewares=[self._middleware])
        _number_routes(app, self)
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
        """Record, authenticate, throttle, inject faults, render refusals."""
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
        for planned in self._faults:
            if planned.method in (None, record.method) and planned.path in (None, record.path):
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

    async def _deliver_event(self, event_type: str, payload: Json) -> None:
        """POST a signed event: 3 attempts at ``events_url``, then 3 at ``failover_url``."""
        event_id, attempt = str(uuid.uuid4()), 0
        for url in (self.events_url, self.failover_url):
            for _ in range(3):
                if url is None:
                    break
                attempt += 1
                body = self.event_body(
                    event_type, payload, event_id=event_id, attempt=attempt, url=url
                )
                if await self._attempt(url, body, attempt):
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
"""The numbers endpoints (paths under ``/v2``); messages will get a table of their own."""


def _number_routes(app: web.Application, fake: FakeTelnyx) -> None:
    """Register :data:`NUMBER_ROUTES` on ``app`` for ``fake``."""
    for method, path, route in NUMBER_ROUTES:
        app.router.add_route(method, "/v2" + path, _serving(fake, route))


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
        target = fake if hasattr(fake, name) else fake.state
        if name.startswith("_") or not hasattr(target, name):
            raise TypeError(f"FakeTelnyx has no knob {name!r}")
        setattr(target, name, value)
    await fake.start()
    return fake
