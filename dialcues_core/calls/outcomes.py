"""What a call's ended reason means: the one outcome table of ``spec/vapi.md``, as data.

Vapi reports why a call ended as an ``endedReason`` string (the simulated dialer speaks the
same vocabulary). :data:`OUTCOME_TABLE` maps it to an execution status and whether another
attempt is due; the first row that matches wins, so order matters. Every value of
``Call.endedReason`` in vapi-server-sdk 3.0.0 is placed by an explicit entry or a named pattern
(a test enumerates the SDK); :data:`CATCH_ALL` is only for values Vapi adds later::

    row (what it covers)                              status     retry  operator alert
    reached: the person was reached and the call      completed  no
      ended, whoever ended it, however (hang-up
      tasks, end-call phrases, transfers, forwards,
      warm transfers, the carrier's "completed")
    voicemail                                         voicemail  no
    customer-did-not-answer, silence-timed-out        no_answer  yes
    customer-busy                                     busy       yes
    manually-canceled, scheduled-call-deleted,        canceled   no
      call-deleted
    provider refuses our setup, during the call:      failed     no     yes
      credentials (401, auth, keys), access or plan
      (403, paid/creator-only, free plan), quota and
      credits (429 exceeded-quota, out of credits,
      payment), invalid request or configuration
      (400, 404, configfault, invalid schema), an
      unusable voice, a blocked account or content,
      the operator's custom-LLM websocket unreachable
      -- even under vapifault/providerfault/pipeline-error
    transient: twilio-/vonage-/sip-outbound failed-   failed     yes
      to-connect, provider-closed-websocket,
      worker-shutdown, concurrency-limit-reached,
      rate limits and "busy" providers, and every
      other *vapifault*, *providerfault*,
      *pipeline-error* (5xx, timeouts, hang-ups,
      generic "-failed", workers, transport)
    refused at start: call.start.error-*,             failed     no     yes
      call.start.*-error-*, call-start-error-*,
      assistant-request-*, assistant-not-found,
      assistant-not-valid, *-rejected,
      sip-outbound-unallocated-number,
      phone-call-provider-bypass-enabled-but-no-call-received
    not retried, nobody to alert: a misdialed         failed     no
      number, and reasons that leave unclear
      whether the person was reached (never twice
      beats once), inbound- and web-only reasons
    CATCH_ALL: any other reason, or none at all       failed     yes    (reason kept)

The transient row comes before "refused at start" so that a ``call.start.error-vapifault-…``
is retried, and after "provider refuses our setup" so that a ``…-vapifault-openai-401-…``
(which fails the same way on every attempt) is not. vapi.md's refusal row is split so that
a misdialed number (the user's mistake) does not page the operator. The create-time rows of
vapi.md (4xx, 429, unknown) are not ended reasons: :func:`for_rejected_create` and
:func:`for_missing_call` give the first and last of them; a 429 is no outcome at all.

Pure and standard-library only.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

from dialcues_core.calls.model import ExecutionStatus

__all__ = [
    "CATCH_ALL",
    "OUTCOME_TABLE",
    "Outcome",
    "OutcomeRow",
    "Pattern",
    "classify",
    "for_missing_call",
    "for_rejected_create",
    "row_for",
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
class Pattern:
    """A named family of reasons: shell-style ``globs`` (``*`` is any text), lower-case."""

    name: str
    globs: tuple[str, ...]

    def matches(self, reason: str) -> bool:
        """Tell whether the (lower-cased) ``reason`` belongs to this family."""
        return any(fnmatchcase(reason, glob) for glob in self.globs)


@dataclass(frozen=True, slots=True)
class OutcomeRow:
    """One row of the table: which reasons it matches, and what they mean.

    A reason matches when it is one of ``reasons`` or belongs to one of ``patterns``
    (compared lower-cased). ``error`` is a template for the error message (``{reason}`` is
    replaced), or None for calls that did not fail.
    """

    name: str
    status: ExecutionStatus
    retry: bool
    reasons: frozenset[str] = frozenset()
    patterns: tuple[Pattern, ...] = ()
    error: str | None = None
    operator_alert: bool = False

    def matches(self, reason: str) -> bool:
        """Tell whether this row applies to the (lower-cased) ``reason``."""
        return reason in self.reasons or any(pattern.matches(reason) for pattern in self.patterns)

    def outcome(self, reason: str) -> Outcome:
        """Return this row's outcome for ``reason``."""
        message = self.error.format(reason=reason) if self.error is not None else None
        return Outcome(self.status, self.retry, message, self.operator_alert)


