"""``GET /me``: who the key acts as."""

from __future__ import annotations

from support.platform import Tenant

from rest.support import Api


async def test_me_returns_the_user_organization_and_key(api: Api, tenant: Tenant) -> None:
    reply = await api.get("/me")
    assert reply.status == 200
    assert reply.body == {
        "user": {"id": tenant.user.id, "email": "jane@example.com", "name": "Jane"},
        "organization_id": tenant.org.id,
        "api_key_id": tenant.principal.api_key_id,
        "client_id": None,
    }


async def test_me_rejects_a_query_parameter(api: Api) -> None:
    reply = await api.get("/me", params={"expand": "user"})
    assert (reply.status, reply.code) == (400, "validation_error")
    assert reply.fields == {"expand": "is not a known field"}


async def test_me_answers_json(api: Api) -> None:
    reply = await api.get("/me")
    assert reply.headers["Content-Type"].startswith("application/json")
