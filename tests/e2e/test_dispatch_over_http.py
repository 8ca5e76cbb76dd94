"""End to end over HTTP: REST creates, the dispatcher dials the fake Vapi, webhooks finish."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fakes.vapi_server import Failure

from e2e.support import Stack, running_stack

NUMBER = "+14155552671"


def soon(seconds: float = 2.0) -> str:
    """Return an instant ``seconds`` ahead, as the API takes it."""
    moment = datetime.now(UTC) + timedelta(seconds=seconds)
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


async def create(stack: Stack, **fields: Any) -> dict[str, Any]:
    """Create a reminder through REST and return it."""
    body = {
        "title": "Pills",
        "message": "Take your pills",
        "phone_number": NUMBER,
        "timezone": "Europe/London",
        "scheduled_at": soon(),
        **fields,
    }
    status, reminder = await stack.call("POST", "/reminders", body)
    assert status == 201, reminder
    return dict(reminder)


async def settled(
    stack: Stack, reminder_id: int, status: str, within: float = 12
) -> dict[str, Any]:
    """Wait until the reminder reaches ``status``; return it."""

    async def check() -> dict[str, Any] | None:
        _, reminder = await stack.call("GET", f"/reminders/{reminder_id}")
        return dict(reminder) if reminder["status"] == status else None

    return dict(await stack.wait_for(check, within=within))


async def executions(stack: Stack, reminder_id: int) -> list[dict[str, Any]]:
    """Return the reminder's executions, newest first."""
    status, page = await stack.call("GET", f"/executions?reminder_id={reminder_id}")
    assert status == 200
    return list(page["items"])


async def test_reminder_created_over_rest_is_dialed_once_and_completes(sqlite_url: str) -> None:
    async with running_stack(sqlite_url) as stack:
        reminder = await create(stack)
        await settled(stack, reminder["id"], "completed")
        (execution,) = await executions(stack, reminder["id"])
        assert len(stack.vapi.calls) == 1
        assert stack.vapi.rejections == []
        assert execution["status"] == "completed"
        assert execution["call_id"] == stack.vapi.calls[0]["id"]


async def test_the_call_carries_the_message_and_our_correlation_ids(sqlite_url: str) -> None:
    async with running_stack(sqlite_url) as stack:
        reminder = await create(stack)
        await settled(stack, reminder["id"], "completed")
        body = stack.vapi.create_bodies[0]
        assistant = body["assistant"]
        assert body["phoneNumberId"] == "pn_e2e"
        assert body["customer"] == {"number": NUMBER}
        assert " Take your pills Press 1 " in assistant["firstMessage"]
        assert body["assistantOverrides"]["metadata"]["reminder_id"] == str(reminder["id"])
        assert assistant["server"]["url"] == f"{stack.root}/api/providers/vapi/events"


async def test_dial_happens_within_a_second_of_scheduled_at(sqlite_url: str) -> None:
    async with running_stack(sqlite_url) as stack:
        reminder = await create(stack)
        await settled(stack, reminder["id"], "completed")
        (execution,) = await executions(stack, reminder["id"])
        executed = datetime.fromisoformat(execution["executed_at"].replace("Z", "+00:00"))
        scheduled = datetime.fromisoformat(reminder["scheduled_at"].replace("Z", "+00:00"))
        assert timedelta(0) <= executed - scheduled < timedelta(seconds=1)


async def test_busy_call_is_retried_and_then_completes(sqlite_url: str) -> None:
    async with running_stack(sqlite_url) as stack:
        stack.vapi.set_outcome(NUMBER, "customer-busy")
        reminder = await create(stack)
        await stack.wait_for(lambda: len(stack.vapi.calls) == 1)
        stack.vapi.set_outcome(NUMBER, "assistant-ended-call")
        await settled(stack, reminder["id"], "completed")
        statuses = [e["status"] for e in await executions(stack, reminder["id"])]
        assert statuses == ["completed", "busy"]
        assert len(stack.vapi.calls) == 2


async def test_unanswered_reminder_fails_once_the_retry_budget_is_spent(sqlite_url: str) -> None:
    async with running_stack(sqlite_url) as stack:
        stack.vapi.set_outcome(NUMBER, "customer-did-not-answer")
        reminder = await create(stack)
        failed = await settled(stack, reminder["id"], "failed")
        statuses = [e["status"] for e in await executions(stack, reminder["id"])]
        assert statuses == ["no_answer"] * 3
        assert failed["retry_count"] == 2
        assert len(stack.vapi.calls) == 3


async def test_create_answered_500_but_placed_is_reconciled_not_redialed(sqlite_url: str) -> None:
    async with running_stack(sqlite_url) as stack:
        stack.vapi.fail_next(Failure.PLACED_THEN_500)
        reminder = await create(stack)
        await settled(stack, reminder["id"], "completed")
        (execution,) = await executions(stack, reminder["id"])
        assert len(stack.vapi.calls) == 1
        assert execution["call_id"] == stack.vapi.calls[0]["id"]


async def test_create_answered_500_and_not_placed_fails_then_retries(sqlite_url: str) -> None:
    async with running_stack(sqlite_url, lease_seconds=2) as stack:
        stack.vapi.fail_next(Failure.ERROR_500)
        reminder = await create(stack)
        # "No such call" is conclusive only once any create is over (SETTLE_SECONDS).
        await settled(stack, reminder["id"], "completed", within=45)
        statuses = [e["status"] for e in await executions(stack, reminder["id"])]
        assert statuses == ["completed", "failed"]
        assert len(stack.vapi.calls) == 1


async def test_a_call_created_late_after_a_500_is_found_not_redialed(sqlite_url: str) -> None:
    async with running_stack(sqlite_url, lease_seconds=2) as stack:
        stack.vapi.fail_next(Failure.LATE_AFTER_500)
        reminder = await create(stack)
        await settled(stack, reminder["id"], "completed")
        (execution,) = await executions(stack, reminder["id"])
        assert len(stack.vapi.calls) == 1
        assert execution["call_id"] == stack.vapi.calls[0]["id"]


async def test_throttled_create_waits_without_spending_the_retry_budget(sqlite_url: str) -> None:
    async with running_stack(sqlite_url) as stack:
        stack.vapi.retry_after = "1"
        stack.vapi.fail_next(Failure.THROTTLE_429)
        reminder = await create(stack)
        done = await settled(stack, reminder["id"], "completed")
        (execution,) = await executions(stack, reminder["id"])
        assert execution["attempt"] == 1
        assert done["retry_count"] == 0


async def test_provider_event_with_a_wrong_secret_is_refused(sqlite_url: str) -> None:
    async with running_stack(sqlite_url, dispatch=False) as stack:
        payload = {
            "message": {
                "type": "status-update",
                "status": "ended",
                "endedReason": "customer-busy",
                "call": {"id": "c1", "assistantOverrides": {"metadata": {"execution_id": "1"}}},
            }
        }
        async with stack.session.post(
            f"{stack.root}/api/providers/vapi/events",
            json=payload,
            headers={"x-vapi-secret": "wrong"},
        ) as reply:
            body = await reply.json()
        assert reply.status == 401
        assert body["error"]["code"] == "invalid_provider_event"
