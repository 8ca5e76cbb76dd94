"""``NumberService``: REST's ``/numbers`` routes over gRPC on the simulated carrier
(``telephony.md`` §2, §6.2, §6.5): search, holds, assign through the provisioner, release,
scopes and ``request_id``; and the administration additions (``SetCarrierSettings``,
``telnyx_credential_id``, ``AddLine`` features and carrier).

The server's process dispatches (``Runtime(dispatch=True)``, as ``dialcues serve``), so its
provisioner runs and an assign wakes it. The simulated carrier completes orders at once
(``DIALCUES_SIMULATED_DELAY=0``), so an assign is ``active`` after one pass instead of the
provisioner's first 5 s poll.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from grpc_support import ADMIN_TOKEN, Server, Stubs, fails
from support.platform import Tenant, make_tenant, settings_for

from dialcues_core import Dialcues
from dialcues_core.kernel.scopes import ALL_SCOPES
from dialcues_core.offload import Offloader
from dialcues_core.runtime import Runtime
from dialcues_grpc import start_grpc
from dialcues_grpc._pb.dialcues.v1 import (
    common_pb2,
    lines_pb2,
    numbers_pb2,
    numbers_pb2_grpc,
    organizations_pb2,
    outbound_lines_pb2,
)

N = numbers_pb2
NUMBER = "+14155550142"
OTHER = "+14155550143"
REFUSED = "+14152009901"
"""The simulated carrier refuses to hold a number ending 9901."""
PUBLIC_KEY = base64.b64encode(bytes(range(32))).decode()


@pytest.fixture
def dc(sqlite_url: str) -> Iterator[Dialcues]:
    """The platform on a fresh SQLite file; simulated orders complete at once."""
    platform = Dialcues.open(settings=settings_for(sqlite_url, simulated_delay=0))
    yield platform
    platform.close()


@pytest.fixture
async def server(dc: Dialcues, grpc_offloader: Offloader) -> AsyncIterator[Server]:
    """A server with the admin services, in a process that dispatches (the provisioner runs)."""
    runtime = Runtime(dc, grpc_offloader, dispatch=True)
    await runtime.start()
    grpc_server, port = await start_grpc(dc, grpc_offloader, "127.0.0.1", 0, ADMIN_TOKEN)
    running = Server(grpc_server, port)
    try:
        yield running
    finally:
        for channel in running.channels:
            await channel.close()
        await grpc_server.stop(None)
        await runtime.stop_claiming()
        await runtime.close()


def numbers(stubs: Stubs) -> numbers_pb2_grpc.NumberServiceStub:
    """The NumberService stub of ``stubs``' channel."""
    return numbers_pb2_grpc.NumberServiceStub(stubs.channel)


async def hold(api: Stubs, number: str = NUMBER, request_id: str = "") -> N.HoldNumberResponse:
    """HoldNumber."""
    request = N.HoldNumberRequest(number=number, request_id=request_id)
    return await numbers(api).HoldNumber(request, metadata=api.md)


async def get(api: Stubs, number: str = NUMBER) -> N.PhoneNumber:
    """GetNumber."""
    return await numbers(api).GetNumber(N.GetNumberRequest(number=number), metadata=api.md)


async def assign(
    api: Stubs, label: str | None = None, is_default: bool | None = None, request_id: str = ""
) -> N.PhoneNumber:
    """AssignNumber of :data:`NUMBER` (unset label and is_default when None)."""
    request = N.AssignNumberRequest(
        number=NUMBER, label=label, is_default=is_default, request_id=request_id
    )
    return await numbers(api).AssignNumber(request, metadata=api.md)


