"""The outcome table of spec/vapi.md: every row, its order, and the unknown."""

from __future__ import annotations

import pytest

from dialcues_core.calls.model import ExecutionStatus
from dialcues_core.calls.outcomes import (
    CATCH_ALL,
    OUTCOME_TABLE,
    Outcome,
    classify,
    for_missing_call,
    for_rejected_create,
    row_for,
)

COMPLETED = [
    "assistant-ended-call",
    "assistant-ended-call-after-message-spoken",
    "assistant-said-end-call-phrase",
    "customer-ended-call",
    "exceeded-max-duration",
]
RETRIED_FAILURES = [
    "twilio-failed-to-connect-call",
    "vonage-failed-to-connect-call",
    "phone-call-provider-closed-websocket",
    "worker-shutdown",
    "call.start.error-subscription-concurrency-limit-reached",
    "pipeline-error-openai-llm-failed",
    "call.in-progress.error-vapifault-openai-voice-failed",
    "call.in-progress.error-providerfault-twilio-failed",
    "call.start.error-vapifault-database-error",
]
OPERATOR_FAILURES = [
    "call.start.error-vapi-number-international",
    "assistant-not-found",
    "assistant-not-valid",
    "call.start.error-subscription-insufficient-credits",
    "call.start.error-get-phone-number",
]


@pytest.mark.parametrize("reason", COMPLETED)
def test_a_call_ended_by_a_party_is_completed(reason: str) -> None:
    assert classify(reason) == Outcome(ExecutionStatus.COMPLETED, False, None)


def test_voicemail_is_delivered_and_not_retried() -> None:
    assert classify("voicemail") == Outcome(ExecutionStatus.VOICEMAIL, False, None)


@pytest.mark.parametrize("reason", ["customer-did-not-answer", "silence-timed-out"])
def test_an_unanswered_call_is_no_answer_and_retried(reason: str) -> None:
    assert classify(reason) == Outcome(ExecutionStatus.NO_ANSWER, True, None)


def test_a_busy_line_is_busy_and_retried() -> None:
    assert classify("customer-busy") == Outcome(ExecutionStatus.BUSY, True, None)


@pytest.mark.parametrize("reason", RETRIED_FAILURES)
def test_a_transient_failure_is_retried_with_its_reason(reason: str) -> None:
    outcome = classify(reason)
    assert (outcome.status, outcome.retry, outcome.operator_alert) == ("failed", True, False)
    assert outcome.error_message == f"Call failed: {reason}"


def test_a_misdialed_number_fails_for_good_without_alerting_the_operator() -> None:
    outcome = classify("twilio-reported-customer-misdialed")
    assert outcome == Outcome(
        ExecutionStatus.FAILED, False, "Call failed: twilio-reported-customer-misdialed"
    )


@pytest.mark.parametrize("reason", OPERATOR_FAILURES)
def test_a_configuration_or_billing_failure_is_final_and_alerts_the_operator(reason: str) -> None:
    outcome = classify(reason)
    assert (outcome.status, outcome.retry, outcome.operator_alert) == ("failed", False, True)
    assert outcome.error_message is not None and reason in outcome.error_message


@pytest.mark.parametrize("reason", ["manually-canceled", "scheduled-call-deleted", "call-deleted"])
def test_a_canceled_call_is_canceled_and_not_retried(reason: str) -> None:
    assert classify(reason) == Outcome(ExecutionStatus.CANCELED, False, None)


PROVIDER_REFUSALS = [
    "pipeline-error-openai-401-unauthorized",
    "call.in-progress.error-vapifault-openai-401-incorrect-api-key",
    "call.in-progress.error-vapifault-anthropic-403-model-access-denied",
    "call.in-progress.error-vapifault-groq-400-bad-request-validation-failed",
    "call.in-progress.error-vapifault-openai-429-exceeded-quota",
    "pipeline-error-cartesia-requested-payment",
    "call.in-progress.error-vapifault-eleven-labs-voice-not-found",
    "call.in-progress.error-providerfault-eleven-labs-voice-disabled-by-owner",
    "call.in-progress.error-configfault-model-unsupported-in-squad",
]


