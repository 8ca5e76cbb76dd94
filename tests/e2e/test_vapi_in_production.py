"""Vapi as it is, end to end over HTTP: the call token on the wire, every server message
authenticated whatever its type, a wrong base URL, and what ``GET /health`` says."""

from __future__ import annotations

from typing import Any

from dialcues_core.calls.calltoken import call_token
from e2e.support import Stack, free_port, running_stack
from e2e.test_dispatch_over_http import create, executions, settled

EVENTS = "/api/providers/vapi/events"


def message(kind: str, execution_id: int, **fields: Any) -> dict[str, Any]:
    """A Vapi server message of ``kind`` about our execution."""
    call = {"id": "call-x", "assistantOverrides": {"metadata": {"execution_id": str(execution_id)}}}
    return {"message": {"type": kind, "call": call, **fields}}


async def post_event(stack: Stack, payload: Any, secret: str | None) -> tuple[int, Any]:
    """POST a server message to our events endpoint with ``secret`` (or no header)."""
    headers = {"x-vapi-secret": secret} if secret is not None else {}
    async with stack.session.post(f"{stack.root}{EVENTS}", json=payload, headers=headers) as r:
        return r.status, await r.json()


async def test_every_create_carries_the_executions_call_token_and_the_fake_sends_it_back(
    sqlite_url: str,
) -> None:
    async with running_stack(sqlite_url) as stack:
        reminder = await create(stack)
        await settled(stack, reminder["id"], "completed")
        (execution,) = await executions(stack, reminder["id"])
        (call,) = stack.vapi.calls
        server = call["assistant"]["server"]
        token = call_token(stack.vapi.webhook_secret, execution["id"])
        assert server["headers"] == {"x-vapi-secret": token}
        assert server["timeoutSeconds"] == 20
        assert call["assistant"]["serverMessages"] == [
            "status-update",
            "end-of-call-report",
            "tool-calls",
        ]
        assert call["assistant"]["voicemailMessage"] == (
            "This is E2E with a reminder. You're speaking with an automated assistant."
            " Take your pills To stop these calls, call +1 415-555-0199."
        )
        assert all(d.secret == token for d in stack.vapi.deliveries)
        assert {d.http_status for d in stack.vapi.deliveries} == {200}


async def test_a_message_of_a_type_we_ignore_is_refused_without_the_right_header(
    sqlite_url: str,
) -> None:
    async with running_stack(sqlite_url) as stack:
        reminder = await create(stack)
        await settled(stack, reminder["id"], "completed")
        (execution,) = await executions(stack, reminder["id"])
        hang = message("hang", execution["id"])

        assert (await post_event(stack, hang, None))[0] == 401
        assert (await post_event(stack, hang, "wrong"))[0] == 401
        status, body = await post_event(
            stack, hang, call_token("vapi-test-secret", execution["id"])
        )
        assert (status, body) == (200, {"received": True, "applied": False})
        status, _ = await post_event(stack, hang, stack.vapi.webhook_secret)  # the org's secret
        assert status == 200


async def test_a_message_naming_no_call_is_refused(sqlite_url: str) -> None:
    async with running_stack(sqlite_url, dispatch=False) as stack:
        status, body = await post_event(stack, {"message": {"type": "hang"}}, "anything")

        assert (status, body["error"]["code"]) == (401, "invalid_provider_event")


async def test_a_wrong_base_url_fails_every_attempt_as_not_placed_and_nothing_stays_in_progress(
    sqlite_url: str,
) -> None:
    async with running_stack(sqlite_url, retry_delays=(1, 1)) as stack:
        closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
        provider = stack.dc.accounts.get_organization(stack.org_id).provider
        assert provider is not None
        stack.dc.accounts.set_provider(
            stack.org_id,
            {
                "provider": "vapi",
                "api_key": provider.api_key,
                "assistant_id": provider.assistant_id,
                "webhook_secret": provider.webhook_secret,
                "base_url": closed,
            },
        )
        reminder = await create(stack)

        await settled(stack, reminder["id"], "failed")
        runs = await executions(stack, reminder["id"])

        assert [e["status"] for e in runs] == ["failed", "failed", "failed"]
        assert all(e["error_message"].startswith("provider_unreachable") for e in runs)
        assert stack.vapi.calls == []


async def test_health_reports_the_dispatchers_heartbeat_and_tzdata(sqlite_url: str) -> None:
    async with running_stack(sqlite_url) as stack:  # its runtime runs a dispatcher: it beats
        reminder = await create(stack)
        await settled(stack, reminder["id"], "completed")

        async def beat_seen() -> Any:
            status, health = await stack.call("GET", "/health")
            assert status == 200
            return health if health["last_claim_at"] is not None else None

        health = await stack.wait_for(beat_seen, within=12)

        assert health["workers"]["alive"] == 1
        assert health["workers"]["last_seen_at"].endswith("Z")
        assert health["oldest_due_at"] is None
        assert health["tzdata"][:2] == "20"
        assert {"database", "dispatcher", "version"} <= set(health)
