"""The one error vocabulary of Dialcues.

Every error the core raises is a subclass of :class:`DialcuesError`. The edges (REST, gRPC,
CLI) translate them through one small table keyed by *category*; each concrete error carries
the contract's ``code`` string and safe, structured ``details`` (field names, ids — never
secrets or raw vendor payloads)::

    DialcuesError
    ├── InvalidArgument               (400 / INVALID_ARGUMENT)
    │   ├── ValidationFailed          validation_error
    │   └── InvalidScope              invalid_scope (the OAuth token endpoint)
    ├── Unauthenticated               (401 / UNAUTHENTICATED)
    │   ├── MissingCredentials        unauthorized
    │   ├── InvalidApiKey             invalid_api_key
    │   ├── ApiKeyRevoked             api_key_revoked
    │   ├── ApiKeyExpired             api_key_expired
    │   ├── TokenExpired              token_expired
    │   ├── InvalidClient             invalid_client (the OAuth token endpoint)
    │   └── ProviderEventRejected     invalid_provider_event
    ├── PermissionDenied              (403 / PERMISSION_DENIED)
    │   └── InsufficientScope         insufficient_scope
    ├── NotFound                      (404 / NOT_FOUND)
    │   └── ResourceNotFound          not_found
    ├── FailedPrecondition            (400 / FAILED_PRECONDITION)
    │   ├── MissingOutboundLine       missing_outbound_line
    │   ├── InvalidState              invalid_state (a reminder's, or a number's)
    │   ├── ProviderNotConfigured     provider_not_configured (an organization setting lacks)
    │   ├── NumberRefusal             (409: the number's state refuses the request)
    │   │   ├── NumberUnavailable     number_unavailable
    │   │   ├── HoldExpired           hold_expired
    │   │   ├── HoldLimitReached      hold_limit_reached
    │   │   └── CallAlreadyAnswered   call_already_answered
    │   └── PolicyRefusal             (422: the calling policy refuses a well-formed request)
    │       ├── OutsideCallingWindow  outside_calling_window
    │       ├── CampaignNotRegistered campaign_not_registered (US 10DLC without a campaign)
    │       └── FrequencyCapReached   frequency_cap_reached
    ├── Conflict                      (409 / ALREADY_EXISTS)
    │   ├── AlreadyExists             already_exists
    │   ├── NumberHeld                number_held (another organization holds or owns it)
    │   ├── IdempotencyMismatch       idempotency_mismatch (409 / ALREADY_EXISTS)
    │   └── IdempotencyInProgress     idempotency_in_progress (409 / ABORTED)
    ├── ResourceExhausted             (429 / RESOURCE_EXHAUSTED)
    │   └── RateLimited               rate_limited
    ├── Unavailable                   (503 / UNAVAILABLE)
    │   ├── StorageUnavailable        unavailable
    │   ├── SmokeFailed               smoke_failed
    │   └── CarrierUnavailable        carrier_unavailable (``details.reason``)
    ├── CarrierError                  (never reaches a client; the core maps it)
    │   ├── CarrierRejected           permanent, with the carrier's code and its meaning
    │   ├── CarrierThrottled          not done; try later
    │   ├── CarrierUnknownOutcome     sent, then a timeout or 5xx: reconcile
    │   └── CarrierUnreachable        nothing was sent
    └── ProviderError                 (never reaches a client; the dispatcher records it)
        ├── ProviderRejected          permanent: the provider refused (4xx)
        ├── ProviderThrottled         the provider answered 429: try again later
        ├── ProviderUnreachable       no connection could be made: nothing was sent
        └── ProviderUnknownOutcome    timeout or 5xx on create: reconcile before redialing

Errors that exist only on HTTP (``method_not_allowed``, ``payload_too_large``) live in the
REST edge, not here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class DialcuesError(Exception):
    """Base of every error the core raises on purpose."""

    code: ClassVar[str] = "internal_error"
    default_message: ClassVar[str] = "An unexpected error occurred."
    http_status: ClassVar[int | None] = None
    """Set by a class whose HTTP status overrides its category's (the 422 policy refusals)."""

    def __init__(self, message: str | None = None, details: Mapping[str, Any] | None = None):
        self.message = message or self.default_message
        self.details: dict[str, Any] | None = dict(details) if details is not None else None
        super().__init__(self.message)