_FAILED = "Call failed: {reason}"

_REACHED = OutcomeRow(
    "reached: the person was reached and the call ended",
    ExecutionStatus.COMPLETED,
    retry=False,
    reasons=frozenset(
        {
            # the assistant ended it: end-call tool, final message, phrase, hang-up task
            "assistant-ended-call",
            "assistant-ended-call-after-message-spoken",
            "assistant-ended-call-with-hangup-task",
            "assistant-said-end-call-phrase",
            # the person hung up, or the call ran to its maximum duration
            "customer-ended-call",
            "exceeded-max-duration",
            # the telephony provider's own "completed"
            "call.in-progress.twilio-completed-call",
            "call.in-progress.sip-completed-call",
            "vonage-completed",
            # transfers and forwards, whether or not the far end took the call
            "assistant-forwarded-call",
            "call.forwarding.operator-busy",
            "call.forwarding.no-answer",
            "call.in-progress.error-transfer-failed",
            "customer-ended-call-during-transfer",
            # warm transfers
            "customer-ended-call-before-warm-transfer",
            "customer-ended-call-after-warm-transfer-attempt",
            "call.in-progress.error-warm-transfer-max-duration",
            "call.in-progress.error-warm-transfer-assistant-cancelled",
            "call.in-progress.error-warm-transfer-silence-timeout",
            "call.in-progress.error-warm-transfer-microphone-timeout",
            # phone-number hooks that spoke or transferred, then ended the call
            "call.ringing.hook-executed-say",
            "call.ringing.hook-executed-transfer",
            "call.ending.hook-executed-say",
            "call.ending.hook-executed-transfer",
        }
    ),
)

_PROVIDER_REFUSES = OutcomeRow(
    "provider refuses our setup during the call: fails the same way every time",
    ExecutionStatus.FAILED,
    retry=False,
    reasons=frozenset(
        {
            # the operator's own custom-LLM websocket cannot be reached: a wrong URL or a
            # server down, and the person may already have heard the reminder
            "call.in-progress.error-pipeline-ws-model-connection-failed",
        }
    ),
    patterns=(
        Pattern(
            "quota, credits or payment exhausted (the SDK spells insufficent)",
            (
                "*-429-exceeded-quota",
                "*-quota-exceeded",
                "*-out-of-credits",
                "*-out-of-characters",
                "*-requested-payment",
                "*-insufficent-funds",
                "*-insufficient-funds",
            ),
        ),
        Pattern(
            "credentials refused: HTTP 401, failed auth, a missing or invalid key",
            (
                "*-401-*",
                "*-407-*",
                "*-auth-failed",
                "*-api-key-missing",
                "*-invalid-api-key",
                "*-unauthorized-access",
                "*-unauthorized-to-access-model",
            ),
        ),
        Pattern(
            "access denied to a model, feature or voice by the plan: HTTP 403, paid-only",
            (
                "*-403-*",
                "*-paid-only-feature",
                "*-professional-voices-only-for-creator-plus",
                "*-voice-not-allowed-for-free-users",
                "*-blocked-free-plan-*",
                "*-blocked-using-instant-voice-clone-*",
            ),
        ),
        Pattern(
            "invalid request or configuration: HTTP 400/404, configfault, invalid schema",
            (
                "*-400-*",
                "*-404-*",
                "*configfault*",
                "*-invalid-config",
                "*-invalid-schema",
                "*-word-boost-parsing-failed",
                "*-no-available-llm-model",
                "*-max-character-limit-exceeded",
            ),
        ),
        Pattern(
            "the configured voice is unusable: not found, invalid, disabled, untrained",
            (
                "*-voice-not-found",
                "*-invalid-voice*",
                "*-invalid-emotion",
                "*-voice-must-be-a-valid-voice-manifest-uri",
                "*-voice-not-fine-tuned*",
                "*-voice-disabled-by-owner",
                "*-missing-samples-for-voice-clone",
            ),
        ),
        Pattern(
            "account, content or voice blocked by the provider's policy",
            ("*-blocked-account-*", "*-blocked-content-*", "*-blocked-voice-*"),
        ),
    ),
    error="Call failed (provider configuration, credentials or quota): {reason}",
    operator_alert=True,
)

