"""Numbers end to end (``telephony.md`` §2, "Done when" items 1–9 and 12–14): real servers on
loopback, run twice — on the simulated carrier, and on the strict fake Telnyx with the fake Vapi.

One platform per test: REST with the provider routes, the dispatcher, the webhook deliverer and
the number provisioner (``Runtime(dispatch=True)``), on a clock that follows real time plus an
offset a test moves forward (30 minutes pass at once; the fake Telnyx reads the same clock).
Three organizations, each with a Vapi account (the fake's) and a user with a key:

- ``alpha`` has a default Vapi line (``pn_default``) to fall back on;
- ``bravo`` has no line and, on the fake, a Telnyx account of its own;
- ``charlie`` has no line and shares ``alpha``'s Telnyx account. Telnyx has no release call
  and keeps a reservation after a failed order or a deleted number until it lapses, so only
  an organization on the same account can take such a number at once (item 7).

The simulated carrier keeps no state, so it is wrapped in :class:`CountingCarrier` to count the
reservations and orders it saw; the fake Telnyx records every request itself.

Past the house's 400 lines: the harness (clock, stack, webhook receiver) serves these items
and ``test_numbers_crash.py``, and the items read best beside it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from fakes.telnyx_server import DEFAULT_PROFILE, FakeTelnyx, start_fake_telnyx
from fakes.vapi_server import FakeVapi, start_fake_vapi
from support.platform import settings_for

from dialcues_core import Dialcues
from dialcues_core.runtime import Runtime
from dialcues_rest.app import create_app, start_rest
from dialcues_rest.provider_events import add_provider_routes
from e2e.support import BASE, free_port

pytestmark = pytest.mark.slow

KEY_A = "telnyx-key-alpha"
KEY_B = "telnyx-key-bravo"
CREDENTIAL = str(uuid.UUID(int=42))
"""The Vapi credential holding the organizations' Telnyx key (``telnyx_credential_id``)."""
DEFAULT_LINE = "pn_default"
NUMBER_EVENTS = ["number.assigned", "number.assign_failed", "number.released"]

N = "+1415555"
"""Numbers both carriers sell: the fake's inventory is ``+1 415 555-0100…0119`` (and 312, 212)."""
VOICE_ONLY = {"simulated": "+14152009904", "telnyx": "+14155550104"}
FAILING_ORDER = {"simulated": "+14152009902", "telnyx": "+14155550105"}
REFUSED_HOLD = "+14152009901"
"""The simulated carrier refuses to hold a number ending 9901."""


# ----------------------------------------------------------------------------- the clock
class JumpClock:
    """Real time plus an offset that only grows: a test makes 30 minutes pass at once."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> datetime:
        """The real time, moved on by the offset."""
        return datetime.now(UTC) + timedelta(seconds=self.offset)

    def monotonic(self) -> float:
        """Real monotonic seconds, moved on by the offset."""
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass at once."""
        self.offset += seconds


# ----------------------------------------------------------------------------- counting
class CountingCarrier:
    """The simulated carrier, counting what it was asked (it keeps no state of its own)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        found = getattr(self.inner, name)
        if name not in ("reserve", "order", "release", "extend"):
            return found

        async def counted(*args: Any) -> Any:
            self.calls[name] += 1
            return await found(*args)

        return counted


# ----------------------------------------------------------------------------- webhooks
@dataclass
class Receiver:
    """Receives the platform's webhook deliveries on loopback (every attempt answered 200)."""

    events: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        """Keep one delivery."""
        self.events.append(await request.json())
        return web.Response(status=200)

    def of(self, kind: str, number: str) -> list[dict[str, Any]]:
        """The delivered events of ``kind`` about ``number``."""
        return [e for e in self.events if e["type"] == kind and e["data"]["number"] == number]


@asynccontextmanager
async def receiving() -> AsyncIterator[Receiver]:
    """Serve a :class:`Receiver` until the block ends."""
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    receiver.url = f"http://{host}:{port}/hook"
    try:
        yield receiver
    finally:
        await runner.cleanup()


# ----------------------------------------------------------------------------- the stack
@dataclass(frozen=True)
class Reply:
    """One API answer: status, decoded JSON (None when empty) and headers."""

    status: int
    body: Any
    headers: dict[str, str]

    @property
    def code(self) -> str | None:
        """The error code of a problem answer."""
        return (
            self.body["error"]["code"]
            if isinstance(self.body, dict) and "error" in self.body
            else None
        )


