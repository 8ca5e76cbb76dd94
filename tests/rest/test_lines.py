"""``GET /lines``: the organization's outbound lines."""

from __future__ import annotations

from support.platform import Tenant, make_tenant

from dialcues_core import Dialcues
from dialcues_core.testing import FakeClock
from rest.support import Api


async def test_lines_lists_the_organizations_lines(
    api: Api, dc: Dialcues, tenant: Tenant, clock: FakeClock
) -> None:
    clock.advance(1)  # lines list oldest first; the same instant would order them by random id
    backup = dc.accounts.add_line(tenant.org.id, "simulated", "+14155550101")
    reply = await api.get("/lines")
    assert (reply.status, reply.body) == (
        200,
        {
            "items": [
                {
                    "id": tenant.line.id,
                    "label": "Main",
                    "phone_number": "+14155550100",
                    "provider": "simulated",
                    "is_default": True,
                    "features": ["voice"],
                    "carrier": None,
                    "number_id": None,
                    "route": None,
                },
                {
                    "id": backup.id,
                    "label": None,
                    "phone_number": "+14155550101",
                    "provider": "simulated",
                    "is_default": False,
                    "features": ["voice"],
                    "carrier": None,
                    "number_id": None,
                    "route": None,
                },
            ]
        },
    )


async def test_lines_are_shared_by_users_of_the_organization(
    anon: Api, dc: Dialcues, tenant: Tenant
) -> None:
    colleague = make_tenant(dc, org=tenant.org)
    reply = await anon.as_key(colleague.api_key).get("/lines")
    assert [line["id"] for line in reply.body["items"]] == [tenant.line.id]


async def test_lines_of_another_organization_are_not_listed(
    anon: Api, dc: Dialcues, tenant: Tenant
) -> None:
    stranger = make_tenant(dc)
    reply = await anon.as_key(stranger.api_key).get("/lines")
    assert [line["id"] for line in reply.body["items"]] == [stranger.line.id]


async def test_organization_without_lines_gets_an_empty_list(anon: Api, dc: Dialcues) -> None:
    org = dc.accounts.create_organization("Empty")
    user = dc.accounts.create_user(org.id, "e@example.com", "E")
    reply = await anon.as_key(dc.accounts.create_api_key(user.id).raw).get("/lines")
    assert reply.body == {"items": []}
