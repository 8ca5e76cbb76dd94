"""What every Vapi call says and what the person does in it, end to end with the strict fake
Vapi (``responsible-calling.md`` §10–11; §23 items 21–24).

The platform runs on loopback (REST with the provider routes, a dispatcher) and dials the fake
Vapi, which validates every create against Vapi's SDK and acts as the person on the line: it
presses or says their part by the number's last four digits and sends the model's tool call
to our ``/tools`` route with the tool's own header, in one of the three argument shapes, and
checks our answers with Vapi's strictness. Tests that drive ``/tools`` themselves keep the call
in the air (``hold_calls``) and send their tool calls through the fake, so every message is
one Vapi could send. Everything is read back over REST.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fakes.vapi_server import KEYPAD_PREFIX, ArgumentShape, ToolExchange, ToolRequest

from dialcues_core.audit.model import Actor
from dialcues_core.calls.calltoken import call_token
from e2e.support import Stack, running_stack
from e2e.test_dispatch_over_http import executions, settled, soon

DOSE = "Time for your evening dose."
OPENS = "This is Acme Pharmacy with a reminder."
DISCLOSURE = "You're speaking with an automated assistant."
OPT_OUT = "To stop these calls, press 9 or say stop."
LISTENS = "+12125550143"
CONFIRMS, SNOOZES, PRESSES_9, SAYS_STOP = (
    "+12125550007",
    "+12125550008",
    "+12125550009",
    "+12125550010",
)
CONFIRMED = "Thank you, I've noted that it's done. Goodbye."
STOPPED = "You won't get these calls anymore. Goodbye."
ASK_MINUTES = "I can call back in 1 to 120 minutes. How many minutes would you like?"
LONDON = ZoneInfo("Europe/London")


# ----------------------------------------------------------------------------- helpers
def set_policy(stack: Stack, **changes: Any) -> None:
    """Change the stack organization's calling policy (as an operator)."""
    stack.dc.policies.update(stack.org_id, changes, actor=Actor("admin", "e2e"))


def acme(stack: Stack, **changes: Any) -> None:
    """Make the organization Acme Pharmacy, with a callback number."""
    set_policy(stack, caller_name="Acme Pharmacy", callback_number="+14155550100", **changes)


def reminder_body(to: str = LISTENS, **fields: Any) -> dict[str, Any]:
    """A one-off reminder to ``to``, due in two seconds."""
    return {
        "title": "Evening dose",
        "message": DOSE,
        "phone_number": to,
        "timezone": "Europe/London",
        "scheduled_at": soon(),
        **fields,
    }


async def remind(stack: Stack, to: str = LISTENS, **fields: Any) -> dict[str, Any]:
    """Create a one-off reminder to ``to`` over REST, due in two seconds."""
    status, reminder = await stack.call("POST", "/reminders", reminder_body(to, **fields))
    assert status == 201, reminder
    return dict(reminder)


async def execution(stack: Stack, execution_id: int) -> dict[str, Any]:
    status, found = await stack.call("GET", f"/executions/{execution_id}")
    assert status == 200, found
    return dict(found)


async def finished(stack: Stack, execution_id: int) -> dict[str, Any]:
    """Wait until the execution has its outcome; return it."""

    async def check() -> dict[str, Any] | None:
        found = await execution(stack, execution_id)
        return found if found["status"] not in ("queued", "in_progress") else None

    return dict(await stack.wait_for(check, within=10))


async def newest_run(stack: Stack, reminder_id: int, status: str) -> dict[str, Any]:
    """Wait until the reminder's newest execution has ``status``; return it."""

    async def check() -> dict[str, Any] | None:
        runs = await executions(stack, reminder_id)
        return runs[0] if runs and runs[0]["status"] == status else None

    return dict(await stack.wait_for(check, within=10))


async def held_call(stack: Stack, to: str = LISTENS) -> tuple[dict[str, Any], str, int]:
    """A reminder whose call the person answered and keeps in the air: (reminder, the Vapi
    call id, our execution id)."""
    stack.vapi.hold_calls = True
    reminder = await remind(stack, to)
    (call_id,) = await stack.wait_for(lambda: stack.vapi.held)
    call = stack.vapi.call(call_id)
    assert call is not None
    return reminder, call_id, int(call["assistantOverrides"]["metadata"]["execution_id"])