async def reaches(
    api: Stubs, status: str, number: str = NUMBER, within: float = 10.0
) -> N.PhoneNumber:
    """Poll GetNumber until the number has ``status``; return it."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        found = await get(api, number)
        if found.status == status:
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{number} is {found.status}, not {status}, after {within} s")
        await asyncio.sleep(0.05)


async def line_numbers(api: Stubs) -> list[str]:
    """The phone numbers of the organization's lines (LineService.ListLines)."""
    found = await api.lines.ListLines(lines_pb2.ListLinesRequest(), metadata=api.md)
    return [line.phone_number for line in found.items]


def key_without(dc: Dialcues, tenant: Tenant, scope: str) -> str:
    """A key of the tenant's user carrying every scope but ``scope``."""
    scopes = [s for s in ALL_SCOPES if s != scope]
    return dc.accounts.create_api_key(tenant.user.id, scopes=scopes).raw


# ----------------------------------------------------------------------------- search
async def test_search_returns_matching_numbers_sorted_with_decimal_costs(api: Stubs) -> None:
    request = N.SearchNumbersRequest(
        country="US", npa="415", nxx="555", features=["voice", "sms"], limit=5
    )
    found = (await numbers(api).SearchNumbers(request, metadata=api.md)).items

    assert len(found) == 5
    assert [o.number for o in found] == sorted(o.number for o in found)
    assert all(o.number.startswith("+1415555") for o in found)
    first = found[0]
    assert (first.country, first.region, first.rate_center) == ("US", "CA", "SAN FRANCI")
    assert list(first.features) == ["mms", "sms", "voice"]
    assert (first.cost.monthly, first.cost.upfront, first.cost.currency) == ("1.00", "1.00", "USD")
    assert first.reservable


async def test_a_search_without_a_country_is_a_validation_error(api: Stubs) -> None:
    failed = await fails(numbers(api).SearchNumbers(N.SearchNumbersRequest(), metadata=api.md))

    assert (failed.code, failed.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "validation_error")
    assert set(failed.violations) == {"country"}


async def test_a_search_leaves_out_a_number_another_organization_holds(
    api: Stubs, server: Server, dc: Dialcues
) -> None:
    other = server.stubs(make_tenant(dc).api_key)
    await hold(other, NUMBER)
    request = N.SearchNumbersRequest(country="US", npa="415", nxx="555", limit=100)

    found = (await numbers(api).SearchNumbers(request, metadata=api.md)).items

    assert NUMBER not in [o.number for o in found]
    assert OTHER in [o.number for o in found]


# ----------------------------------------------------------------------------- holds
async def test_a_new_hold_is_created_and_lasts_thirty_minutes(api: Stubs) -> None:
    before = datetime.now(UTC)

    taken = await hold(api)

    assert taken.created
    held = taken.number
    assert (held.number, held.status, held.carrier, held.locality) == (
        NUMBER,
        "held",
        "simulated",
        "San Francisco",
    )
    expires = held.hold_expires_at.ToDatetime(UTC)
    assert before + timedelta(minutes=29) < expires <= before + timedelta(minutes=31)
    assert held.id.startswith("num_") and not held.hold_extended
    assert not held.HasField("failure") and not held.HasField("line_id")


async def test_holding_again_returns_the_organizations_own_hold_unchanged(api: Stubs) -> None:
    first = await hold(api)

    again = await hold(api)

    assert not again.created
    assert again.number == first.number


async def test_another_organizations_hold_is_number_held(
    api: Stubs, server: Server, dc: Dialcues
) -> None:
    await hold(api)
    other = server.stubs(make_tenant(dc).api_key)

    failed = await fails(hold(other))

    assert (failed.code, failed.reason) == (grpc.StatusCode.ALREADY_EXISTS, "number_held")
    assert failed.metadata == {}


async def test_a_number_the_carrier_refuses_is_number_unavailable(api: Stubs) -> None:
    failed = await fails(hold(api, REFUSED))

    assert (failed.code, failed.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "number_unavailable",
    )
    assert (await fails(get(api, REFUSED))).reason == "not_found"  # nothing was kept


