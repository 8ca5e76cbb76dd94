"""Text the storage cannot hold is a ``validation_error``, on SQLite and on PostgreSQL.

Found by fuzzing every request message against a real server: NUL in any text field (a
PostgreSQL error before) and an over-long line ``label``/``provider_line_id`` (PostgreSQL's
varchar(255)) used to end as INTERNAL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import grpc
import pytest
from google.protobuf import field_mask_pb2
from grpc_support import Failure, Stubs, fails, reminder_request
from support.platform import Tenant, settings_for

from dialcues_core import Dialcues
from dialcues_core.offload import Offloader
from dialcues_grpc._pb.dialcues.v1 import (
    api_keys_pb2,
    common_pb2,
    organizations_pb2,
    outbound_lines_pb2,
    reminders_pb2,
    webhooks_pb2,
    webhooks_pb2_grpc,
)

NUL = "must not contain NUL characters"


@pytest.fixture
def dc(any_url: str) -> Iterator[Dialcues]:
    """The platform on each backend in turn (overrides the shared SQLite ``dc``)."""
    platform = Dialcues.open(settings=settings_for(any_url))
    yield platform
    platform.close()


@pytest.fixture
async def grpc_offloader(dc: Dialcues) -> AsyncIterator[Offloader]:
    """The servers' thread pool, closing each thread's connection (PostgreSQL's are real)."""
    pool = Offloader(threads=2, on_thread_exit=dc.db.close)
    yield pool
    pool.shutdown()


def refused(failed: Failure) -> tuple[grpc.StatusCode, str]:
    """Return the status code and reason of a failure."""
    return failed.code, failed.reason


async def test_nul_in_a_public_request_field_is_a_validation_error(api: Stubs) -> None:
    request = reminder_request(vapi_line_id="line\x00")
    failed = await fails(api.reminders.CreateReminder(request, metadata=api.md))
    assert refused(failed) == (grpc.StatusCode.INVALID_ARGUMENT, "validation_error")
    assert failed.violations == {"vapi_line_id": NUL}


async def test_nul_in_a_nested_field_names_its_path(api: Stubs) -> None:
    request = reminders_pb2.UpdateReminderRequest(
        id=1,
        update_mask=field_mask_pb2.FieldMask(paths=["title\x00"]),
        scheduled_at=common_pb2.TimeInput(local_time="2030-01-01T09:00\x00"),
    )
    failed = await fails(api.reminders.UpdateReminder(request, metadata=api.md))
    assert failed.violations == {"update_mask.paths": NUL, "scheduled_at.local_time": NUL}


async def test_nul_in_a_webhook_id_is_a_validation_error(api: Stubs) -> None:
    stub = webhooks_pb2_grpc.WebhookServiceStub(api.channel)
    request = webhooks_pb2.GetWebhookSubscriptionRequest(id="whk_\x00")
    failed = await fails(stub.GetWebhookSubscription(request, metadata=api.md))
    assert (refused(failed), failed.violations) == (
        (grpc.StatusCode.INVALID_ARGUMENT, "validation_error"),
        {"id": NUL},
    )


async def test_nul_in_an_administration_request_is_a_validation_error(
    admin: Stubs, tenant: Tenant
) -> None:
    get_org = admin.organizations.GetOrganization
    failed = await fails(get_org(organizations_pb2.GetOrganizationRequest(id="org_\x00")))
    assert refused(failed) == (grpc.StatusCode.UNAUTHENTICATED, "unauthorized")
    request = organizations_pb2.GetOrganizationRequest(id="org_\x00")
    failed = await fails(get_org(request, metadata=admin.md))
    assert (refused(failed), failed.violations) == (
        (grpc.StatusCode.INVALID_ARGUMENT, "validation_error"),
        {"id": NUL},
    )
    keys = api_keys_pb2.ListApiKeysRequest(user_id=f"{tenant.user.id}\x00")
    failed = await fails(admin.api_keys.ListApiKeys(keys, metadata=admin.md))
    assert failed.violations == {"user_id": NUL}


@pytest.mark.parametrize("field", ["label", "provider_line_id"])
async def test_an_over_long_line_text_is_a_validation_error(
    admin: Stubs, tenant: Tenant, field: str
) -> None:
    request = outbound_lines_pb2.AddLineRequest(
        organization_id=tenant.org.id,
        provider=common_pb2.PROVIDER_SIMULATED,
        phone_number="+14155550101",
        **{field: "x" * 256},
    )
    failed = await fails(admin.outbound_lines.AddLine(request, metadata=admin.md))
    assert refused(failed) == (grpc.StatusCode.INVALID_ARGUMENT, "validation_error")
    assert failed.violations == {field: "must be 1–255 characters long"}


async def test_a_line_text_of_255_characters_is_stored(admin: Stubs, tenant: Tenant) -> None:
    request = outbound_lines_pb2.AddLineRequest(
        organization_id=tenant.org.id,
        provider=common_pb2.PROVIDER_SIMULATED,
        phone_number="+14155550101",
        label="é" * 255,
        provider_line_id="p" * 255,
    )
    line = await admin.outbound_lines.AddLine(request, metadata=admin.md)
    assert (line.label, line.provider_line_id) == ("é" * 255, "p" * 255)