def one_line(exchange: ToolExchange, sentence: str, *, ends_call: bool) -> None:
    """Vapi took our answer: 200, one result, this sentence, and the call ends (or not)."""
    assert (exchange.http_status, exchange.problems) == (200, [])
    (result,) = exchange.answer["results"]
    assert result["result"] == sentence
    assert exchange.ends_call is ends_call
    if ends_call:
        assert result["message"] == {
            "type": "request-complete",
            "content": sentence,
            "endCallAfterSpokenEnabled": True,
        }
    else:
        assert "message" not in result


async def suppression(stack: Stack, number: str) -> tuple[int, Any]:
    return await stack.call("GET", f"/suppressions/{number}")


# ----------------------------------------------------------------------------- item 21
async def test_the_call_carries_a_transient_assistant_that_identifies_first(
    sqlite_url: str,
) -> None:
    async with running_stack(sqlite_url) as stack:
        acme(stack)
        reminder = await remind(stack)
        await settled(stack, reminder["id"], "completed")
        (run,) = await executions(stack, reminder["id"])
    (body,) = stack.vapi.create_bodies
    assert stack.vapi.rejections == []  # Vapi's SDK took it, strictly
    assert "assistantId" not in body
    assert body["assistantOverrides"] == {
        "metadata": {
            "execution_id": str(run["id"]),
            "organization_id": stack.org_id,
            "reminder_id": str(reminder["id"]),
        }
    }
    assistant = body["assistant"]
    said = assistant["firstMessage"]
    assert said.startswith(f"{OPENS} {DISCLOSURE} {DOSE} ")
    assert said.endswith(OPT_OUT)
    assert "To reach Acme Pharmacy, call +1 415-555-0100." in said
    assert assistant["keypadInputPlan"] == {"enabled": True, "timeoutSeconds": 2, "delimiters": "#"}


async def test_the_three_tools_are_answered_at_tools_with_the_executions_call_token(
    sqlite_url: str,
) -> None:
    async with running_stack(sqlite_url) as stack:
        reminder = await remind(stack)
        await settled(stack, reminder["id"], "completed")
        (run,) = await executions(stack, reminder["id"])
    tools = stack.vapi.create_bodies[0]["assistant"]["model"]["tools"]
    token = call_token(stack.vapi.webhook_secret, run["id"])
    assert [t.get("function", {}).get("name") for t in tools] == [
        "confirm_reminder",
        "snooze_reminder",
        "stop_calls",
        None,
    ]
    assert tools[-1] == {"type": "endCall"}
    for tool in tools[:3]:
        assert tool["server"] == {
            "url": f"{stack.root}/api/providers/vapi/tools",
            "timeoutSeconds": 10,
            "headers": {"x-vapi-secret": token},
        }


async def test_a_marketing_call_offers_the_opt_out_right_after_the_identification(
    sqlite_url: str,
) -> None:
    async with running_stack(sqlite_url) as stack:
        acme(stack)
        consent = {
            "phone_number": LISTENS,
            "type": "express_written",
            "purpose": "marketing",
            "source": "web_form",
            "text": "Acme Pharmacy may call me with offers, using an automated voice.",
            "captured_at": "2026-03-01T10:12:00Z",
        }
        stack.dc.consents.create_for(stack.org_id, consent, Actor("admin", "e2e"))
        reminder = await remind(stack, purpose="marketing")
        await settled(stack, reminder["id"], "completed")
    said = stack.vapi.create_bodies[0]["assistant"]["firstMessage"]
    assert said.startswith(f"{OPENS} {OPT_OUT} {DISCLOSURE} {DOSE} ")


async def test_without_ai_disclosure_the_call_does_not_say_it_is_automated(
    sqlite_url: str,
) -> None:
    async with running_stack(sqlite_url) as stack:
        acme(stack, ai_disclosure=False)
        reminder = await remind(stack)
        await settled(stack, reminder["id"], "completed")
    said = stack.vapi.create_bodies[0]["assistant"]["firstMessage"]
    assert said.startswith(f"{OPENS} {DOSE} ")
    assert "automated" not in said and said.endswith(OPT_OUT)