@dataclass
class Org:
    """One organization of the stack, as its user's API key sees it."""

    id: str
    user_id: str
    key: str


@dataclass
class NumberStack:
    """A running platform with three organizations, the fakes and an HTTP session."""

    carrier: str
    dc: Dialcues
    clock: JumpClock
    vapi: FakeVapi
    telnyx: FakeTelnyx | None
    counting: CountingCarrier
    root: str
    session: aiohttp.ClientSession
    orgs: dict[str, Org]
    default_line: str

    async def call(
        self,
        org: str,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        """Send one request as ``org``'s user; return the answer."""
        sent = {"Authorization": f"Bearer {self.orgs[org].key}", **(headers or {})}
        async with self.session.request(
            method, f"{self.root}{BASE}{path}", json=body, headers=sent
        ) as answer:
            text = await answer.text()
            decoded = await answer.json() if text else None
            return Reply(answer.status, decoded, dict(answer.headers))

    async def hold(self, org: str, number: str) -> Reply:
        """``POST /numbers/hold``."""
        return await self.call(org, "POST", "/numbers/hold", {"number": number})

    async def wait_for(self, check: Callable[[], Any], within: float = 15.0) -> Any:
        """Poll ``check`` (sync or async) until it returns something truthy."""
        deadline = time.monotonic() + within
        while True:
            found = check()
            if asyncio.iscoroutine(found):
                found = await found
            if found:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met within {within} s")
            await asyncio.sleep(0.1)

    async def settled(self, org: str, number: str, *statuses: str, within: float = 20.0) -> Any:
        """Wait until ``org``'s record of ``number`` reaches one of ``statuses``; return it.

        Meanwhile the clock runs five times faster, so that the provisioner's 5 s waits (an
        order's poll, an import's activation) pass in about a second.
        """

        async def check() -> Any:
            reply = await self.call(org, "GET", f"/numbers/{number}")
            if reply.body.get("status") in statuses:
                return reply.body
            self.clock.advance(0.5)
            return None

        return await self.wait_for(check, within)

    async def lines(self, org: str) -> list[dict[str, Any]]:
        """``GET /lines`` of ``org``."""
        reply = await self.call(org, "GET", "/lines")
        assert reply.status == 200, reply.body
        return list(reply.body["items"])

    async def subscribe(self, org: str, receiver: Receiver) -> None:
        """Subscribe ``org`` to the number events at ``receiver``."""
        body = {"url": receiver.url, "events": NUMBER_EVENTS}
        reply = await self.call(org, "POST", "/webhooks/subscriptions", body)
        assert reply.status == 201, reply.body

    def reservations(self) -> int:
        """Reservations the carrier was asked to make."""
        if self.telnyx is not None:
            return len(self.telnyx.requests_to("POST", "/number_reservations"))
        return self.counting.calls["reserve"]

    def orders(self) -> int:
        """Orders the carrier was asked to place."""
        if self.telnyx is not None:
            return len(self.telnyx.requests_to("POST", "/number_orders"))
        return self.counting.calls["order"]

    def other_org_now(self) -> str:
        """The organization that can take a number ``alpha``'s carrier account let go of at
        once: ``bravo`` on the simulated carrier, ``charlie`` (same Telnyx account) on Telnyx."""
        return "charlie" if self.telnyx is not None else "bravo"


def vapi_account(vapi: FakeVapi) -> dict[str, Any]:
    """Provider settings for the fake Vapi, with the Telnyx credential id."""
    return {
        "provider": "vapi",
        "api_key": vapi.api_key,
        "assistant_id": "asst_numbers",
        "webhook_secret": vapi.webhook_secret,
        "base_url": vapi.base_url,
        "concurrency": 50,
        "telnyx_credential_id": CREDENTIAL,
    }


def telnyx_account(telnyx: FakeTelnyx, api_key: str) -> dict[str, Any]:
    """Carrier settings for one account of the fake Telnyx."""
    return {
        "carrier": "telnyx",
        "api_key": api_key,
        "public_key": telnyx.public_key,
        "messaging_profile_id": DEFAULT_PROFILE,
        "base_url": telnyx.url,
    }


def seed_orgs(
    dc: Dialcues, vapi: FakeVapi, telnyx: FakeTelnyx | None, vapi_url: str | None = None
) -> tuple[dict[str, Org], str]:
    """Create alpha (with a default Vapi line), bravo and charlie; return them and that line."""
    orgs: dict[str, Org] = {}
    accounts = {"alpha": KEY_A, "bravo": KEY_B, "charlie": KEY_A}
    line_id = ""
    for name, telnyx_key in accounts.items():
        org = dc.accounts.create_organization(name.title())
        provider = vapi_account(vapi) | ({"base_url": vapi_url} if vapi_url else {})
        dc.accounts.set_provider(org.id, provider)
        if telnyx is not None:
            dc.numbers.set_carrier(org.id, telnyx_account(telnyx, telnyx_key))
        if name == "alpha":
            line = dc.accounts.add_line(
                org.id, "vapi", "+14155550199", DEFAULT_LINE, label="Main", default=True
            )
            line_id = line.id
        user = dc.accounts.create_user(org.id, f"{name}@example.com", name.title())
        orgs[name] = Org(org.id, user.id, dc.accounts.create_api_key(user.id).raw)
    return orgs, line_id


@asynccontextmanager
async def number_stack(url: str, carrier: str, **knobs: Any) -> AsyncIterator[NumberStack]:
    """Run the platform on ``url`` with ``carrier`` (``simulated`` or ``telnyx``)."""
    clock = JumpClock()
    telnyx = None
    if carrier == "telnyx":
        telnyx = await start_fake_telnyx(
            api_keys=(KEY_A, KEY_B), clock=clock.now, reservation_limit=100, **knobs
        )
    try:
        async with (
            start_fake_vapi() as vapi,
            aiohttp.ClientSession() as session,
            running_platform(url, carrier, clock, vapi, telnyx, session) as stack,
        ):
            yield stack
    finally:
        if telnyx is not None:
            await telnyx.close()


@asynccontextmanager
async def running_platform(
    url: str,
    carrier: str,
    clock: JumpClock,
    vapi: FakeVapi,
    telnyx: FakeTelnyx | None,
    session: aiohttp.ClientSession,
    seeded: tuple[dict[str, Org], str] | None = None,
) -> AsyncIterator[NumberStack]:
    """Run REST, provider routes and ``Runtime(dispatch=True)`` on ``url``; seed the
    organizations unless ``seeded`` names them (a platform restarted on its database)."""
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    settings = settings_for(
        url, public_url=public, webhooks_allow_private=True, retry_delays=(1, 1)
    )
    dc = Dialcues.open(settings=settings, clock=clock)
    counting = CountingCarrier(dc.carriers.simulated)
    dc.carriers.simulated = counting  # type: ignore[assignment]
    orgs, line_id = seeded or seed_orgs(dc, vapi, telnyx)
    offloader = dc.offloader(threads=8)
    app = create_app(dc, offloader)
    add_provider_routes(app, dc, offloader)
    runner = await start_rest(app, "127.0.0.1", port)
    runtime = Runtime(dc, offloader, dispatch=True)
    await runtime.start()
    stack = NumberStack(carrier, dc, clock, vapi, telnyx, counting, public, session, orgs, line_id)
    try:
        yield stack
    finally:
        await runtime.stop_claiming()
        await runner.cleanup()
        await runtime.close()
        offloader.shutdown()
        dc.close()


@pytest.fixture(params=["simulated", "telnyx"])
def carrier(request: pytest.FixtureRequest) -> str:
    """Each carrier in turn: the simulated one, then the fake Telnyx with the fake Vapi."""
    return str(request.param)


def soon(stack: NumberStack, seconds: float) -> str:
    """An instant ``seconds`` ahead on the stack's clock, as the API takes it."""
    moment = stack.clock.now() + timedelta(seconds=seconds)
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


async def remind_on(stack: NumberStack, org: str, line_id: str, at: str) -> dict[str, Any]:
    """Create a reminder fixed on ``line_id``, due ``at``."""
    body = {
        "title": "Pills",
        "message": "Take your pills",
        "phone_number": "+14155552671",
        "timezone": "America/Los_Angeles",
        "scheduled_at": at,
        "vapi_line_id": line_id,
    }
    reply = await stack.call(org, "POST", "/reminders", body)
    assert reply.status == 201, reply.body
    return dict(reply.body)


async def executions_of(stack: NumberStack, org: str, reminder_id: Any) -> list[dict[str, Any]]:
    """The reminder's executions, once there is a finished one."""

    async def check() -> list[dict[str, Any]] | None:
        reply = await stack.call(org, "GET", f"/executions?reminder_id={reminder_id}")
        items = reply.body["items"]
        return items if any(e["status"] not in ("in_progress", "pending") for e in items) else None

    return list(await stack.wait_for(check, within=20))


async def assign_active(stack: NumberStack, org: str, number: str, **body: Any) -> dict[str, Any]:
    """Hold ``number``, assign it and wait until it is active (or failed); return the record."""
    held = await stack.hold(org, number)
    assert held.status == 201, held.body
    assigned = await stack.call(org, "POST", f"/numbers/{number}/assign", body or None)
    assert assigned.status == 202, assigned.body
    return dict(await stack.settled(org, number, "active", "failed"))


# ----------------------------------------------------------------------------- 1–2 search
async def test_1_search_returns_only_numbers_of_the_exchange_with_their_details(
    sqlite_url: str, carrier: str
) -> None:
    async with number_stack(sqlite_url, carrier) as stack:
        query = "country=US&npa=415&nxx=555&features=voice,sms"
        reply = await stack.call("alpha", "GET", f"/numbers/search?{query}")

    assert reply.status == 200, reply.body
    items = reply.body["items"]
    assert items and all(item["number"].startswith(N) for item in items)
    assert [i["number"] for i in items] == sorted(i["number"] for i in items)
    first = items[0]
    assert (first["country"], first["locality"], first["region"]) == ("US", "San Francisco", "CA")
    assert first["rate_center"] == "SAN FRANCI"
    assert {"sms", "voice"} <= set(first["features"])
    assert first["cost"] == {"monthly": "1.00", "upfront": "1.00", "currency": "USD"}
    if stack.telnyx is not None:
        (sent,) = stack.telnyx.requests_to("GET", "/available_phone_numbers")
        assert sent.query["filter[national_destination_code]"] == "415"
        assert sent.query["filter[phone_number][starts_with]"] == "555"
        assert set(sent.query["filter[features]"].split(",")) == {"voice", "sms"}
        assert sent.query["filter[reservable]"] == "true"
        assert sent.query["filter[exclude_held_numbers]"] == "true"


REFUSED_SEARCHES = [
    ("npa=555", "npa"),
    ("npa=800", "npa"),
    ("npa=416", "npa"),
    ("nxx=555", "nxx"),
    ("npa=415&nxx=211", "nxx"),
    ("npa=4*5", "npa"),
    ("colour=blue", "colour"),
]


async def test_2_each_invalid_search_parameter_is_a_validation_error_naming_it(
    sqlite_url: str, carrier: str
) -> None:
    async with number_stack(sqlite_url, carrier) as stack:
        replies = [
            (name, await stack.call("alpha", "GET", f"/numbers/search?country=US&{query}"))
            for query, name in REFUSED_SEARCHES
        ]
        searched = stack.telnyx.requests if stack.telnyx is not None else []

    for name, reply in replies:
        assert (reply.status, reply.code) == (400, "validation_error"), (name, reply.body)
        assert name in str(reply.body["error"]["details"]), (name, reply.body)
    assert searched == []  # refused before the carrier is asked


# ----------------------------------------------------------------------------- 3–8 holds
async def race(stack: NumberStack, number: str, requests: int = 50) -> list[tuple[str, Reply]]:
    """Send ``requests`` concurrent holds of ``number``, alternating alpha and bravo."""
    names = ["alpha" if i % 2 == 0 else "bravo" for i in range(requests)]
    replies = await asyncio.gather(*(stack.hold(name, number) for name in names))
    return list(zip(names, replies, strict=True))


def assert_one_winner(replies: list[tuple[str, Reply]]) -> None:
    """Exactly one 201; the loser's requests 409 ``number_held`` (never naming the holder);
    the winner's others 200 with the same record and expiry (item 4)."""
    created = [(name, r) for name, r in replies if r.status == 201]
    assert len(created) == 1, Counter((n, r.status, r.code) for n, r in replies)
    winner, first = created[0]
    losers = [r for name, r in replies if name != winner]
    assert Counter((r.status, r.code) for r in losers) == {(409, "number_held"): len(losers)}
    assert not [r.body for r in losers if "org_" in str(r.body)]
    others = [r for name, r in replies if name == winner and r is not first]
    assert Counter(r.status for r in others) == {200: len(others)}
    assert {r.body["id"] for r in others} == {first.body["id"]}
    expiries = Counter(r.body["hold_expires_at"] for r in others)
    assert expiries == {first.body["hold_expires_at"]: len(others)}, (
        f"the 201 says {first.body['hold_expires_at']}; the {len(others)} 200s say {expiries}"
    )


async def test_3_two_organizations_racing_for_one_number_get_one_hold(
    any_url: str, carrier: str
) -> None:
    async with number_stack(any_url, carrier) as stack:
        replies = await race(stack, f"{N}0101")
        reservations = stack.reservations()

    assert_one_winner(replies)
    assert reservations == 1


async def test_4_the_same_organization_holding_twice_gets_the_same_record(
    sqlite_url: str, carrier: str
) -> None:
    async with number_stack(sqlite_url, carrier) as stack:
        first = await stack.hold("alpha", f"{N}0102")
        second = await stack.hold("alpha", f"{N}0102")
        reservations = stack.reservations()

    assert first.status == 201, first.body
    assert second.status == 200, second.body
    assert second.body == first.body
    assert reservations == 1


async def test_5_a_hold_lapses_after_30_minutes(sqlite_url: str, carrier: str) -> None:
    number = f"{N}0103"
    async with number_stack(sqlite_url, carrier) as stack:
        assert (await stack.hold("alpha", number)).status == 201
        stack.clock.advance(30 * 60 + 1)
        taken = await stack.hold("bravo", number)
        late = await stack.call("alpha", "POST", f"/numbers/{number}/assign")

    assert taken.status == 201, taken.body
    assert (late.status, late.code) == (409, "hold_expired"), late.body


async def test_6_a_hold_extends_once_by_30_minutes(sqlite_url: str, carrier: str) -> None:
    number = f"{N}0106"
    async with number_stack(sqlite_url, carrier) as stack:
        held = await stack.hold("alpha", number)
        extended = await stack.call("alpha", "POST", f"/numbers/{number}/hold/extend")
        again = await stack.call("alpha", "POST", f"/numbers/{number}/hold/extend")

    assert held.status == 201 and extended.status == 200, (held.body, extended.body)
    before = datetime.fromisoformat(held.body["hold_expires_at"])
    after = datetime.fromisoformat(extended.body["hold_expires_at"])
    assert after - before == timedelta(minutes=30)
    assert extended.body["hold_extended"] is True
    assert (again.status, again.code) == (400, "invalid_state"), again.body
    assert again.body["error"]["details"]["resource"] == "number"


async def test_7_a_dropped_hold_frees_the_number_at_once(sqlite_url: str, carrier: str) -> None:
    number = f"{N}0107"
    async with number_stack(sqlite_url, carrier) as stack:
        assert (await stack.hold("alpha", number)).status == 201
        dropped = await stack.call("alpha", "DELETE", f"/numbers/{number}/hold")
        record = await stack.call("alpha", "GET", f"/numbers/{number}")
        if stack.telnyx is not None:  # another account: the reservation lives on at Telnyx
            other_account = await stack.hold("bravo", number)
        taken = await stack.hold(stack.other_org_now(), number)
        if stack.telnyx is not None:  # once it lapsed, another account may have it
            await stack.call("charlie", "DELETE", f"/numbers/{number}/hold")
            stack.clock.advance(30 * 60 + 1)
            lapsed = await stack.hold("bravo", number)

    assert dropped.status == 204, dropped.body
    assert record.body["status"] == "released"
    assert taken.status == 201, taken.body
    if stack.telnyx is not None:
        assert (other_account.status, other_account.code) == (409, "number_unavailable")
        assert lapsed.status == 201, lapsed.body


async def test_8_the_21st_live_hold_is_refused(sqlite_url: str, carrier: str) -> None:
    numbers = [f"{N}{100 + i:04d}" for i in range(20)]
    extra = "+13125550100"
    async with number_stack(sqlite_url, carrier) as stack:
        for number in numbers:
            held = await stack.hold("alpha", number)
            assert held.status == 201, (number, held.body)
        refused = await stack.hold("alpha", extra)
        other = await stack.hold("bravo", extra)

    assert (refused.status, refused.code) == (409, "hold_limit_reached"), refused.body
    assert refused.body["error"]["details"]["limit"] == 20
    assert other.status == 201, other.body  # the refused hold left no claim behind


async def test_8_a_number_the_carrier_will_not_hold_is_unavailable_and_unclaimed(
    sqlite_url: str, carrier: str
) -> None:
    async with number_stack(sqlite_url, carrier) as stack:
        number = refused_by_carrier(stack)
        refused = await stack.hold("alpha", number)
        again = await stack.hold("bravo", number)
        record = await stack.call("alpha", "GET", f"/numbers/{number}")

    assert (refused.status, refused.code) == (409, "number_unavailable"), refused.body
    assert (again.status, again.code) == (409, "number_unavailable"), again.body  # not held
    assert (record.status, record.code) == (404, "not_found"), record.body


async def test_8_concurrent_holds_of_a_number_the_carrier_refuses_never_answer_held(
    sqlite_url: str, carrier: str
) -> None:
    async with number_stack(sqlite_url, carrier) as stack:
        number = refused_by_carrier(stack)
        replies = await asyncio.gather(*(stack.hold("alpha", number) for _ in range(20)))
        record = await stack.call("alpha", "GET", f"/numbers/{number}")

    assert (record.status, record.code) == (404, "not_found"), record.body  # never held
    answered = Counter((r.status, r.code) for r in replies)
    assert not [r.body for r in replies if r.status < 300], answered
    assert (409, "number_unavailable") in answered


def refused_by_carrier(stack: NumberStack) -> str:
    """A number the carrier will not hold: the simulated ``…9901``; on the fake Telnyx, one
    an account outside the platform has reserved."""
    if stack.telnyx is None:
        return REFUSED_HOLD
    number = f"{N}0108"
    stack.telnyx.add_account("outsider")
    state = stack.telnyx.state
    state.search("outsider", {"country_code": "US", "national_destination_code": "415"})
    state.reserve("outsider", [number], None)
    return number


# ----------------------------------------------------------------------------- 9 assign
async def test_9_an_assigned_number_becomes_an_active_line_listed_once(
    sqlite_url: str, carrier: str
) -> None:
    number = VOICE_ONLY[carrier]
    async with number_stack(sqlite_url, carrier) as stack:
        assert (await stack.hold("alpha", number)).status == 201
        assigned = await stack.call(
            "alpha", "POST", f"/numbers/{number}/assign", {"label": "Front desk"}
        )
        active = await stack.settled("alpha", number, "active", "failed")
        lines = await stack.lines("alpha")

    assert (assigned.status, assigned.body["status"]) == (202, "ordering"), assigned.body
    assert active["status"] == "active", active
    mine = [line for line in lines if line["phone_number"] == number]
    assert len(mine) == 1, lines
    (line,) = mine
    assert line["id"] == active["line_id"]
    assert line["features"] == ["voice"]  # the carrier's: a voice-only number
    assert (line["carrier"], line["number_id"], line["label"]) == (
        carrier,
        active["id"],
        "Front desk",
    )


async def test_9_fake_an_imported_number_is_dialed_by_its_vapi_id(sqlite_url: str) -> None:
    number = f"{N}0109"
    async with number_stack(sqlite_url, "telnyx") as stack:
        active = await assign_active(stack, "alpha", number)
        reminder = await remind_on(stack, "alpha", active["line_id"], soon(stack, 1))
        await executions_of(stack, "alpha", reminder["id"])
        imports = [r for r in stack.vapi.number_requests if r.method == "POST"]
        calls = list(stack.vapi.calls)
        line = next(x for x in await stack.lines("alpha") if x["phone_number"] == number)
        public = stack.root

    assert active["status"] == "active", active
    (sent,) = imports
    assert sent.body["provider"] == "telnyx" and sent.body["number"] == number
    assert sent.body["credentialId"] == CREDENTIAL
    assert sent.body["server"]["url"] == f"{public}/api/providers/vapi/events"
    assert sent.body["server"]["headers"] == {"x-vapi-secret": stack.vapi.webhook_secret}
    assert line["provider"] == "vapi"
    (call,) = calls
    assert call["phoneNumberId"] == stack.vapi.phone_numbers[0]["id"]


# ----------------------------------------------------------------------------- 12–13
async def test_12_ten_assigns_with_one_key_place_one_order(sqlite_url: str, carrier: str) -> None:
    number = f"{N}0112"
    headers = {"Idempotency-Key": "assign-once"}
    async with number_stack(sqlite_url, carrier) as stack:
        assert (await stack.hold("alpha", number)).status == 201
        replies = [
            await stack.call("alpha", "POST", f"/numbers/{number}/assign", None, headers)
            for _ in range(10)
        ]
        await stack.settled("alpha", number, "active", "failed")
        orders = stack.orders()
        lines = await stack.lines("alpha")

    assert [r.status for r in replies] == [202] * 10
    replayed = [r.headers.get("Idempotent-Replayed") for r in replies]
    assert replayed == [None] + ["true"] * 9
    assert all(r.body == replies[0].body for r in replies)
    assert orders == 1
    assert [x["phone_number"] for x in lines].count(number) == 1


async def test_13_a_failed_order_fails_the_assign_and_frees_the_number(
    sqlite_url: str, carrier: str
) -> None:
    number = FAILING_ORDER[carrier]
    async with number_stack(sqlite_url, carrier) as stack, receiving() as receiver:
        if stack.telnyx is not None:
            stack.telnyx.state.failing_orders.add(number)
        await stack.subscribe("alpha", receiver)
        failed = await assign_active(stack, "alpha", number)
        await stack.wait_for(lambda: receiver.of("number.assign_failed", number))
        again = await stack.hold(stack.other_org_now(), number)
        lines = await stack.lines("alpha")

    assert failed["status"] == "failed", failed
    assert failed["failure"]["step"] == "order", failed
    assert len(receiver.of("number.assign_failed", number)) == 1
    assert receiver.of("number.assigned", number) == []
    assert again.status == 201, again.body
    assert number not in [x["phone_number"] for x in lines]


# ----------------------------------------------------------------------------- 14 release
async def test_14_a_released_number_leaves_the_lines_and_is_free_again(
    sqlite_url: str, carrier: str
) -> None:
    number = f"{N}0114"
    async with number_stack(sqlite_url, carrier) as stack, receiving() as receiver:
        await stack.subscribe("alpha", receiver)
        active = await assign_active(stack, "alpha", number)
        imported = [n["id"] for n in stack.vapi.phone_numbers]
        reminder = await remind_on(stack, "alpha", active["line_id"], soon(stack, 3600))
        released = await stack.call("alpha", "POST", f"/numbers/{number}/release")
        lines = await stack.lines("alpha")
        stack.clock.advance(3600)
        (execution,) = await executions_of(stack, "alpha", reminder["id"])
        final = await stack.settled("alpha", number, "released", "failed")
        await stack.wait_for(lambda: receiver.of("number.released", number))
        again = await stack.hold(stack.other_org_now(), number)
        calls = list(stack.vapi.calls)
        vapi_deletes = [r for r in stack.vapi.number_requests if r.method == "DELETE"]
        telnyx_deletes = stack.telnyx.requests_to("DELETE") if stack.telnyx else []

    assert (released.status, released.body["status"]) == (202, "releasing"), released.body
    assert number not in [x["phone_number"] for x in lines]
    (call,) = calls  # the reminder fell back to the default line
    assert call["phoneNumberId"] == DEFAULT_LINE
    assert execution["line_id"] == stack.default_line, execution
    assert final["status"] == "released", final
    assert len(receiver.of("number.released", number)) == 1
    assert again.status == 201, again.body
    if stack.telnyx is not None:
        assert [r.path for r in vapi_deletes] == [f"/phone-number/{imported[0]}"]
        assert len(telnyx_deletes) == 1 and telnyx_deletes[0].path.startswith("/phone_numbers/")


async def test_14_a_reminder_on_the_last_line_fails_missing_outbound_line(
    sqlite_url: str, carrier: str
) -> None:
    number = f"{N}0115"
    async with number_stack(sqlite_url, carrier) as stack:
        active = await assign_active(stack, "bravo", number)
        reminder = await remind_on(stack, "bravo", active["line_id"], soon(stack, 3600))
        released = await stack.call("bravo", "POST", f"/numbers/{number}/release")
        stack.clock.advance(3600)
        (execution,) = await executions_of(stack, "bravo", reminder["id"])

    assert released.status == 202, released.body
    assert execution["status"] == "failed", execution
    assert "missing_outbound_line" in str(execution), execution
