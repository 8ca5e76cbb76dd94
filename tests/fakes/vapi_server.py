"""A fake Vapi on 127.0.0.1: as strict as the real one, programmable per test.

Serves what the Vapi dialer uses (``spec/vapi.md``): ``POST /call`` (and its legacy alias
``POST /call/phone``), ``GET /call/{id}`` and ``GET /call?phoneNumberId&createdAt…&limit``.
Like Vapi it checks the Bearer key (401), refuses properties its schema lacks (400, NestJS
message list), checks ``customer.number`` is E.164, and needs a phone number id and an
assistant. Every call it *creates* is in :attr:`FakeVapi.calls`, so a test can prove a call
was placed exactly once.

After a create it reports the call to ``assistantOverrides.server.url`` with the
``x-vapi-secret`` header: a ``status-update`` to ``in-progress``, then the end as
``status-update: ended`` and/or ``end-of-call-report`` (:class:`MessageOrder`), optionally
twice each. The ended reason comes from the number's last four digits (the simulated
dialer's table) unless a test overrides it. :meth:`FakeVapi.fail_next` injects failures for
the next valid creates (:class:`Failure`).

Usage::

    async with start_fake_vapi(api_key="k", webhook_secret="s") as vapi:
        vapi.fail_next(Failure.PLACED_THEN_500)
        ...  # point a ProviderSettings(base_url=vapi.base_url, api_key="k", …) at it
        assert len(vapi.calls) == 1

One module on purpose, past the house's 400 lines: Vapi's schema, its handlers and its
server messages only make sense together, and nothing outside the tests imports them.
"""

from __future__ import annotations

import asyncio
import copy
import re
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from http import HTTPStatus
from typing import Any

import aiohttp
from aiohttp import web

from dialcues_core.adapters.dialers.simulated import simulated_reason

__all__ = ["Delivery", "Failure", "FakeVapi", "MessageOrder", "Rejection", "start_fake_vapi"]

Json = dict[str, Any]

E164 = re.compile(r"^\+[1-9]\d{1,14}$")
CREATE_PROPERTIES = frozenset(
    {
        "customerId", "customer", "customers", "phoneNumberId", "phoneNumber",
        "assistantId", "assistant", "assistantOverrides", "squadId", "squad",
        "squadOverrides", "workflowId", "workflow", "workflowOverrides", "name",
        "schedulePlan", "transport",
    }
)  # fmt: skip
CUSTOMER_PROPERTIES = frozenset(
    {"number", "name", "numberE164CheckEnabled", "extension", "sipUri", "email", "externalId"}
)
OVERRIDE_PROPERTIES = frozenset(
    {
        "firstMessage", "firstMessageMode", "firstMessageInterruptionsEnabled",
        "variableValues", "voicemailMessage", "voicemailDetection", "endCallMessage",
        "endCallPhrases", "maxDurationSeconds", "silenceTimeoutSeconds", "metadata", "server",
        "serverMessages", "clientMessages", "model", "voice", "transcriber", "name",
        "backgroundSound", "recordingEnabled", "analysisPlan", "artifactPlan",
    }
)  # fmt: skip
SERVER_PROPERTIES = frozenset({"url", "timeoutSeconds", "headers", "credentialId", "backoffPlan"})
LIST_QUERY = frozenset(
    {
        "id", "assistantId", "phoneNumberId", "limit", "createdAtGt", "createdAtLt",
        "createdAtGe", "createdAtLe", "updatedAtGt", "updatedAtLt", "updatedAtGe",
        "updatedAtLe",
    }
)  # fmt: skip
E164_MESSAGE = (
    "customer.number must be a valid phone number in the E.164 format. "
    "Hot tip, you may be missing the country code (Eg. US: +1)."
)
NO_PHONE_NUMBER = "Couldn't Get Phone Number. Need Either `phoneNumberId` Or `phoneNumber`."
NO_ASSISTANT = (
    "Couldn't Get Assistant. Need Either `assistant`, `assistantId`, `squad`, `squadId`, "
    "`workflow`, Or `workflowId`."
)


class Failure(StrEnum):
    """A failure to inject into the next valid create."""

    PLACED_THEN_500 = "placed_then_500"  # the call is created (and rings), the answer is 500
    ERROR_500 = "error_500"  # 500, no call
    THROTTLE_429 = "throttle_429"  # 429 with Retry-After, no call
    HANG = "hang"  # no answer until the client gives up (or the fake stops), no call
    HANG_PLACED = "hang_placed"  # the call is created, then no answer
    LATE_AFTER_500 = "late_after_500"  # 500 at once; the call is created a moment later


