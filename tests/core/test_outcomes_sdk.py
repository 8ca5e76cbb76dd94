"""Every ended reason of Vapi's official SDK is classified on purpose (vapi.md, amended 2026-12).

vapi-server-sdk 3.0.0 (a test dependency) lists the 604 values of ``Call.endedReason``. Each
must be placed by an explicit entry or a named pattern of the outcome table, never by the
catch-all, which is kept for the values Vapi adds later.
"""

from __future__ import annotations

import typing

import pytest
from vapi.types.call_ended_reason import CallEndedReason

from dialcues_core.calls.model import ExecutionStatus
from dialcues_core.calls.outcomes import CATCH_ALL, OUTCOME_TABLE, Outcome, classify, row_for

SDK_REASONS: tuple[str, ...] = typing.get_args(typing.get_args(CallEndedReason)[0])


def placement(reason: str) -> tuple[str, str]:
    """Return the row's name and what placed ``reason`` in it (explicit, or a pattern's name)."""
    row = row_for(reason)
    if reason in row.reasons:
        return row.name, "explicit"
    pattern = next((p.name for p in row.patterns if p.matches(reason)), "catch-all")
    return row.name, pattern


def test_the_sdk_lists_the_604_values_the_table_was_reviewed_against() -> None:
    # a newer SDK: review its new values against vapi.md's principles, then update this number
    assert len(SDK_REASONS) == len(set(SDK_REASONS)) == 604


def test_no_sdk_value_falls_to_the_catch_all() -> None:
    unplaced = [reason for reason in SDK_REASONS if row_for(reason) is CATCH_ALL]
    assert unplaced == []


def test_every_explicit_entry_is_an_sdk_value_its_own_row_gets() -> None:
    # a misspelt entry would never match; one shadowed by an earlier row would be dead
    for row in OUTCOME_TABLE:
        for reason in row.reasons:
            assert reason in SDK_REASONS, reason
            assert row_for(reason) is row, reason


def test_every_named_pattern_places_at_least_one_sdk_value() -> None:
    used = {placement(reason) for reason in SDK_REASONS}
    for row in OUTCOME_TABLE:
        for pattern in row.patterns:
            assert (row.name, pattern.name) in used, pattern.name


# ------------------------------------------------------------------ the reached, for review
REACHED = sorted(
    [
        "assistant-ended-call",
        "assistant-ended-call-after-message-spoken",
        "assistant-ended-call-with-hangup-task",
        "assistant-forwarded-call",
        "assistant-said-end-call-phrase",
        "call.ending.hook-executed-say",
        "call.ending.hook-executed-transfer",
        "call.forwarding.no-answer",
        "call.forwarding.operator-busy",
        "call.in-progress.error-transfer-failed",
        "call.in-progress.error-warm-transfer-assistant-cancelled",
        "call.in-progress.error-warm-transfer-max-duration",
        "call.in-progress.error-warm-transfer-microphone-timeout",
        "call.in-progress.error-warm-transfer-silence-timeout",
        "call.in-progress.sip-completed-call",
        "call.in-progress.twilio-completed-call",
        "call.ringing.hook-executed-say",
        "call.ringing.hook-executed-transfer",
        "customer-ended-call",
        "customer-ended-call-after-warm-transfer-attempt",
        "customer-ended-call-before-warm-transfer",
        "customer-ended-call-during-transfer",
        "exceeded-max-duration",
        "vonage-completed",
    ]
)


def test_exactly_these_sdk_values_mean_the_person_was_reached() -> None:
    completed = sorted(
        reason for reason in SDK_REASONS if classify(reason).status is ExecutionStatus.COMPLETED
    )
    assert completed == REACHED


@pytest.mark.parametrize("reason", REACHED)
def test_a_person_who_was_reached_is_never_called_again(reason: str) -> None:
    assert classify(reason) == Outcome(ExecutionStatus.COMPLETED, False, None)