# ----------------------------------------------------------------------------- categories
class InvalidArgument(DialcuesError):
    """The request itself is wrong; repeating it unchanged fails again."""


class Unauthenticated(DialcuesError):
    """The caller could not be identified."""


class PermissionDenied(DialcuesError):
    """The caller is known but may not do this."""


class NotFound(DialcuesError):
    """No such resource for this caller."""


class FailedPrecondition(DialcuesError):
    """The system is not in a state that allows the operation."""


class Conflict(DialcuesError):
    """The operation conflicts with another one or with stored data."""


class ResourceExhausted(DialcuesError):
    """A quota or rate limit is spent."""


class Unavailable(DialcuesError):
    """A dependency is down; retry with backoff."""


# ----------------------------------------------------------------------------- concrete
class ValidationFailed(InvalidArgument):
    """One or more fields (or query parameters) are invalid; ``details.fields`` names each."""

    code = "validation_error"
    default_message = "The request is invalid."

    def __init__(
        self,
        fields: Mapping[str, str],
        message: str | None = None,
        reasons: Mapping[str, str] | None = None,
    ):
        self.fields = dict(fields)
        if message is None:
            names = ", ".join(sorted(self.fields))
            message = f"Invalid value for: {names}." if names else self.default_message
        details: dict[str, Any] = {"fields": self.fields}
        if reasons:
            # a machine-readable reason per field, where the contract names one
            # (``wider_than_policy``, ``bypass_not_allowed``)
            details["reasons"] = dict(reasons)
        super().__init__(message, details)

    @classmethod
    def one(cls, field: str, problem: str) -> ValidationFailed:
        """Build the error for a single bad field."""
        return cls({field: problem})


class MissingOutboundLine(FailedPrecondition):
    """The organization has no outbound line to call from."""

    code = "missing_outbound_line"
    default_message = "The organization has no outbound line to call from."


class InvalidState(FailedPrecondition):
    """The resource's state does not allow the requested change (a reminder's by default;
    a number's names ``details.resource: "number"``)."""

    code = "invalid_state"
    default_message = "The reminder's state does not allow this change."

    def __init__(self, status: str, action: str, resource: str = "reminder"):
        details = {"status": status, "action": action}
        if resource != "reminder":
            details = {"resource": resource, **details}
        article = "An" if resource[:1] in "aeiou" else "A"
        super().__init__(f"{article} {resource} that is {status} cannot be {action}.", details)


class ProviderNotConfigured(FailedPrecondition):
    """An organization setting the request needs is missing (``details.setting`` names it)."""

    code = "provider_not_configured"
    default_message = "The organization's provider settings lack what this request needs."

    def __init__(self, setting: str, message: str | None = None):
        super().__init__(
            message or f"The organization has no {setting} configured.", {"setting": setting}
        )


class NumberRefusal(FailedPrecondition):
    """A number's state refuses a well-formed request (409; gRPC FAILED_PRECONDITION)."""

    http_status = 409


class NumberUnavailable(NumberRefusal):
    """The carrier will not reserve or sell the number."""

    code = "number_unavailable"
    default_message = "The carrier will not reserve or sell this number."


class HoldExpired(NumberRefusal):
    """The organization's hold on the number lapsed."""

    code = "hold_expired"
    default_message = "The hold on this number has expired; hold it again."