async def test_a_hold_extends_once_then_is_invalid_state(api: Stubs) -> None:
    held = (await hold(api)).number
    request = N.ExtendHoldRequest(number=NUMBER)

    extended = await numbers(api).ExtendHold(request, metadata=api.md)
    failed = await fails(numbers(api).ExtendHold(request, metadata=api.md))

    assert extended.hold_extended and extended.status == "held"
    assert extended.hold_expires_at.seconds > held.hold_expires_at.seconds
    assert (failed.code, failed.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "invalid_state")
    assert failed.metadata == {"resource": "number", "status": "held", "action": "extended"}


async def test_dropping_a_hold_releases_the_number_for_others(
    api: Stubs, server: Server, dc: Dialcues
) -> None:
    await hold(api)

    dropped = await numbers(api).DropHold(N.DropHoldRequest(number=NUMBER), metadata=api.md)
    taken = await hold(server.stubs(make_tenant(dc).api_key))

    assert (dropped.number, dropped.status) == (NUMBER, "released")
    assert taken.created


# ----------------------------------------------------------------------------- assign, release
async def test_an_assigned_number_becomes_active_with_its_line(api: Stubs) -> None:
    await hold(api)

    ordering = await assign(api, label="Front desk", is_default=True)
    active = await reaches(api, "active")

    assert ordering.status == "ordering"
    assert active.line_id.startswith("line_")
    assert NUMBER in await line_numbers(api)


async def test_an_unknown_number_is_not_found(api: Stubs) -> None:
    failed = await fails(get(api, OTHER))

    assert (failed.code, failed.reason) == (grpc.StatusCode.NOT_FOUND, "not_found")


async def test_a_released_number_loses_its_line_then_is_released(api: Stubs) -> None:
    await hold(api)
    await assign(api)
    await reaches(api, "active")

    releasing = await numbers(api).ReleaseNumber(
        N.ReleaseNumberRequest(number=NUMBER), metadata=api.md
    )

    assert releasing.status == "releasing"
    assert NUMBER not in await line_numbers(api)
    assert (await reaches(api, "released")).status == "released"


async def test_listing_pages_the_records_with_a_page_token(api: Stubs) -> None:
    await hold(api, NUMBER)
    await hold(api, OTHER)
    stub = numbers(api)

    first = await stub.ListNumbers(N.ListNumbersRequest(page_size=1), metadata=api.md)
    second = await stub.ListNumbers(
        N.ListNumbersRequest(page_token=first.next_page_token), metadata=api.md
    )

    assert (first.total, first.total_pages) == (2, 2)
    # Both holds fall in one second (records keep whole seconds): their order is the core's
    # tie-break, so only the pages' contents are asserted.
    assert sorted(n.number for n in (*first.items, *second.items)) == [NUMBER, OTHER]
    assert second.next_page_token == ""


# ----------------------------------------------------------------------------- scopes
@pytest.mark.parametrize(
    ("scope", "rpc", "request_"),
    [
        ("numbers:read", "SearchNumbers", N.SearchNumbersRequest(country="US")),
        ("numbers:read", "GetNumber", N.GetNumberRequest(number=NUMBER)),
        ("numbers:read", "ListNumbers", N.ListNumbersRequest()),
        ("numbers:write", "HoldNumber", N.HoldNumberRequest(number=NUMBER)),
        ("numbers:write", "AssignNumber", N.AssignNumberRequest(number=NUMBER)),
        ("numbers:write", "ReleaseNumber", N.ReleaseNumberRequest(number=NUMBER)),
    ],
)
async def test_a_key_lacking_the_scope_is_permission_denied(
    server: Server, dc: Dialcues, tenant: Tenant, scope: str, rpc: str, request_: object
) -> None:
    stubs = server.stubs(key_without(dc, tenant, scope))

    failed = await fails(getattr(numbers(stubs), rpc)(request_, metadata=stubs.md))

    assert (failed.code, failed.reason) == (grpc.StatusCode.PERMISSION_DENIED, "insufficient_scope")
    assert failed.metadata == {"scope": scope}