# ------------------------------------------------------------------ vapi.md's explicit examples
SPEC_REACHED = [
    "call.in-progress.twilio-completed-call",
    "call.in-progress.sip-completed-call",
    "vonage-completed",
    "assistant-forwarded-call",
    "customer-ended-call-during-transfer",
    "assistant-ended-call-with-hangup-task",
    "assistant-said-end-call-phrase",
    "customer-ended-call-before-warm-transfer",
]


@pytest.mark.parametrize("reason", SPEC_REACHED)
def test_the_specs_reached_examples_are_completed_and_not_retried(reason: str) -> None:
    assert classify(reason) == Outcome(ExecutionStatus.COMPLETED, False, None)


SPEC_REFUSALS = [
    "call-start-error-neither-assistant-nor-server-set",  # call-start-error-*
    "call.start.error-get-assistant",  # call.start.*-error-*
    "call.start.assistant-version-error-validation",
    "call.start.squad-version-error-validation",
    "call.start.error-vapi-number-international",
    "call.start.error-subscription-insufficient-credits",
    "assistant-request-failed",  # assistant-request-*
    "assistant-request-returned-invalid-assistant",
    "assistant-not-found",
    "assistant-not-valid",
    "vonage-rejected",  # *-rejected
    "sip-outbound-unallocated-number",
]


@pytest.mark.parametrize("reason", SPEC_REFUSALS)
def test_the_specs_refusals_fail_for_good_and_alert_the_operator(reason: str) -> None:
    outcome = classify(reason)
    assert (outcome.status, outcome.retry, outcome.operator_alert) == ("failed", False, True)
    assert outcome.error_message is not None and reason in outcome.error_message


@pytest.mark.parametrize("reason", ["manually-canceled", "scheduled-call-deleted"])
def test_the_specs_cancellations_are_canceled_and_not_retried(reason: str) -> None:
    assert classify(reason) == Outcome(ExecutionStatus.CANCELED, False, None)


@pytest.mark.parametrize(
    ("reason", "status", "retry"),
    [
        ("voicemail", ExecutionStatus.VOICEMAIL, False),
        ("customer-did-not-answer", ExecutionStatus.NO_ANSWER, True),
        ("silence-timed-out", ExecutionStatus.NO_ANSWER, True),
        ("customer-busy", ExecutionStatus.BUSY, True),
        ("assistant-ended-call", ExecutionStatus.COMPLETED, False),
        ("exceeded-max-duration", ExecutionStatus.COMPLETED, False),
        ("twilio-reported-customer-misdialed", ExecutionStatus.FAILED, False),
    ],
)
def test_the_tables_explicit_rows_keep_their_meaning(
    reason: str, status: ExecutionStatus, retry: bool
) -> None:
    outcome = classify(reason)
    assert (outcome.status, outcome.retry) == (status, retry)


TRANSIENT = [
    "twilio-failed-to-connect-call",
    "vonage-failed-to-connect-call",
    "call.in-progress.error-sip-outbound-call-failed-to-connect",
    "phone-call-provider-closed-websocket",
    "worker-shutdown",
    "call.start.error-subscription-concurrency-limit-reached",
    "call.start.error-vapifault-database-error",
    "call.in-progress.error-vapifault-worker-died",
    "call.in-progress.error-vapifault-transport-never-connected",
    "call.in-progress.error-providerfault-openai-500-server-error",
    "call.in-progress.error-providerfault-anthropic-503-server-overloaded-error",
    "pipeline-error-cartesia-502-server-error",
    "pipeline-error-playht-504-gateway-error",
    "call.in-progress.error-vapifault-cartesia-socket-hang-up",
    "call.in-progress.error-vapifault-playht-request-timed-out",
    "pipeline-error-deepgram-returning-econnreset",
    "pipeline-error-openai-llm-failed",
    "call.in-progress.error-vapifault-openai-429-rate-limit-reached",
    "pipeline-error-soniox-transcriber-rate-limited",
    "call.in-progress.error-providerfault-eleven-labs-system-busy-and-requested-upgrade",
    "call.in-progress.error-providerfault-outbound-sip-503-service-unavailable",
]