_TRANSIENT = OutcomeRow(
    "transient: network, capacity and provider faults that the next attempt may not meet",
    ExecutionStatus.FAILED,
    retry=True,
    reasons=frozenset(
        {
            "twilio-failed-to-connect-call",
            "vonage-failed-to-connect-call",
            "call.in-progress.error-sip-outbound-call-failed-to-connect",
            "phone-call-provider-closed-websocket",
            "worker-shutdown",
            "call.start.error-subscription-concurrency-limit-reached",
        }
    ),
    patterns=(
        Pattern(
            "a provider busy or rate-limiting (not a quota: that one is refused above)",
            (
                "*-429-rate-limit-reached",
                "*-rate-limited",
                "*-system-busy-*",
                "*-blocked-concurrent-requests-*",
            ),
        ),
        Pattern(
            "Vapi's own faults: workers, transport, database, 5xx of its platform keys",
            ("*vapifault*",),
        ),
        Pattern("a third-party provider's faults: 5xx, overload, gateways", ("*providerfault*",)),
        Pattern(
            "AI pipeline failures (legacy names): generic -failed, 5xx, timeouts, hang-ups",
            ("*pipeline-error*",),
        ),
    ),
    error=_FAILED,
)

_REFUSED_AT_START = OutcomeRow(
    "refused at start: configuration, billing or validation",
    ExecutionStatus.FAILED,
    retry=False,
    reasons=frozenset(
        {
            "assistant-not-found",
            "assistant-not-valid",
            "sip-outbound-unallocated-number",
            "phone-call-provider-bypass-enabled-but-no-call-received",
        }
    ),
    patterns=(
        Pattern(
            "the call could not start: resources, billing, limits, validation",
            ("call.start.error-*", "call.start.*-error-*", "call-start-error-*"),
        ),
        Pattern("our server URL did not provide an assistant", ("assistant-request-*",)),
        Pattern("the telephony provider rejected the call", ("*-rejected",)),
    ),
    error="Call could not start (configuration, billing or validation): {reason}",
    operator_alert=True,
)

_NOT_RETRIED = OutcomeRow(
    "not retried, nobody to alert: the number is wrong, or the person may have been reached",
    ExecutionStatus.FAILED,
    retry=False,
    reasons=frozenset(
        {
            # the user's mistake, not the operator's
            "twilio-reported-customer-misdialed",
            # connected or ringing, then cut off: unclear whether the person was reached
            "vonage-disconnected",
            "sip-outbound-carrier-released-call",
            "assistant-join-timed-out",
            "call.in-progress.error-assistant-did-not-receive-customer-audio",
            # inbound or web calls only: never expected on an outbound reminder call
            "customer-did-not-give-microphone-permission",
            "call.in-progress.error-sip-inbound-call-failed-to-connect",
            "call.ringing.error-sip-inbound-call-failed-to-connect",
            "call.ringing.sip-inbound-caller-hungup-before-call-connect",
        }
    ),
    error=_FAILED,
)