# ----------------------------------------------------------------------------- request_id
async def test_a_hold_repeated_with_its_request_id_replays_the_first_answer(
    api: Stubs, dc: Dialcues, tenant: Tenant
) -> None:
    first = await hold(api, request_id="hold-1")

    again = await hold(api, request_id="hold-1")

    assert again == first and again.created  # REST's 201, replayed
    assert dc.numbers.list_for(tenant.org.id, {}).total == 1


async def test_a_request_id_reused_for_another_number_is_idempotency_mismatch(
    api: Stubs,
) -> None:
    await hold(api, NUMBER, request_id="hold-1")

    failed = await fails(hold(api, OTHER, request_id="hold-1"))

    assert (failed.code, failed.reason) == (grpc.StatusCode.ALREADY_EXISTS, "idempotency_mismatch")


async def test_an_assign_replayed_by_request_id_answers_its_stored_ordering(api: Stubs) -> None:
    await hold(api)
    first = await assign(api, request_id="assign-1")
    await reaches(api, "active")

    again = await assign(api, request_id="assign-1")

    assert again == first and again.status == "ordering"


# ----------------------------------------------------------------------------- administration
async def test_set_carrier_settings_answers_them_masked_with_the_webhook_url(
    admin: Stubs, tenant: Tenant, dc: Dialcues
) -> None:
    request = organizations_pb2.SetCarrierSettingsRequest(
        organization_id=tenant.org.id,
        carrier="telnyx",
        api_key="KEY0123456789ABCDEF",
        public_key=PUBLIC_KEY,
        messaging_profile_id="mp_1",
    )

    shown = await admin.organizations.SetCarrierSettings(request, metadata=admin.md)

    assert (shown.carrier, shown.api_key, shown.public_key) == ("telnyx", "KEY0…CDEF", PUBLIC_KEY)
    assert shown.webhook_url == (
        f"{dc.settings.public_url}/api/providers/telnyx/events/{tenant.org.id}"
    )
    assert not shown.HasField("help_text")


async def test_set_carrier_settings_refuses_a_public_key_that_is_not_32_bytes(
    admin: Stubs, tenant: Tenant
) -> None:
    request = organizations_pb2.SetCarrierSettingsRequest(
        organization_id=tenant.org.id,
        carrier="telnyx",
        api_key="KEY0123456789ABCDEF",
        public_key=base64.b64encode(b"short").decode(),
        messaging_profile_id="mp_1",
    )

    failed = await fails(admin.organizations.SetCarrierSettings(request, metadata=admin.md))

    assert (failed.code, failed.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "validation_error")
    assert set(failed.violations) == {"public_key"}


async def test_provider_settings_keep_the_telnyx_credential_id(
    admin: Stubs, tenant: Tenant
) -> None:
    request = organizations_pb2.SetProviderSettingsRequest(
        organization_id=tenant.org.id,
        provider=common_pb2.PROVIDER_VAPI,
        api_key="vapi-key-1234",
        webhook_secret="secret-1234",
        telnyx_credential_id="cred_telnyx_1",
    )

    org = await admin.organizations.SetProviderSettings(request, metadata=admin.md)

    assert org.provider.telnyx_credential_id == "cred_telnyx_1"


async def test_add_line_keeps_its_features_and_carrier(admin: Stubs, tenant: Tenant) -> None:
    request = outbound_lines_pb2.AddLineRequest(
        organization_id=tenant.org.id,
        provider=common_pb2.PROVIDER_SIMULATED,
        phone_number="+14155550177",
        features=["voice", "sms"],
        carrier="simulated",
    )

    line = await admin.outbound_lines.AddLine(request, metadata=admin.md)

    assert (list(line.features), line.carrier) == (["sms", "voice"], "simulated")
    assert not line.HasField("number_id")