@pytest.mark.parametrize("reason", TRANSIENT)
def test_a_transient_fault_is_retried_without_alerting(reason: str) -> None:
    assert classify(reason) == Outcome(ExecutionStatus.FAILED, True, f"Call failed: {reason}")


SAME_AGAIN = [
    "call.in-progress.error-vapifault-openai-401-unauthorized",
    "pipeline-error-openai-401-incorrect-api-key",
    "call.in-progress.error-vapifault-google-403-model-access-denied",
    "call.in-progress.error-vapifault-mistral-400-bad-request-validation-failed",
    "call.in-progress.error-vapifault-azure-openai-429-exceeded-quota",
    "pipeline-error-eleven-labs-quota-exceeded",
    "call.in-progress.error-vapifault-cartesia-requested-payment",
    "pipeline-error-playht-out-of-credits",
    "call.in-progress.error-vapifault-eleven-labs-voice-not-found",
    "pipeline-error-playht-invalid-voice",
    "call.in-progress.error-vapifault-deepgram-returning-401-invalid-credentials",
    "pipeline-error-deepgram-transcriber-api-key-missing",
    "call.in-progress.error-vapifault-xai-transcriber-auth-failed",
    "call.in-progress.error-vapifault-assembly-ai-returning-500-invalid-schema",
    "call.in-progress.error-configfault-transport-unsupported-for-model",
    "call.in-progress.error-pipeline-no-available-llm-model",
    "call.in-progress.error-providerfault-outbound-sip-403-forbidden",
    "call.in-progress.error-providerfault-outbound-sip-407-proxy-authentication-required",
    "call.in-progress.error-vapifault-eleven-labs-blocked-content-against-their-policy",
]


@pytest.mark.parametrize("reason", SAME_AGAIN)
def test_a_fault_that_fails_the_same_way_again_is_final_and_alerts(reason: str) -> None:
    outcome = classify(reason)
    assert (outcome.status, outcome.retry, outcome.operator_alert) == ("failed", False, True)


UNCLEAR = [
    "vonage-disconnected",
    "sip-outbound-carrier-released-call",
    "assistant-join-timed-out",
    "call.in-progress.error-assistant-did-not-receive-customer-audio",
    "customer-did-not-give-microphone-permission",
    "call.in-progress.error-sip-inbound-call-failed-to-connect",
    "call.ringing.error-sip-inbound-call-failed-to-connect",
    "call.ringing.sip-inbound-caller-hungup-before-call-connect",
]


@pytest.mark.parametrize("reason", UNCLEAR)
def test_an_unclear_reason_is_not_retried_never_twice_beats_once(reason: str) -> None:
    assert classify(reason) == Outcome(ExecutionStatus.FAILED, False, f"Call failed: {reason}")


# ------------------------------------------------------------------ values Vapi adds later
def test_an_unknown_future_value_is_left_to_the_catch_all() -> None:
    reason = "call.in-progress.error-something-vapi-adds-next-month"
    assert reason not in SDK_REASONS
    assert row_for(reason) is CATCH_ALL
    assert classify(reason) == Outcome(ExecutionStatus.FAILED, True, f"Call failed: {reason}")


@pytest.mark.parametrize(
    ("reason", "retry", "alert"),
    [
        ("call.in-progress.error-vapifault-new-llm-401-unauthorized", False, True),
        ("pipeline-error-new-voice-quota-exceeded", False, True),
        ("call.in-progress.error-providerfault-new-llm-500-server-error", True, False),
        ("pipeline-error-new-transcriber-failed", True, False),
    ],
)
def test_a_future_value_of_a_named_family_follows_its_family(
    reason: str, retry: bool, alert: bool
) -> None:
    assert row_for(reason) is not CATCH_ALL
    outcome = classify(reason)
    assert (outcome.status, outcome.retry, outcome.operator_alert) == ("failed", retry, alert)