@pytest.mark.parametrize("reason", PROVIDER_REFUSALS)
def test_a_refusal_of_our_provider_setup_is_final_and_alerts_even_as_a_fault(reason: str) -> None:
    outcome = classify(reason)
    assert (outcome.status, outcome.retry, outcome.operator_alert) == ("failed", False, True)
    assert outcome.error_message == (
        f"Call failed (provider configuration, credentials or quota): {reason}"
    )


@pytest.mark.parametrize("reason", ["something-new-from-vapi", "hang", "customer-is-a-robot"])
def test_an_unknown_reason_fails_and_is_retried_with_the_reason_kept(reason: str) -> None:
    assert classify(reason) == Outcome(ExecutionStatus.FAILED, True, f"Call failed: {reason}")


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_a_missing_reason_fails_and_is_retried(reason: str | None) -> None:
    outcome = classify(reason)
    assert (outcome.status, outcome.retry) == (ExecutionStatus.FAILED, True)
    assert outcome.error_message == "Call failed: no ended reason reported"


def test_matching_ignores_case_and_blanks_but_the_message_keeps_the_reason() -> None:
    assert classify(" Customer-Busy ").status is ExecutionStatus.BUSY
    assert classify("Twilio-Failed-To-Connect-Call").error_message == (
        "Call failed: Twilio-Failed-To-Connect-Call"
    )


def test_the_first_matching_row_wins_over_a_later_one() -> None:
    # a vapifault at start is retried, although every other call.start.error-* is final
    assert classify("call.start.error-vapifault-get-org").retry is True
    assert classify("call.start.error-get-org").retry is False
    # a vapifault naming a refused key is final, although every other vapifault is retried
    assert classify("call.in-progress.error-vapifault-openai-401-unauthorized").retry is False
    assert classify("call.in-progress.error-providerfault-openai-500-server-error").retry is True
    # a transfer that failed after the person was reached is not a failure to retry
    assert classify("call.in-progress.error-transfer-failed").status is ExecutionStatus.COMPLETED


ONE_PER_ROW = [
    "customer-ended-call",
    "voicemail",
    "silence-timed-out",
    "customer-busy",
    "scheduled-call-deleted",
    "pipeline-error-openai-401-unauthorized",
    "worker-shutdown",
    "assistant-not-valid",
    "twilio-reported-customer-misdialed",
]


def test_every_row_of_the_table_is_exercised_in_order() -> None:
    first_rows = [
        next(index for index, row in enumerate(OUTCOME_TABLE) if row.matches(reason))
        for reason in ONE_PER_ROW
    ]
    assert first_rows == list(range(len(OUTCOME_TABLE)))
    assert [row_for(reason) for reason in ONE_PER_ROW] == list(OUTCOME_TABLE)


@pytest.mark.parametrize("reason", [None, "", "  ", "something-new-from-vapi"])
def test_row_for_gives_the_catch_all_for_no_reason_or_an_unknown_one(reason: str | None) -> None:
    assert row_for(reason) is CATCH_ALL


def test_a_rejected_create_fails_for_good_with_the_providers_message() -> None:
    assert for_rejected_create("Vapi answered 400: bad") == Outcome(
        ExecutionStatus.FAILED, False, "Vapi answered 400: bad"
    )


def test_a_create_reconciliation_did_not_find_fails_and_is_retried() -> None:
    outcome = for_missing_call()
    assert (outcome.status, outcome.retry, outcome.operator_alert) == ("failed", True, False)


def test_an_outcome_is_immutable() -> None:
    with pytest.raises(AttributeError):
        classify("voicemail").retry = True  # type: ignore[misc]