class HoldLimitReached(NumberRefusal):
    """Too many live holds (``details.limit``; at the carrier: no limit known)."""

    code = "hold_limit_reached"
    default_message = "The organization holds too many numbers; assign or drop one first."

    def __init__(self, limit: int | None = None):
        details = {"limit": limit} if limit is not None else {}
        super().__init__(None, details)


class CallAlreadyAnswered(NumberRefusal):
    """The inbound call no longer waits for an answer (``details.route``: the route applied)."""

    code = "call_already_answered"
    default_message = "The call was already answered."

    def __init__(self, route: object):
        super().__init__(None, {"route": route})


class PolicyRefusal(FailedPrecondition):
    """The calling policy refuses a well-formed request (422; gRPC FAILED_PRECONDITION)."""

    http_status = 422


class OutsideCallingWindow(PolicyRefusal):
    """A one-off outside the calling window, a series never inside it, a call placed now
    outside it (``responsible-calling.md`` §4.4)."""

    code = "outside_calling_window"
    default_message = "The reminder's time is outside the calling window."

    def __init__(
        self,
        fields: Mapping[str, str],
        window_zones: list[str],
        next_allowed_at: str | None,
        message: str | None = None,
    ):
        self.fields = dict(fields)
        super().__init__(
            message,
            {
                "fields": self.fields,
                "window_zones": list(window_zones),
                "next_allowed_at": next_allowed_at,
            },
        )


class FrequencyCapReached(PolicyRefusal):
    """``POST /calls`` while the number's frequency cap is full (§9)."""

    code = "frequency_cap_reached"
    default_message = "The number's frequency cap is full."

    def __init__(self, free_at: str | None, caps: Mapping[str, Mapping[str, int] | None]):
        """``caps``: ``per_24h`` and ``per_30d``, each ``{"limit", "count"}`` or None (off)."""
        super().__init__(
            "The number has been called as often as the frequency caps allow;"
            " it can be called again at free_at.",
            {
                **{k: dict(v) if v is not None else None for k, v in caps.items()},
                "free_at": free_at,
            },
        )


class RecipientSuppressed(PolicyRefusal):
    """The number is on the organization's suppression list (``responsible-calling.md`` §7)."""

    code = "recipient_suppressed"
    default_message = "The number is on the organization's suppression list."

    def __init__(self, phone_number: str, reason: str, suppressed_at: str | None):
        super().__init__(
            "The person at this number asked not to be called (or was suppressed by the"
            " organization); remove the entry with a newer consent first.",
            {"phone_number": phone_number, "reason": reason, "suppressed_at": suppressed_at},
        )


class ConsentRequired(PolicyRefusal):
    """No covering active consent (§8), or a suppression removal without a newer consent."""

    code = "consent_required"
    default_message = "The number has no active consent that covers this call."

    def __init__(
        self,
        required: str | None,
        purpose: str | None,
        message: str | None = None,
        details: Mapping[str, Any] | None = None,
    ):
        """``required`` and ``purpose`` for a call lacking consent; a removal names neither
        (its ``details`` carry the ``consent_id`` given and the entry's ``suppressed_at``)."""
        needed = (
            {}
            if required is None and purpose is None
            else {"required": required, "purpose": purpose}
        )
        super().__init__(message, {**needed, **dict(details or {})})


class CampaignNotRegistered(PolicyRefusal):
    """A text from a US local number to a US number on Telnyx with no 10DLC campaign recorded
    (``telephony.md`` §4.3)."""

    code = "campaign_not_registered"
    default_message = "US 10DLC messages need the organization's registered campaign."

    def __init__(self, from_number: str):
        super().__init__(
            "Texts from a US local number to US numbers need a registered 10DLC campaign:"
            " set ten_dlc_campaign_id in the organization's carrier settings.",
            {"from": from_number, "setting": "ten_dlc_campaign_id"},
        )


