"""In-call actions: confirm, snooze and stop, as the person asks during the call (§11).

Vapi's tool calls (``POST /api/providers/vapi/tools``), the simulated person and the opt-out
found in an end-of-call transcript all come here. Each tool call is answered once: its
answer is stored with the action on the execution, so the same ``toolCallId`` again gets the
same answer and changes nothing. A stop acts at once, in the tool call's transaction (a
suppression entry, the number's consents revoked), even after the call ended; confirm and
snooze need the call in the air and take effect on the reminder when the call's outcome is
applied (:meth:`Attempts._finish_all`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from dialcues_core.audit.model import Actor
from dialcues_core.calls import actions as said
from dialcues_core.calls.actions import (
    TOOLS,
    Action,
    ActionType,
    ToolAnswer,
    ToolCall,
    parse_minutes,
)
from dialcues_core.calls.model import INBOUND_USER, ExecutionStatus
from dialcues_core.calls.ports import CallEvent, LiveExecution
from dialcues_core.consent.model import Source
from dialcues_core.dispatch import policy
from dialcues_core.dispatch.attempts import Attempts
from dialcues_core.dispatch.gatekeeper import Gatekeeper
from dialcues_core.kernel.localtime import load_zone, to_local
from dialcues_core.kernel.timefmt import millis


class InCall:
    """Apply what a person does during a call."""

    def __init__(self, attempts: Attempts):
        self.attempts = attempts

    def tool_calls(
        self, secret: str | None, about: CallEvent | None, calls: list[ToolCall], via: str
    ) -> list[ToolAnswer]:
        """Authenticate (the call token or the organization's secret, as for events) and
        answer every tool call in order, in one transaction."""
        a = self.attempts
        with a.tx.atomic(), a.outbox.collecting():
            execution = a.authenticate(secret, about)
            return [self._answer(execution.id, call, via) for call in calls]

    def act(self, execution_id: int, call: ToolCall, via: str) -> ToolAnswer:
        """One tool call of a trusted dialer (the simulated person), in its own transaction."""
        a = self.attempts
        with a.tx.atomic(), a.outbox.collecting():
            return self._answer(execution_id, call, via)

    def heard(self, execution_id: int, opt_out: str) -> None:
        """The safety net: an opt-out found in the end-of-call transcript, applied unless the
        call already carries a stop (call it in the transaction that applies the outcome)."""
        e = self._execution(execution_id)
        if e is None or e.actions.stopped:
            return
        self._stop(e, "transcript", None, reason=opt_out)

    # ------------------------------------------------------------------ one tool call
    def _execution(self, execution_id: int) -> LiveExecution | None:
        return self.attempts.store.executions_by_id([execution_id]).get(execution_id)

    def _answer(self, execution_id: int, call: ToolCall, via: str) -> ToolAnswer:
        kind = TOOLS.get(call.name)
        if kind is None:
            return ToolAnswer(call.id, call.name, error=said.NOT_AVAILABLE)
        e = self._execution(execution_id)
        if e is None:
            return ToolAnswer(call.id, call.name, error=said.NOT_AVAILABLE)
        done = e.actions.answered(call.id)
        if done is not None:
            return ToolAnswer(call.id, call.name, result=done.result, end_call=done.applied)
        if e.user_id == INBOUND_USER:  # a readback: the tool names a reminder by its place
            action = Readback(self, e).act(kind, call, via)
            ends = action.applied and kind is ActionType.STOP  # else the next one is read
            return ToolAnswer(call.id, call.name, result=action.result, end_call=ends)
        if kind is ActionType.STOP:
            action = self._stop(e, via, call.id)
        elif e.actions.stopped:
            action = self._refuse(e, kind, via, call.id, "opted_out", said.OPTED_OUT)
        elif e.status is not ExecutionStatus.IN_PROGRESS:
            action = self._refuse(e, kind, via, call.id, "call_ended", said.CALL_ENDED)
        elif kind is ActionType.CONFIRM:
            action = self._record(
                e, Action(kind, self._now(), via, "applied", {}, call.id, said.CONFIRMED)
            )
        else:
            action = self._snooze(e, call, via)
        return ToolAnswer(call.id, call.name, result=action.result, end_call=action.applied)

    def _now(self) -> datetime:
        return self.attempts.clock.now()

    def _record(self, e: LiveExecution, action: Action) -> Action:
        actions = e.actions.plus(action)
        final = e.status.is_final
        confirmation = (
            actions.confirmation(e.status is ExecutionStatus.COMPLETED) if final else None
        )
        confirmed_at = actions.confirmed_at() if final else None
        self.attempts.store.set_actions(e.id, actions, confirmation, confirmed_at)
        return action

    def _refuse(
        self,
        e: LiveExecution,
        kind: ActionType,
        via: str,
        call_id: str | None,
        refusal: str,
        sentence: str,
        detail: dict[str, object] | None = None,
    ) -> Action:
        found = {**(detail or {}), "refusal": refusal}
        return self._record(e, Action(kind, self._now(), via, "refused", found, call_id, sentence))

    def _stop(
        self,
        e: LiveExecution,
        via: str,
        call_id: str | None,
        reason: str | None = None,
        detail: dict[str, object] | None = None,
    ) -> Action:
        """Suppress the number at once (its consents revoked), whenever the stop arrives. An
        inbound call's number is its caller's (``from``), an outbound call's its callee's."""
        opt_outs = self.attempts.opt_outs
        reason = reason or ("opt_out_keypress" if via == "keypad" else "opt_out_voice")
        number = e.from_number if e.user_id == INBOUND_USER else e.to
        if opt_outs is not None and number:
            source = Source("execution", e.id, e.user_id or None)
            opt_outs.suppress(e.organization_id, number, reason, source, Actor("recipient", e.id))
        found = {**(detail or {}), "reason": reason}
        action = Action(ActionType.STOP, self._now(), via, "applied", found, call_id, said.STOPPED)
        if e.status.is_final:
            self._suppress_reminder(e)
        return self._record(e, action)

    def _suppress_reminder(self, e: LiveExecution) -> None:
        """A stop that arrives after its call's outcome was applied (Vapi's end-of-call
        report usually comes after the ``ended`` status): the reminder this call moved on is
        ``suppressed`` now, as if the stop had come first. One paused, deleted or moved on by
        another attempt since is left alone (gate check 1 suppresses a later attempt)."""
        a = self.attempts
        found = a.store.attempted([e.reminder_id]).get(e.reminder_id) if e.reminder_id else None
        if found is None or found[1] != e.id:
            return
        attempted = found[0]
        if attempted.status not in policy.SUPPRESSIBLE:
            return
        step = policy.after_suppressed(attempted)
        assert e.reminder_id is not None
        a.store.set_reminder_steps([(e.reminder_id, step, e.id)], self._now())
        a.outbox.steps([(e.user_id, e.reminder_id, step)])

    def _snooze(self, e: LiveExecution, call: ToolCall, via: str) -> Action:
        a, kind = self.attempts, ActionType.SNOOZE
        minutes = parse_minutes(call.arguments)
        if minutes is None:
            return self._refuse(e, kind, via, call.id, "invalid_arguments", said.ASK_MINUTES)
        found = a.store.attempted([e.reminder_id]).get(e.reminder_id) if e.reminder_id else None
        now = self._now()
        keeper = Gatekeeper(a.store, a.settings, a.store.providers_of({e.organization_id}), now)
        if not minutes:
            minutes = keeper.effective(e.organization_id).identity.snooze_default_minutes
        if found is None or found[1] != e.id:
            # a call placed now (or a reminder that moved on) has no attempt to call back
            return self._refuse(
                e, kind, via, call.id, "budget_exhausted", said.NO_SNOOZE, {"minutes": minutes}
            )
        attempted = found[0]
        rules = keeper.rules_of(e.organization_id, attempted)
        place = attempted.place(rules.basis)
        at = policy.snooze_at(attempted, now + timedelta(minutes=minutes), rules, place)
        if at is None:
            spent = attempted.retry_count + 1 >= rules.retry.max_attempts
            refusal = "budget_exhausted" if spent else "past_deadline"
            return self._refuse(
                e, kind, via, call.id, refusal, said.NO_SNOOZE, {"minutes": minutes}
            )
        zone = load_zone(attempted.timezone or "UTC")
        local = to_local(at, zone)
        sentence = said.SNOOZED.format(time=local.strftime("%I:%M %p").lstrip("0"))
        detail = {"minutes": minutes, "attempt_at": millis(at)}
        return self._record(e, Action(kind, now, via, "applied", detail, call.id, sentence))


class Readback:
    """A readback's in-call actions (``telephony.md`` §3.2): each tool names the reminder by
    ``item``, its place in the reading order kept on the inbound execution. Confirm is recorded
    only; snooze moves the reminder's next occurrence (its first dial) by the minutes, within
    its lateness cap and outside its attempt budget; stop suppresses the caller's number."""

    def __init__(self, in_call: InCall, execution: LiveExecution):
        self.in_call = in_call
        self.e = execution

    def act(self, kind: ActionType, call: ToolCall, via: str) -> Action:
        """Apply one tool call of a readback."""
        e, ic = self.e, self.in_call
        reminder_id, item = self._item(call)
        if reminder_id is None:
            return ic._refuse(e, kind, via, call.id, "invalid_arguments", ASK_ITEM)
        detail: dict[str, object] = {"item": item, "reminder_id": reminder_id}
        if kind is ActionType.STOP:
            return ic._stop(e, via, call.id, detail=detail)
        if e.actions.stopped:
            return ic._refuse(e, kind, via, call.id, "opted_out", said.OPTED_OUT, detail)
        if kind is ActionType.CONFIRM:
            action = Action(kind, ic._now(), via, "applied", detail, call.id, HEARD)
            return ic._record(e, action)
        return self._snooze(call, via, reminder_id, detail)

    def _item(self, call: ToolCall) -> tuple[int | None, int | None]:
        """The reminder the tool names (None: no such place in the reading order)."""
        arguments = call.arguments or {}
        item = arguments.get("item")
        order = self.in_call.attempts.store.readback_of(self.e.id)
        if isinstance(item, bool) or not isinstance(item, int) or not 1 <= item <= len(order):
            return None, None
        return order[item - 1], item

    def _snooze(
        self, call: ToolCall, via: str, reminder_id: int, detail: dict[str, object]
    ) -> Action:
        e, ic, kind = self.e, self.in_call, ActionType.SNOOZE
        a = ic.attempts
        minutes = parse_minutes(call.arguments, allow_item=True)
        if minutes is None:
            return ic._refuse(e, kind, via, call.id, "invalid_arguments", said.ASK_MINUTES, detail)
        now = ic._now()
        keeper = Gatekeeper(a.store, a.settings, a.store.providers_of({e.organization_id}), now)
        effective = keeper.effective(e.organization_id)
        minutes = minutes or effective.identity.snooze_default_minutes
        found = a.store.attempted([reminder_id]).get(reminder_id)
        attempted = found[0] if found is not None else None
        # the reading order holds the organization's reminders to this caller, as read
        ours = attempted is not None and attempted.phone_number == e.from_number
        if attempted is None or not ours or attempted.status.value != "scheduled":
            return ic._refuse(e, kind, via, call.id, "past_deadline", said.NO_SNOOZE, detail)
        occurrence = attempted.scheduled_at
        at = occurrence + timedelta(minutes=minutes)
        cap = attempted.max_lateness_seconds or effective.max_lateness
        if at > occurrence + timedelta(seconds=cap) or not a.store.snooze_occurrence(
            reminder_id, at
        ):
            return ic._refuse(e, kind, via, call.id, "past_deadline", said.NO_SNOOZE, detail)
        local = to_local(at, load_zone(attempted.timezone or "UTC"))
        sentence = SNOOZED_READBACK.format(time=local.strftime("%I:%M %p").lstrip("0"))
        found_detail = {**detail, "minutes": minutes, "attempt_at": millis(at)}
        return ic._record(e, Action(kind, now, via, "applied", found_detail, call.id, sentence))


ASK_ITEM = "Which reminder do you mean? Say its number in the list."
HEARD = "Thank you, noted. Say next or press 3 for the next one."
SNOOZED_READBACK = "Okay, I'll call you about it at {time}. Say next or press 3 for the next one."
