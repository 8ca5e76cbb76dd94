"""Errors on every path: one JSON shape, the status table, and nothing internal leaked."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from support.platform import Tenant

from dialcues_core import Dialcues
from dialcues_core.accounts.model import Principal
from dialcues_core.errors import (
    CallAlreadyAnswered,
    CallerIdentityRequired,
    CampaignNotRegistered,
    CarrierError,
    CarrierRejected,
    CarrierUnavailable,
    Conflict,
    ConsentRequired,
    DialcuesError,
    FailedPrecondition,
    FrequencyCapReached,
    InsufficientScope,
    InvalidArgument,
    InvalidScope,
    InvalidState,
    NotFound,
    NumberRefusal,
    OutsideCallingWindow,
    PermissionDenied,
    PolicyRefusal,
    ProviderError,
    ProviderNotConfigured,
    RateLimited,
    RecipientSuppressed,
    ResourceExhausted,
    ResourceNotFound,
    SmokeFailed,
    Unauthenticated,
    Unavailable,
    ValidationFailed,
    all_error_classes,
)
from dialcues_core.kernel.paging import Page
from dialcues_core.offload import Offloader
from dialcues_core.reminders.model import Reminder
from dialcues_core.reminders.service import Reminders
from dialcues_rest.app import create_app
from dialcues_rest.errors import status_of
from rest.support import Api, ServeFn

SECRET = "postgres://admin:hunter2@db"


class FailingReminders(Reminders):
    """A core stub whose listing raises the error it was given."""

    def __init__(self, real: Reminders, error: BaseException):
        super().__init__(real.repos, real.clock, real.policies, real.audit)
        self.error = error

    def list(self, principal: Principal, params: Mapping[str, Any]) -> Page[Reminder]:
        """Raise the configured error."""
        raise self.error


@pytest.fixture
def failing(
    serve: ServeFn, dc: Dialcues, offloader: Offloader, tenant: Tenant
) -> Callable[[BaseException], Any]:
    """Serve an app whose ``GET /reminders`` raises the given error; return its client."""

    async def start(error: BaseException) -> Api:
        stub = dataclasses.replace(dc, reminders=FailingReminders(dc.reminders, error))
        return (await serve(create_app(stub, offloader))).as_key(tenant.api_key)

    return start


async def test_unknown_route_is_a_json_not_found(api: Api) -> None:
    reply = await api.get("//favicon.ico")
    assert (reply.status, reply.body["error"]["code"], reply.body["error"]["details"]) == (
        404,
        "not_found",
        None,
    )


async def test_wrong_method_is_method_not_allowed_with_allow(api: Api) -> None:
    reply = await api.call("PUT", "/reminders")
    assert (reply.status, reply.code) == (405, "method_not_allowed")
    assert set(reply.headers["Allow"].split(",")) == {"GET", "HEAD", "POST"}


async def test_method_not_allowed_on_an_item_lists_its_methods(api: Api) -> None:
    reply = await api.post("/reminders/1", json={})
    assert set(reply.headers["Allow"].split(",")) == {"GET", "HEAD", "PATCH", "DELETE"}


async def test_error_body_has_exactly_code_message_details(api: Api) -> None:
    reply = await api.get("/reminders/12345")
    assert set(reply.body) == {"error"}
    assert set(reply.body["error"]) == {"code", "message", "details"}


async def test_unexpected_exception_is_internal_error_without_a_traceback(
    failing: Callable[[BaseException], Any],
) -> None:
    client = await failing(RuntimeError(SECRET))
    reply = await client.get("/reminders")
    assert (reply.status, reply.code) == (500, "internal_error")
    assert SECRET not in reply.text and "Traceback" not in reply.text


async def test_unexpected_exception_is_logged_with_its_traceback(
    failing: Callable[[BaseException], Any], caplog: pytest.LogCaptureFixture
) -> None:
    client = await failing(RuntimeError(SECRET))
    with caplog.at_level(logging.ERROR, logger="dialcues.rest"):
        await client.get("/reminders")
    logged = [r for r in caplog.records if r.name == "dialcues.rest"]
    assert logged and logged[0].exc_info is not None


async def test_provider_error_reaching_the_edge_is_internal_error(
    failing: Callable[[BaseException], Any],
) -> None:
    client = await failing(ProviderError("vapi said: key sk_live_123 is bad"))
    reply = await client.get("/reminders")
    assert (reply.status, reply.code, "sk_live" in reply.text) == (500, "internal_error", False)


async def test_carrier_error_reaching_the_edge_is_internal_error(
    failing: Callable[[BaseException], Any],
) -> None:
    client = await failing(CarrierRejected("10009"))
    reply = await client.get("/reminders")
    assert (reply.status, reply.code, "10009" in reply.text) == (500, "internal_error", False)


async def test_rate_limited_is_429_with_retry_after(
    failing: Callable[[BaseException], Any],
) -> None:
    client = await failing(RateLimited(7))
    reply = await client.get("/reminders")
    assert (reply.status, reply.code, reply.headers["Retry-After"]) == (429, "rate_limited", "7")


def _instance(cls: type[DialcuesError]) -> DialcuesError:
    special: dict[type[DialcuesError], Callable[[], DialcuesError]] = {
        ValidationFailed: lambda: ValidationFailed.one("field", "is bad"),
        InvalidState: lambda: InvalidState("completed", "updated"),
        InsufficientScope: lambda: InsufficientScope("reminders:write"),
        ResourceNotFound: lambda: ResourceNotFound("reminder", 1),
        RateLimited: lambda: RateLimited(1),
        InvalidScope: lambda: InvalidScope(["usage:read"]),
        SmokeFailed: lambda: SmokeFailed("dispatch", "no dispatcher answered"),
        OutsideCallingWindow: lambda: OutsideCallingWindow(
            {"scheduled_at": "06:30 in America/New_York is outside"},
            ["America/New_York"],
            "2026-03-25T12:00:00Z",
        ),
        FrequencyCapReached: lambda: FrequencyCapReached(
            "2026-03-26T12:00:00Z", {"per_24h": {"limit": 6, "count": 6}, "per_30d": None}
        ),
        RecipientSuppressed: lambda: RecipientSuppressed(
            "+14155550009", "opt_out_keypress", "2026-03-25T13:00:31.207Z"
        ),
        ConsentRequired: lambda: ConsentRequired("express_written", "marketing"),
        CallerIdentityRequired: lambda: CallerIdentityRequired(["caller_name"]),
        CampaignNotRegistered: lambda: CampaignNotRegistered("+14155550142"),
        CarrierUnavailable: lambda: CarrierUnavailable("unreachable", retry_after=3),
        CallAlreadyAnswered: lambda: CallAlreadyAnswered({"type": "reject"}),
        ProviderNotConfigured: lambda: ProviderNotConfigured("telnyx_credential_id"),
    }
    return special.get(cls, cls)()


CLIENT_ERRORS = [
    cls
    for cls in all_error_classes()
    if cls is not DialcuesError and not issubclass(cls, ProviderError | CarrierError)
]
"""Every core error a client may see: the provider and carrier trees are internal (the core
maps them before they could reach a client; one that does is a 500)."""


@pytest.mark.parametrize("cls", CLIENT_ERRORS, ids=lambda cls: cls.__name__)
def test_every_client_facing_core_error_has_a_status(cls: type[DialcuesError]) -> None:
    assert status_of(cls) is not None


CONTRACT_STATUS = {
    InvalidArgument: 400,
    Unauthenticated: 401,
    PermissionDenied: 403,
    NotFound: 404,
    FailedPrecondition: 400,
    Conflict: 409,
    ResourceExhausted: 429,
    Unavailable: 503,
}
"""The status of each core category, as the brief and the contract state it."""


def expected_status(cls: type[DialcuesError]) -> int:
    """Return the contract's status of a core error class (its nearest category; a policy
    refusal is 422, responsible-calling.md section 17; a number refusal 409, telephony.md
    §6.2)."""
    if issubclass(cls, PolicyRefusal):
        return 422
    if issubclass(cls, NumberRefusal):
        return 409
    return next(CONTRACT_STATUS[c] for c in cls.__mro__ if c in CONTRACT_STATUS)


@pytest.mark.parametrize(
    "cls", [c for c in CLIENT_ERRORS if c.code != "internal_error"], ids=lambda c: c.__name__
)
async def test_core_error_renders_with_its_code_and_table_status(
    failing: Callable[[BaseException], Any], cls: type[DialcuesError]
) -> None:
    error = _instance(cls)
    reply = await (await failing(error)).get("/reminders")
    assert (reply.status, reply.code, reply.body["error"]["message"]) == (
        expected_status(cls),
        cls.code,
        error.message,
    )