class CallerIdentityRequired(PolicyRefusal):
    """A Vapi line without ``caller_name`` (marketing: without ``callback_number``) (§10)."""

    code = "caller_identity_required"
    default_message = "Calls on a Vapi line must say who is calling."

    def __init__(self, missing: list[str]):
        super().__init__(
            "The organization's calling policy must set "
            + " and ".join(missing)
            + " before calls on a Vapi line can be scheduled (orgs set-policy).",
            {"missing": list(missing)},
        )


class InvalidScope(InvalidArgument):
    """The requested OAuth scope is unknown or exceeds what the client was granted."""

    code = "invalid_scope"

    def __init__(self, scopes: list[str]):
        super().__init__(
            f"The requested scope exceeds the client's: {' '.join(scopes)}.", {"scopes": scopes}
        )


class MissingCredentials(Unauthenticated):
    """No ``Authorization: Bearer …`` credential was presented."""

    code = "unauthorized"
    default_message = "Missing credentials: send 'Authorization: Bearer <api key>'."


class InvalidApiKey(Unauthenticated):
    """The key is malformed or unknown."""

    code = "invalid_api_key"
    default_message = "The API key is invalid."


class ApiKeyRevoked(Unauthenticated):
    """The key was revoked."""

    code = "api_key_revoked"
    default_message = "The API key has been revoked."


class ApiKeyExpired(Unauthenticated):
    """The key passed its expiry time."""

    code = "api_key_expired"
    default_message = "The API key has expired."


class TokenExpired(Unauthenticated):
    """The OAuth access token's lifetime is over; ask the token endpoint for a new one."""

    code = "token_expired"
    default_message = "The access token has expired; request a new one."


class InvalidClient(Unauthenticated):
    """OAuth client authentication failed: unknown or revoked client, or a wrong secret."""

    code = "invalid_client"
    default_message = "Client authentication failed."


class ProviderEventRejected(Unauthenticated):
    """A provider webhook names no known execution, or carries the wrong secret."""

    code = "invalid_provider_event"
    default_message = "The provider event could not be authenticated."


class InsufficientScope(PermissionDenied):
    """The credential lacks the scope the operation needs."""

    code = "insufficient_scope"

    def __init__(self, scope: str):
        super().__init__(f"This credential lacks the '{scope}' scope.", {"scope": scope})


class ResourceNotFound(NotFound):
    """No such resource for this caller (another user's resource is also 'not found')."""

    code = "not_found"
    default_message = "The resource was not found."

    def __init__(self, kind: str, ident: object | None = None):
        what = f"{kind} {ident}" if ident is not None else kind
        details = {"resource": kind} if ident is None else {"resource": kind, "id": str(ident)}
        super().__init__(f"No {what} was found.", details)


class AlreadyExists(Conflict):
    """A resource with the same unique identity already exists."""

    code = "already_exists"
    default_message = "The resource already exists."


class NumberHeld(AlreadyExists):
    """Another organization holds or owns the number (the details never name it)."""

    code = "number_held"
    default_message = "This number is held by someone else."


class IdempotencyMismatch(Conflict):
    """The idempotency key was used before with another method, path or body."""

    code = "idempotency_mismatch"
    default_message = "This Idempotency-Key was used with a different request; use a new key."


class IdempotencyInProgress(Conflict):
    """The first request with this idempotency key is still running; retry in a second."""

    code = "idempotency_in_progress"
    default_message = "A request with this Idempotency-Key is still in progress; retry shortly."
    retry_after: ClassVar[int] = 1


class RateLimited(ResourceExhausted):
    """The caller's bucket is empty; ``retry_after`` says how long to wait, in seconds."""

    code = "rate_limited"
    default_message = "Too many requests."

    def __init__(self, retry_after: int):
        self.retry_after = retry_after
        super().__init__(
            f"Too many requests; retry after {retry_after} s.", {"retry_after": retry_after}
        )