OUTCOME_TABLE: tuple[OutcomeRow, ...] = (
    _REACHED,
    OutcomeRow(
        "delivered to voicemail", ExecutionStatus.VOICEMAIL, False, frozenset({"voicemail"})
    ),
    OutcomeRow(
        "not answered",
        ExecutionStatus.NO_ANSWER,
        retry=True,
        reasons=frozenset({"customer-did-not-answer", "silence-timed-out"}),
    ),
    OutcomeRow("line busy", ExecutionStatus.BUSY, True, frozenset({"customer-busy"})),
    OutcomeRow(
        "canceled or deleted on purpose",
        ExecutionStatus.CANCELED,
        retry=False,
        reasons=frozenset({"manually-canceled", "scheduled-call-deleted", "call-deleted"}),
    ),
    _PROVIDER_REFUSES,
    _TRANSIENT,
    _REFUSED_AT_START,
    _NOT_RETRIED,
)

CATCH_ALL = OutcomeRow("any other reason", ExecutionStatus.FAILED, retry=True, error=_FAILED)
"""The row of a reason no other row matches (one Vapi added later), or of none at all."""


def row_for(ended_reason: str | None) -> OutcomeRow:
    """Return the first row matching ``ended_reason`` (case and blanks ignored), or CATCH_ALL."""
    key = (ended_reason or "").strip().lower()
    if not key:
        return CATCH_ALL
    return next((row for row in OUTCOME_TABLE if row.matches(key)), CATCH_ALL)


def classify(ended_reason: str | None) -> Outcome:
    """Return what a call that ended for ``ended_reason`` means (first matching row wins).

    Matching ignores case and surrounding blanks; the message keeps the reason as given.
    An unknown reason (Vapi's list grows monthly) is a failure worth retrying, with the
    reason kept; a missing or blank one is treated the same way.
    """
    reason = (ended_reason or "").strip()
    return row_for(reason).outcome(reason or "no ended reason reported")


SPOKEN_AND_ENDED = OutcomeRow(
    "inbound: the route's sentence was spoken, then the call ended (message, reject)",
    ExecutionStatus.COMPLETED,
    retry=False,
    reasons=frozenset({"assistant-request-returned-error"}),
)
FORWARDED = OutcomeRow(
    "inbound: the call was forwarded (transfer)",
    ExecutionStatus.COMPLETED,
    retry=False,
    reasons=frozenset(
        {"assistant-request-returned-forwarding-phone-number", "assistant-forwarded-call"}
    ),
    patterns=(Pattern("the caller ended a transfer", ("customer-ended-call-*transfer*",)),),
)
INBOUND_ROWS: dict[str, tuple[OutcomeRow, ...]] = {
    "message": (SPOKEN_AND_ENDED,),
    "reject": (SPOKEN_AND_ENDED,),
    "reminders_readback": (SPOKEN_AND_ENDED,),  # "no upcoming reminders. Goodbye." is done
    "transfer": (FORWARDED,),
}
"""``telephony.md`` §3.3: the rows an inbound call's outcome tries first, by its route (an
apology spoken after a failure on an ``assistant`` or ``external`` line is no success; on a
readback line a spoken sentence is also its goodbye, so it counts as done)."""


def classify_inbound(ended_reason: str | None, route: str | None) -> Outcome:
    """What an inbound call's ended reason means: its route's rows, then the table. An
    inbound call is never retried (nobody calls the caller back)."""
    reason = (ended_reason or "").strip()
    key = reason.lower()
    rows = INBOUND_ROWS.get(route or "", ())
    row = next((r for r in rows if key and r.matches(key)), None) or row_for(reason)
    outcome = row.outcome(reason or "no ended reason reported")
    return Outcome(outcome.status, False, outcome.error_message, outcome.operator_alert)


def for_rejected_create(message: str) -> Outcome:
    """Return the outcome of a create the provider refused (4xx other than 429): final."""
    return Outcome(ExecutionStatus.FAILED, retry=False, error_message=message)


def for_missing_call() -> Outcome:
    """Return the outcome of an unknown create that reconciliation found never placed."""
    message = "Call failed: the provider did not confirm the call and has no record of it"
    return Outcome(ExecutionStatus.FAILED, retry=True, error_message=message)