class MessageOrder(StrEnum):
    """Which end-of-call messages are sent, in which order."""

    STATUS_FIRST = "status_first"  # status-update ended, then end-of-call-report
    REPORT_FIRST = "report_first"  # end-of-call-report, then status-update ended
    STATUS_ONLY = "status_only"
    REPORT_ONLY = "report_only"


@dataclass(frozen=True)
class Delivery:
    """One server message the fake sent, and how our side answered (None: no answer)."""

    url: str
    call_id: str
    type: str
    status: str | None
    payload: Json
    secret: str
    http_status: int | None


@dataclass(frozen=True)
class Rejection:
    """One request the fake refused, with the body it answered."""

    method: str
    path: str
    status: int
    message: str | list[str]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


def _parse_iso(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _error(status: int, message: str | list[str]) -> web.Response:
    """Answer as Vapi (NestJS) does: ``{"message", "error", "statusCode"}``."""
    body = {"message": message, "error": HTTPStatus(status).phrase, "statusCode": status}
    return web.json_response(body, status=status)


def _unknown(properties: Mapping[str, Any], allowed: frozenset[str], prefix: str) -> list[str]:
    return [f"{prefix}property {key} should not exist" for key in properties if key not in allowed]


def validate_create(body: object) -> list[str]:
    """Return the class-validator messages Vapi would answer for this create body."""
    if not isinstance(body, dict):
        return ["body must be an object"]
    errors = _unknown(body, CREATE_PROPERTIES, "")
    errors += _validate_customer(body.get("customer"))
    errors += _validate_overrides(body.get("assistantOverrides"))
    name = body.get("name")
    if name is not None and (not isinstance(name, str) or len(name) > 40):
        errors.append("name must be shorter than or equal to 40 characters")
    for key in ("phoneNumberId", "assistantId"):
        if key in body and not isinstance(body[key], str):
            errors.append(f"{key} must be a string")
    return errors


def _validate_customer(customer: object) -> list[str]:
    if customer is None:
        return []
    if not isinstance(customer, dict):
        return ["customer must be an object"]
    errors = _unknown(customer, CUSTOMER_PROPERTIES, "customer.")
    number = customer.get("number")
    if not isinstance(number, str) or not E164.match(number):
        errors.append(E164_MESSAGE)
    return errors


def _validate_overrides(overrides: object) -> list[str]:
    if overrides is None:
        return []
    if not isinstance(overrides, dict):
        return ["assistantOverrides must be an object"]
    errors = _unknown(overrides, OVERRIDE_PROPERTIES, "assistantOverrides.")
    if "metadata" in overrides and not isinstance(overrides["metadata"], dict):
        errors.append("assistantOverrides.metadata must be an object")
    server = overrides.get("server")
    if server is not None:
        if not isinstance(server, dict):
            return [*errors, "assistantOverrides.server must be an object"]
        errors += _unknown(server, SERVER_PROPERTIES, "assistantOverrides.server.")
        if not str(server.get("url", "")).startswith(("http://", "https://")):
            errors.append("assistantOverrides.server.url must be a URL address")
    return errors


def _missing_target(body: Json) -> str | None:
    """Return Vapi's (string) message when the body names no phone number or assistant."""
    if not body.get("phoneNumberId") and not body.get("phoneNumber"):
        return NO_PHONE_NUMBER
    assistants = ("assistant", "assistantId", "squad", "squadId", "workflow", "workflowId")
    if not any(body.get(key) for key in assistants):
        return NO_ASSISTANT
    if not body.get("customer") and not body.get("customerId") and not body.get("customers"):
        return "Couldn't Get Customer. Need Either `customer` Or `customerId`."
    return None


class FakeVapi:
    """The fake's state and knobs (set the public attributes before or during a test).

    Knobs: ``outcomes`` (ended reason by full number), ``default_outcome`` (for every
    number, else the last-4 table), ``message_order``, ``duplicate`` (each message twice),
    ``send_in_progress``, ``webhook_delay`` (seconds before the first message),
    ``deliver_before_response`` (send all messages before answering the create),
    ``retry_after`` (the 429 header, None to omit), ``call_duration`` and ``cost`` (what
    the reports say), ``concurrency_limit``, ``hang_seconds`` (the longest a hanging
    create waits; stopping the fake releases it), ``now`` (the fake's clock).
    Records: ``calls`` (created calls, kept current), ``create_bodies`` (every create
    body received), ``rejections``, ``deliveries``.
    """

    def __init__(self, api_key: str, webhook_secret: str, org_id: str | None = None) -> None:
        self.api_key = api_key
        self.webhook_secret = webhook_secret
        self.org_id = org_id or str(uuid.uuid4())
        self.outcomes: dict[str, str] = {}
        self.default_outcome: str | None = None
        self.message_order = MessageOrder.STATUS_FIRST
        self.duplicate = False
        self.send_in_progress = True
        self.webhook_delay = 0.0
        self.deliver_before_response = False
        self.retry_after: str | None = "7"
        self.call_duration = 12.0
        self.cost = 0.07
        self.concurrency_limit = 10
        self.hang_seconds = 60.0
        self.late_seconds = 0.5
        self._late: list[asyncio.Task[None]] = []
        self.now: Callable[[], datetime] = lambda: datetime.now(UTC)
        self.calls: list[Json] = []
        self.create_bodies: list[Json] = []
        self.rejections: list[Rejection] = []
        self.deliveries: list[Delivery] = []
        self.base_url = ""
        self._failures: deque[Failure] = deque()
        self._tasks: set[asyncio.Task[None]] = set()
        self._released = asyncio.Event()
        self._delivered = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None

    # ------------------------------------------------------------------ knobs and queries
    def fail_next(self, failure: Failure, times: int = 1) -> None:
        """Answer the next ``times`` valid creates with ``failure`` (queued in order)."""
        self._failures.extend([failure] * times)

    def set_outcome(self, number: str, reason: str) -> None:
        """Report calls to ``number`` as ended for ``reason``."""
        self.outcomes[number] = reason

    def outcome_for(self, number: str) -> str:
        """Return the ended reason a call to ``number`` will report."""
        return self.outcomes.get(number) or self.default_outcome or simulated_reason(number)

    def call(self, call_id: str) -> Json | None:
        """Return the created call with this id (its current state), or None."""
        return next((call for call in self.calls if call["id"] == call_id), None)

    async def wait_for_deliveries(self, count: int, within: float = 5.0) -> list[Delivery]:
        """Wait until at least ``count`` messages were delivered; return them all."""
        async with asyncio.timeout(within), self._delivered:
            await self._delivered.wait_for(lambda: len(self.deliveries) >= count)
        return list(self.deliveries)

    async def settle(self) -> None:
        """Wait until every call in progress has sent all its messages."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # ------------------------------------------------------------------ lifetime
    async def start(self) -> None:
        """Listen on 127.0.0.1 (a free port); set :attr:`base_url`."""
        app = web.Application()
        app.router.add_post("/call", self._create)
        app.router.add_post("/call/phone", self._create)
        app.router.add_get("/call", self._list)
        app.router.add_get("/call/{call_id}", self._get)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))

    async def stop(self) -> None:
        """Release hanging requests, stop the calls in progress, close everything."""
        self._released.set()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # ------------------------------------------------------------------ handlers
    def _authorize(self, request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization") == f"Bearer {self.api_key}":
            return None
        message = "Invalid Key. Hot tip, make sure you're using the private key."
        return self._refuse(request, 401, message)

    def _refuse(self, request: web.Request, status: int, message: str | list[str]) -> web.Response:
        self.rejections.append(Rejection(request.method, request.path, status, message))
        return _error(status, message)

    async def _create(self, request: web.Request) -> web.Response:
        if (denied := self._authorize(request)) is not None:
            return denied
        try:
            body = await request.json()
        except ValueError:
            return self._refuse(request, 400, "Unexpected token in JSON body")
        self.create_bodies.append(body)
        if errors := validate_create(body):
            return self._refuse(request, 400, errors)
        if (missing := _missing_target(body)) is not None:
            return self._refuse(request, 400, missing)
        return await self._answer_create(body)

    async def _answer_create(self, body: Json) -> web.Response:
        failure = self._failures.popleft() if self._failures else None
        if failure is Failure.THROTTLE_429:
            headers = {"Retry-After": self.retry_after} if self.retry_after else {}
            body_429 = {"message": "Too Many Requests", "statusCode": 429}
            return web.json_response(body_429, status=429, headers=headers)
        if failure in (Failure.HANG, Failure.HANG_PLACED):
            call = await self._place(body) if failure is Failure.HANG_PLACED else None
            await self._hang()
            if call is None:
                return _error(500, "Internal server error")
            return web.json_response(call, status=201)
        if failure is Failure.ERROR_500:
            return _error(500, "Internal server error")
        if failure is Failure.LATE_AFTER_500:
            self._late.append(asyncio.create_task(self._place_late(body)))
            return _error(500, "Internal server error")
        call = await self._place(body)
        if failure is Failure.PLACED_THEN_500:
            return _error(500, "Internal server error")
        return web.json_response({**call, "subscriptionLimits": self._limits()}, status=201)

    async def _place_late(self, body: Json) -> None:
        await asyncio.sleep(self.late_seconds)
        await self._place(body)

    async def _hang(self) -> None:
        with suppress(TimeoutError):
            await asyncio.wait_for(self._released.wait(), self.hang_seconds)

    def _limits(self) -> Json:
        active = sum(1 for call in self.calls if call["status"] != "ended")
        remaining = max(0, self.concurrency_limit - active)
        return {
            "concurrencyBlocked": remaining == 0,
            "concurrencyLimit": self.concurrency_limit,
            "remainingConcurrentCalls": remaining,
        }

    async def _get(self, request: web.Request) -> web.Response:
        if (denied := self._authorize(request)) is not None:
            return denied
        call = self.call(request.match_info["call_id"])
        if call is None:
            return self._refuse(request, 404, "Call not found")
        return web.json_response(call)

    async def _list(self, request: web.Request) -> web.Response:
        if (denied := self._authorize(request)) is not None:
            return denied
        query = request.query
        errors = _unknown(query, LIST_QUERY, "")
        limit = query.get("limit", "100")
        if not limit.isdigit() or not 1 <= int(limit) <= 1000:
            errors.append("limit must not be greater than 1000")
        bounds = {key: _parse_iso(value) for key, value in query.items() if key[:9] == "createdAt"}
        errors += [
            f"{key} must be a valid ISO 8601 date string" for key, v in bounds.items() if v is None
        ]
        if errors:
            return self._refuse(request, 400, errors)
        found = [call for call in self.calls if _listed(call, query, bounds)]
        found.sort(key=lambda call: call["createdAt"], reverse=True)
        return web.json_response(found[: int(limit)])

    # ------------------------------------------------------------------ calls
    async def _place(self, body: Json) -> Json:
        """Create the call and start reporting it; return it as created."""
        now = _iso(self.now())
        call: Json = {
            "id": str(uuid.uuid4()),
            "orgId": self.org_id,
            "type": "outboundPhoneCall",
            "status": "queued",
            "createdAt": now,
            "updatedAt": now,
            "customer": body.get("customer"),
            "phoneNumberId": body.get("phoneNumberId"),
            "assistantId": body.get("assistantId"),
            "assistantOverrides": body.get("assistantOverrides", {}),
            "phoneCallProvider": "twilio",
            "phoneCallProviderId": "CA" + uuid.uuid4().hex,
            "phoneCallTransport": "pstn",
        }
        if "name" in body:
            call["name"] = body["name"]
        self.calls.append(call)
        created = copy.deepcopy(call)
        if self.deliver_before_response:
            await self._run(call)
        else:
            self._spawn(call)
        return created

    def _spawn(self, call: Json) -> None:
        task = asyncio.create_task(self._run(call))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, call: Json) -> None:
        """Ring, answer and end the call, sending the server messages as Vapi would."""
        await asyncio.sleep(self.webhook_delay)
        url = call["assistantOverrides"].get("server", {}).get("url")
        reason = self.outcome_for(call["customer"]["number"])
        refused = reason.startswith("call.start.error")
        if self.send_in_progress and not refused:
            self._update(call, status="in-progress", startedAt=_iso(self.now()))
            await self._send(url, self._status_update(call, "in-progress"))
        snapshot = copy.deepcopy(call)  # messages carry the call as it was, like Vapi's do
        self._end(call, reason, refused)
        for payload in self._end_messages(snapshot, call):
            await self._send(url, payload)

    def _update(self, call: Json, **fields: Any) -> None:
        call.update(fields, updatedAt=_iso(self.now()))

    def _end(self, call: Json, reason: str, refused: bool) -> None:
        started = _parse_iso(call.get("startedAt") or "")
        ended = (started + timedelta(seconds=self.call_duration)) if started else self.now()
        cost = 0.0 if refused else self.cost
        self._update(call, status="ended", endedReason=reason, endedAt=_iso(ended), cost=cost)

    def _end_messages(self, snapshot: Json, ended: Json) -> list[Json]:
        status = self._status_update(snapshot, "ended", ended["endedReason"])
        report = self._report(snapshot, ended)
        order = {
            MessageOrder.STATUS_FIRST: [status, report],
            MessageOrder.REPORT_FIRST: [report, status],
            MessageOrder.STATUS_ONLY: [status],
            MessageOrder.REPORT_ONLY: [report],
        }[self.message_order]
        return [payload for payload in order for _ in range(2 if self.duplicate else 1)]

    def _envelope(self, kind: str, call: Json, **fields: Any) -> Json:
        message = {
            "timestamp": int(self.now().timestamp() * 1000),
            "type": kind,
            "call": copy.deepcopy(call),
            "phoneNumber": {"id": call.get("phoneNumberId")},
            "customer": call.get("customer"),
            **fields,
        }
        return {"message": message}

    def _status_update(self, call: Json, status: str, reason: str | None = None) -> Json:
        extra = {"endedReason": reason} if reason is not None else {}
        return self._envelope("status-update", call, status=status, **extra)

    def _report(self, snapshot: Json, ended: Json) -> Json:
        started, finished = ended.get("startedAt"), ended["endedAt"]
        duration = self.call_duration if started else 0.0
        transcript = "AI: " + str(ended["assistantOverrides"].get("firstMessage", ""))
        return self._envelope(
            "end-of-call-report",
            snapshot,
            endedReason=ended["endedReason"],
            startedAt=started,
            endedAt=finished,
            cost=ended["cost"],
            durationSeconds=duration,
            durationMs=int(duration * 1000),
            summary="The assistant delivered the reminder.",
            transcript=transcript,
            recordingUrl=f"https://storage.vapi.ai/{ended['id']}-mono.wav",
            artifact={"transcript": transcript, "messages": [], "recordingUrl": None},
            analysis={"summary": "The assistant delivered the reminder."},
        )

    async def _send(self, url: str | None, payload: Json) -> None:
        """POST one server message with the secret header; record how it was answered."""
        if not url or self._client is None:
            return
        status: int | None = None
        try:
            headers = {"x-vapi-secret": self.webhook_secret}
            async with self._client.post(url, json=payload, headers=headers) as response:
                status = response.status
        except (TimeoutError, aiohttp.ClientError):
            status = None
        message = payload["message"]
        delivery = Delivery(
            url=url,
            call_id=message["call"]["id"],
            type=message["type"],
            status=message.get("status"),
            payload=payload,
            secret=self.webhook_secret,
            http_status=status,
        )
        async with self._delivered:
            self.deliveries.append(delivery)
            self._delivered.notify_all()


def _listed(call: Json, query: Mapping[str, str], bounds: Mapping[str, datetime | None]) -> bool:
    """Tell whether ``call`` passes the list filters (ids and createdAt bounds)."""
    for key in ("id", "phoneNumberId", "assistantId"):
        if key in query and call.get(key) != query[key]:
            return False
    created = _parse_iso(call["createdAt"])
    assert created is not None
    tests = {"Gt": created.__gt__, "Ge": created.__ge__, "Lt": created.__lt__, "Le": created.__le__}
    return all(tests[key[-2:]](bound) for key, bound in bounds.items() if bound is not None)


@asynccontextmanager
async def start_fake_vapi(
    api_key: str = "vapi-test-key", webhook_secret: str = "vapi-test-secret", **knobs: Any
) -> AsyncIterator[FakeVapi]:
    """Run a :class:`FakeVapi` for the block; ``knobs`` set its public attributes."""
    fake = FakeVapi(api_key, webhook_secret)
    for name, value in knobs.items():
        if not hasattr(fake, name) or name.startswith("_"):
            raise TypeError(f"FakeVapi has no knob {name!r}")
        setattr(fake, name, value)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()
