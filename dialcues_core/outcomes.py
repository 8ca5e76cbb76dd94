"""What a call's ended reason means: the one outcome table of ``spec/vapi.md``, as data.

Vapi reports why a call ended as an ``endedReason`` string (the simulated dialer speaks the
same vocabulary). :data:`OUTCOME_TABLE` maps it to an execution status and whether another
attempt is due; the first row that matches wins, so order matters (a
``call.start.error-vapifault-…`` is retried by the fault row before the
``call.start.error-*`` row could refuse it)::

    reason                                              status      retry  operator alert
    assistant-ended-call, …-after-message-spoken,       completed   no
      assistant-said-end-call-phrase,
      customer-ended-call, exceeded-max-duration
    voicemail                                           voicemail   no
    customer-did-not-answer, silence-timed-out          no_answer   yes
    customer-busy                                       busy        yes
    twilio-/vonage-failed-to-connect-call,              failed      yes
      phone-call-provider-closed-websocket,
      worker-shutdown, *vapifault*, *providerfault*,
      *pipeline-error*, call.start.error-subscription-
      concurrency-limit-reached
    twilio-reported-customer-misdialed                  failed      no
    call.start.error-vapi-number-international,         failed      no     yes
      assistant-not-found, assistant-not-valid,
      every other call.start.error-* (configuration
      or billing)
    manually-canceled, scheduled-call-deleted           failed      no     ("canceled")
    any other reason, or none at all                    failed      yes    (reason kept)

vapi.md's refusal row is split in two here only so that a misdialed number (the user's
mistake) does not page the operator. The create-time rows of vapi.md (4xx, 429, unknown)
are not ended reasons: :func:`for_rejected_create` and :func:`for_missing_call` give the
first and last of them; a 429 is no outcome at all (the attempt was never made).

Pure and standard-library only.
"""

from __future__ import annotations

from dataclasses import dataclass

from dialcues_core.model import ExecutionStatus

__all__ = [
    "OUTCOME_TABLE",
    "Outcome",
    "OutcomeRow",
    "classify",
    "for_missing_call",
    "for_rejected_create",
]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one finished call means for its execution.

    ``error_message`` is set for failed calls (it keeps the provider's reason);
    ``operator_alert`` marks configuration or billing problems the operator must fix
    (a wrong assistant id, no credits): retrying will not help, logging loudly will.
    """

    status: ExecutionStatus
    retry: bool
    error_message: str | None
    operator_alert: bool = False


@dataclass(frozen=True, slots=True)
class OutcomeRow:
    """One row of the table: which reasons it matches, and what they mean.

    A reason matches when it is one of ``reasons``, contains one of ``fragments`` or starts
    with one of ``prefixes`` (compared lower-cased). ``error`` is a template for the error
    message (``{reason}`` is replaced), or None for calls that did not fail.
    """

    status: ExecutionStatus
    retry: bool
    reasons: frozenset[str] = frozenset()
    fragments: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()
    error: str | None = None
    operator_alert: bool = False

    def matches(self, reason: str) -> bool:
        """Tell whether this row applies to the (lower-cased) ``reason``."""
        return (
            reason in self.reasons
            or any(fragment in reason for fragment in self.fragments)
            or reason.startswith(self.prefixes)
        )

    def outcome(self, reason: str) -> Outcome:
        """Return this row's outcome for ``reason``."""
        message = self.error.format(reason=reason) if self.error is not None else None
        return Outcome(self.status, self.retry, message, self.operator_alert)


_FAILED = "Call failed: {reason}"

OUTCOME_TABLE: tuple[OutcomeRow, ...] = (
    OutcomeRow(
        ExecutionStatus.COMPLETED,
        retry=False,
        reasons=frozenset(
            {
                "assistant-ended-call",
                "assistant-ended-call-after-message-spoken",
                "assistant-said-end-call-phrase",
                "customer-ended-call",
                "exceeded-max-duration",
            }
        ),
    ),
    OutcomeRow(ExecutionStatus.VOICEMAIL, retry=False, reasons=frozenset({"voicemail"})),
    OutcomeRow(
        ExecutionStatus.NO_ANSWER,
        retry=True,
        reasons=frozenset({"customer-did-not-answer", "silence-timed-out"}),
    ),
    OutcomeRow(ExecutionStatus.BUSY, retry=True, reasons=frozenset({"customer-busy"})),
    OutcomeRow(
        ExecutionStatus.FAILED,
        retry=True,
        reasons=frozenset(
            {
                "twilio-failed-to-connect-call",
                "vonage-failed-to-connect-call",
                "phone-call-provider-closed-websocket",
                "worker-shutdown",
                "call.start.error-subscription-concurrency-limit-reached",
            }
        ),
        fragments=("vapifault", "providerfault", "pipeline-error"),
        error=_FAILED,
    ),
    OutcomeRow(
        ExecutionStatus.FAILED,
        retry=False,
        reasons=frozenset({"twilio-reported-customer-misdialed"}),
        error=_FAILED,
    ),
    OutcomeRow(
        ExecutionStatus.FAILED,
        retry=False,
        reasons=frozenset({"assistant-not-found", "assistant-not-valid"}),
        prefixes=("call.start.error-",),
        error="Call could not start (provider configuration or billing): {reason}",
        operator_alert=True,
    ),
    OutcomeRow(
        ExecutionStatus.FAILED,
        retry=False,
        reasons=frozenset({"manually-canceled", "scheduled-call-deleted"}),
        error="Call canceled: {reason}",
    ),
)

_UNKNOWN = OutcomeRow(ExecutionStatus.FAILED, retry=True, error=_FAILED)


def classify(ended_reason: str | None) -> Outcome:
    """Return what a call that ended for ``ended_reason`` means (first matching row wins).

    Matching ignores case and surrounding blanks; the message keeps the reason as given.
    An unknown reason (Vapi's list grows monthly) is a failure worth retrying, with the
    reason kept; a missing or blank one is treated the same way.
    """
    reason = (ended_reason or "").strip()
    if not reason:
        return _UNKNOWN.outcome("no ended reason reported")
    key = reason.lower()
    row = next((row for row in OUTCOME_TABLE if row.matches(key)), _UNKNOWN)
    return row.outcome(reason)


def for_rejected_create(message: str) -> Outcome:
    """Return the outcome of a create the provider refused (4xx other than 429): final."""
    return Outcome(ExecutionStatus.FAILED, retry=False, error_message=message)


def for_missing_call() -> Outcome:
    """Return the outcome of an unknown create that reconciliation found never placed."""
    message = "Call failed: the provider did not confirm the call and has no record of it"
    return Outcome(ExecutionStatus.FAILED, retry=True, error_message=message)