class StorageUnavailable(Unavailable):
    """The database does not answer; ``retry_after`` suggests when to try again, in seconds.

    The message a client sees is always the same; ``detail`` (the driver's words, which may
    name hosts, ports and roles) is for the operator's log only.
    """

    code = "unavailable"
    default_message = "The database is unavailable; retry with backoff."
    retry_after: ClassVar[int] = 5

    def __init__(self, message: str | None = None, *, detail: str | None = None):
        super().__init__(message)
        self.detail = detail or message or self.default_message


class SmokeFailed(Unavailable):
    """A step of the agent smoke flow failed; ``details.step`` names it."""

    code = "smoke_failed"

    def __init__(self, step: str, reason: str, steps: list[dict[str, Any]] | None = None):
        details: dict[str, Any] = {"step": step, "reason": reason}
        if steps is not None:
            details["steps"] = steps
        super().__init__(f"The smoke flow failed at step '{step}': {reason}", details)


class CarrierUnavailable(Unavailable):
    """The carrier timed out, failed, throttled us or refused our account (``details.reason``:
    ``unreachable``, ``unknown_outcome``, ``throttled`` or ``account``)."""

    code = "carrier_unavailable"
    default_message = "The carrier is unavailable; retry with backoff."

    def __init__(self, reason: str, retry_after: int | None = None):
        self.retry_after = retry_after
        super().__init__(None, {"reason": reason})


# ----------------------------------------------------------------------------- carrier
class CarrierError(DialcuesError):
    """A carrier (or the voice provider's number API) failed; the core maps it, a client never
    sees it unmapped."""

    code = "carrier_error"


class CarrierRejected(CarrierError):
    """The carrier refused (4xx other than throttling): permanent. ``carrier_code`` is its own
    code (a string), ``meaning`` what it means here (see ``numbers.carrier_errors``)."""

    code = "carrier_rejected"

    def __init__(self, carrier_code: str, meaning: str = "rejected", message: str | None = None):
        self.carrier_code = carrier_code
        self.meaning = meaning
        super().__init__(message or f"The carrier refused ({carrier_code}).")


class CarrierThrottled(CarrierError):
    """The carrier throttled us; nothing was done."""

    code = "carrier_throttled"

    def __init__(self, message: str | None = None, retry_after: float | None = None):
        self.retry_after = retry_after
        super().__init__(message or "The carrier is throttling requests.")


class CarrierUnknownOutcome(CarrierError):
    """The request was sent, then timed out or got a 5xx: reconcile before repeating it."""

    code = "carrier_unknown_outcome"


class CarrierUnreachable(CarrierError):
    """No connection to the carrier could be made (DNS, refused, TLS): nothing was sent."""

    code = "carrier_unreachable"


# ----------------------------------------------------------------------------- provider
class ProviderError(DialcuesError):
    """A voice provider failed; recorded on the execution, never sent to an API client."""

    code = "provider_error"
    retryable: ClassVar[bool] = True


class ProviderRejected(ProviderError):
    """The provider refused the call (4xx other than 429): permanent."""

    code = "provider_rejected"
    retryable = False


class ProviderThrottled(ProviderError):
    """The provider answered 429; the attempt was not made and may be made later."""

    code = "provider_throttled"

    def __init__(self, message: str | None = None, retry_after: float | None = None):
        self.retry_after = retry_after
        super().__init__(message or "The provider is throttling calls.")


class ProviderUnreachable(ProviderError):
    """No connection to the provider could be made (DNS, refused, TLS): nothing was sent."""

    code = "provider_unreachable"


class ProviderUnknownOutcome(ProviderError):
    """The create timed out or answered 5xx: the call may or may not exist."""

    code = "provider_unknown_outcome"


def all_error_classes() -> list[type[DialcuesError]]:
    """Return every subclass of :class:`DialcuesError`, depth first (for exhaustive tests)."""
    found: list[type[DialcuesError]] = []
    stack: list[type[DialcuesError]] = [DialcuesError]
    while stack:
        cls = stack.pop()
        found.append(cls)
        stack.extend(cls.__subclasses__())
    return found