# ----------------------------------------------------------------------------- item 22
@pytest.mark.parametrize(
    "template",
    [
        "{identification} {disclosure} {message} {actions} {callback}",  # no {opt_out}
        "Hello. {identification} {disclosure} {message} {actions} {callback} {opt_out}",
    ],
    ids=["no-opt-out", "not-first"],
)
async def test_a_template_that_would_drop_the_opt_out_or_the_identification_is_refused(
    sqlite_url: str, template: str
) -> None:
    async with running_stack(sqlite_url, dispatch=False) as stack:
        command = [sys.executable, "-m", "dialcues_cli.main", "orgs", "set-policy"]
        process = await asyncio.create_subprocess_exec(
            *command, "--org", stack.org_id, "--opening-template", template,
            env=stack.env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, stderr = await asyncio.wait_for(process.communicate(), 60)
        status, policy = await stack.call("GET", "/policy")
    line = stderr.decode().strip()
    assert process.returncode == 2, line
    assert line.startswith("dialcues: validation_error: ") and "opening_template" in line
    assert (status, policy["opening_template"]) == (200, None)


async def test_a_vapi_reminder_without_a_caller_name_is_refused(sqlite_url: str) -> None:
    async with running_stack(sqlite_url, dispatch=False) as stack:
        set_policy(stack, caller_name=None)  # new organizations are named after themselves
        status, refused = await stack.call("POST", "/reminders", reminder_body())
        _, page = await stack.call("GET", "/reminders")
    assert status == 422
    assert refused["error"]["code"] == "caller_identity_required"
    assert refused["error"]["details"]["missing"] == ["caller_name"]
    assert page["items"] == []


# ----------------------------------------------------------------------------- item 23
@pytest.mark.parametrize("shape", list(ArgumentShape))
async def test_tools_applies_confirm_snooze_and_stop_in_every_argument_shape(
    sqlite_url: str, shape: ArgumentShape
) -> None:
    async with running_stack(sqlite_url) as stack:
        acme(stack)
        reminder, call_id, execution_id = await held_call(stack)
        vapi = stack.vapi
        confirm = await vapi.post_tool_calls(
            call_id, [ToolRequest("confirm_reminder")], shape=shape, said=KEYPAD_PREFIX + "1"
        )
        snooze = await vapi.post_tool_calls(
            call_id, [ToolRequest("snooze_reminder", {"minutes": 5})], shape=shape
        )
        stop = await vapi.post_tool_calls(call_id, [ToolRequest("stop_calls")], shape=shape)
        vapi.end_call(call_id)
        done = await finished(stack, execution_id)
        await settled(stack, reminder["id"], "suppressed")
        entry_status, entry = await suppression(stack, LISTENS)

    one_line(confirm, CONFIRMED, ends_call=True)
    (snoozed, stopped) = done["actions"][1:]
    back = datetime.fromisoformat(snoozed["detail"]["attempt_at"].replace("Z", "+00:00"))
    back = back.astimezone(LONDON)
    at = back.strftime("%I:%M %p").lstrip("0")
    one_line(snooze, f"Okay, I'll call you back at {at}. Goodbye.", ends_call=True)
    one_line(stop, STOPPED, ends_call=True)
    assert {e.shape for e in (confirm, snooze, stop)} == {shape}
    assert [(a["type"], a["via"], a["outcome"]) for a in done["actions"]] == [
        ("confirm", "keypad", "applied"),
        ("snooze", "voice", "applied"),
        ("stop", "voice", "applied"),
    ]
    assert snoozed["detail"]["minutes"] == 5
    assert stopped["detail"] == {"reason": "opt_out_voice"}
    assert (done["status"], done["confirmation"]) == ("completed", "opted_out")
    assert (entry_status, entry["reason"]) == (200, "opt_out_voice")


async def test_the_person_at_each_ending_acts_through_the_fakes_tool_calls(
    sqlite_url: str,
) -> None:
    async with running_stack(sqlite_url) as stack:
        acme(stack)
        made = {to: await remind(stack, to) for to in (CONFIRMS, SNOOZES, PRESSES_9, SAYS_STOP)}
        runs = {to: await newest_run(stack, r["id"], "completed") for to, r in made.items()}
        await settled(stack, made[CONFIRMS]["id"], "completed")
        await settled(stack, made[PRESSES_9]["id"], "suppressed")
        await settled(stack, made[SAYS_STOP]["id"], "suppressed")
        snoozed = await settled(stack, made[SNOOZES]["id"], "scheduled")
    exchanges = {e.payload["message"]["customer"]["number"]: e for e in stack.vapi.tool_exchanges}
    assert {to: e.requests[0].name for to, e in exchanges.items()} == {
        CONFIRMS: "confirm_reminder",
        SNOOZES: "snooze_reminder",
        PRESSES_9: "stop_calls",
        SAYS_STOP: "stop_calls",
    }
    assert all(e.problems == [] and e.ends_call for e in exchanges.values())
    assert {to: r["confirmation"] for to, r in runs.items()} == {
        CONFIRMS: "confirmed",
        SNOOZES: "snoozed",
        PRESSES_9: "opted_out",
        SAYS_STOP: "opted_out",
    }
    assert [a["via"] for a in runs[SAYS_STOP]["actions"]] == ["voice"]
    assert runs[PRESSES_9]["actions"][0]["detail"] == {"reason": "opt_out_keypress"}
    attempt_at = runs[SNOOZES]["actions"][0]["detail"]["attempt_at"]  # in milliseconds
    assert snoozed["next_attempt_at"] == attempt_at[:19] + "Z"


async def test_a_repeated_tool_call_id_gets_the_same_answer_and_acts_once(
    sqlite_url: str,
) -> None:
    async with running_stack(sqlite_url) as stack:
        _, call_id, execution_id = await held_call(stack)
        again = ToolRequest("snooze_reminder", {"minutes": 7})
        first = await stack.vapi.post_tool_calls(call_id, [again])
        second = await stack.vapi.post_tool_calls(call_id, [again])
        stack.vapi.end_call(call_id)
        done = await finished(stack, execution_id)
    assert first.answer == second.answer and second.problems == []
    assert [(a["type"], a["outcome"]) for a in done["actions"]] == [("snooze", "applied")]


async def test_minutes_out_of_range_get_the_harmless_answer_and_nothing_happens(
    sqlite_url: str,
) -> None:
    async with running_stack(sqlite_url) as stack:
        reminder, call_id, execution_id = await held_call(stack)
        asked = await stack.vapi.tool_call(call_id, "snooze_reminder", minutes=500)
        stack.vapi.end_call(call_id)
        done = await finished(stack, execution_id)
        after = await settled(stack, reminder["id"], "completed")
    one_line(asked, ASK_MINUTES, ends_call=False)
    assert [(a["type"], a["outcome"], a["detail"]) for a in done["actions"]] == [
        ("snooze", "refused", {"refusal": "invalid_arguments"})
    ]
    assert (done["confirmation"], after["next_attempt_at"]) == ("no_input", None)


async def test_an_unknown_tool_gets_an_error(sqlite_url: str) -> None:
    async with running_stack(sqlite_url) as stack:
        _, call_id, execution_id = await held_call(stack)
        unknown = await stack.vapi.tool_call(call_id, "transfer_call", to="+15550000000")
        stack.vapi.end_call(call_id)
        done = await finished(stack, execution_id)
    assert (unknown.http_status, unknown.problems) == (200, [])
    assert unknown.answer == {
        "results": [
            {
                "toolCallId": unknown.requests[0].id,
                "name": "transfer_call",
                "error": "That action is not available on this call.",
            }
        ]
    }
    assert done["actions"] == []


@pytest.mark.parametrize("secret", ["wrong", None, "other-execution"])
async def test_a_tool_call_without_the_right_secret_is_401_and_changes_nothing(
    sqlite_url: str, secret: str | None
) -> None:
    async with running_stack(sqlite_url) as stack:
        _, call_id, execution_id = await held_call(stack)
        if secret == "other-execution":
            secret = call_token(stack.vapi.webhook_secret, execution_id + 1)
        headers = {"x-vapi-secret": secret} if secret is not None else {}
        stop = ToolRequest("stop_calls")
        refused = await stack.vapi.post_tool_calls(call_id, [stop], headers=headers)
        stack.vapi.end_call(call_id)
        done = await finished(stack, execution_id)
        entry_status, _ = await suppression(stack, LISTENS)
    assert refused.http_status == 401
    assert refused.answer["error"]["code"] == "invalid_provider_event"
    assert (done["actions"], done["confirmation"], entry_status) == ([], "no_input", 404)


async def test_a_stop_after_the_call_ended_still_applies(sqlite_url: str) -> None:
    async with running_stack(sqlite_url) as stack:
        _, call_id, execution_id = await held_call(stack)
        stack.vapi.end_call(call_id)
        ended = await finished(stack, execution_id)
        late_confirm = await stack.vapi.tool_call(call_id, "confirm_reminder")
        late_stop = await stack.vapi.post_tool_calls(
            call_id, [ToolRequest("stop_calls")], said=KEYPAD_PREFIX + "9"
        )
        done = await execution(stack, execution_id)
        entry_status, entry = await suppression(stack, LISTENS)
    assert (ended["status"], ended["confirmation"]) == ("completed", "no_input")
    one_line(late_confirm, "This call has already ended, so I can't do that now.", ends_call=False)
    one_line(late_stop, STOPPED, ends_call=True)
    assert [(a["type"], a["outcome"], a["via"]) for a in done["actions"]] == [
        ("confirm", "refused", "voice"),
        ("stop", "applied", "keypad"),
    ]
    assert done["confirmation"] == "opted_out"
    assert (entry_status, entry["reason"]) == (200, "opt_out_keypress")


# ----------------------------------------------------------------------------- item 24
async def test_a_keypad_9_in_the_transcript_opts_out_without_any_tool_call(
    sqlite_url: str,
) -> None:
    async with running_stack(sqlite_url) as stack:
        stack.vapi.send_tool_calls = False  # the model missed it; the transcript did not
        reminder = await remind(stack, PRESSES_9)
        ended = await newest_run(stack, reminder["id"], "completed")

        async def heard() -> dict[str, Any] | None:  # the report comes after the end
            found = await execution(stack, ended["id"])
            return found if found["actions"] else None

        run = await stack.wait_for(heard)
        entry_status, entry = await suppression(stack, PRESSES_9)
        status, refused = await stack.call("POST", "/reminders", reminder_body(PRESSES_9))
        _, after = await stack.call("GET", f"/reminders/{reminder['id']}")
    assert stack.vapi.tool_exchanges == []
    # the report came after the outcome: the one-off is suppressed all the same
    assert after["status"] == "suppressed"
    (report,) = [d for d in stack.vapi.deliveries if d.type == "end-of-call-report"]
    turns = report.payload["message"]["artifact"]["messages"]
    assert turns[-1]["message"] == "User's Keypad Entry: 9"
    assert (run["status"], run["confirmation"]) == ("completed", "opted_out")
    assert [(a["type"], a["via"], a["outcome"]) for a in run["actions"]] == [
        ("stop", "transcript", "applied")
    ]
    assert (entry_status, entry["reason"]) == (200, "opt_out_keypress")
    assert (status, refused["error"]["code"]) == (422, "recipient_suppressed")


async def test_a_confirmed_call_that_ends_manually_canceled_is_completed_not_retried(
    sqlite_url: str,
) -> None:
    async with running_stack(sqlite_url) as stack:
        stack.vapi.set_outcome(CONFIRMS, "manually-canceled")
        reminder = await remind(stack, CONFIRMS)
        done = await settled(stack, reminder["id"], "completed")
        await asyncio.sleep(1.5)  # longer than the stack's retry delay: no second call
        runs = await executions(stack, reminder["id"])
    (run,) = runs
    assert (run["status"], run["ended_reason"], run["confirmation"]) == (
        "completed", "manually-canceled", "confirmed",
    )  # fmt: skip
    assert run["confirmed_at"] is not None and done["next_attempt_at"] is None
    assert len(stack.vapi.calls) == 1
