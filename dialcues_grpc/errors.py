"""The gRPC edge's one error table, and the decorator that applies it to every RPC.

Every failure leaves as a status code plus a ``google.rpc.Status`` (grpcio-status puts it in
the ``grpc-status-details-bin`` trailer) carrying:

* ``ErrorInfo(reason=<the contract's code>, domain="dialcues")``, its ``metadata`` holding the
  error's scalar details (``resource``/``id`` of a ``not_found``, ``status``/``action`` of an
  ``invalid_state``);
* for ``validation_error`` and ``outside_calling_window``, a ``BadRequest`` with one violation
  per bad field, named after the request field (see
  :func:`dialcues_grpc.request_fields.violation_field`), its ``reason`` the contract's
  machine-readable reason where REST's ``details.reasons`` names one (``wider_than_policy``,
  ``bypass_not_allowed``);
* for ``rate_limited``, ``idempotency_in_progress`` and ``unavailable``, a ``RetryInfo`` (REST's
  ``Retry-After``).

The two idempotency conflicts get this edge's own message: the key is the request's
``request_id`` here, not REST's ``Idempotency-Key`` header.

The status code comes from the first class in the error's MRO found in
:data:`STATUS_BY_CATEGORY` (``invalid_state`` and ``missing_outbound_line`` are
FailedPrecondition in the core's own tree: REST answers them 400, gRPC FAILED_PRECONDITION;
the calling policy's refusals — ``outside_calling_window``, ``frequency_cap_reached``,
``recipient_suppressed``, ``consent_required``, ``caller_identity_required``, and the
messages' ``campaign_not_registered`` (``telephony.md`` §4.3) — are FailedPrecondition too,
which REST answers 422). ErrorInfo metadata carries their scalar
details (``phone_number``, ``reason``, ``suppressed_at``; ``required``, ``purpose``,
``consent_id``; ``missing`` comma-joined; ``from`` and ``setting``); a null detail is left
out.
The number refusals (``number_unavailable``, ``hold_expired``, ``hold_limit_reached``,
``call_already_answered``) are FailedPrecondition too, which REST answers 409; ``number_held``
is a Conflict (ALREADY_EXISTS), ``provider_not_configured`` FAILED_PRECONDITION and
``carrier_unavailable`` UNAVAILABLE with a ``RetryInfo`` when the carrier said when
(``telephony.md`` §6.2).
``gone`` (an RPC removed after its sunset, ``telephony.md`` §5.1) is no core error: like
REST's 410 it exists only in the edges, and :func:`gone_status` builds it — UNIMPLEMENTED,
``ErrorInfo`` reason ``gone`` with ``metadata.deprecation`` the registry entry's id.
Errors mapped to INTERNAL (provider and carrier errors, which the core maps before they could
reach a client) and any other exception are logged with their traceback and answered with a
bare ``internal_error``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextvars import ContextVar
from typing import Any, Final, NamedTuple, TypeVar

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from dialcues_core.errors import (
    CarrierError,
    Conflict,
    DialcuesError,
    FailedPrecondition,
    IdempotencyInProgress,
    IdempotencyMismatch,
    InvalidArgument,
    NotFound,
    OutsideCallingWindow,
    PermissionDenied,
    ProviderError,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
    ValidationFailed,
)
from dialcues_grpc import request_fields
from dialcues_grpc.auth import AdminAuth

logger = logging.getLogger("dialcues.grpc")

DOMAIN: Final = "dialcues"
INTERNAL_CODE: Final = "internal_error"
INTERNAL_MESSAGE: Final = "An unexpected error occurred; it is safe to retry with backoff."
GONE_CODE: Final = "gone"
GONE_MESSAGE: Final = "This RPC was removed after its sunset; see ListDeprecations."

STATUS_BY_CATEGORY: Final[Mapping[type[DialcuesError], grpc.StatusCode]] = {
    IdempotencyInProgress: grpc.StatusCode.ABORTED,
    InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    NotFound: grpc.StatusCode.NOT_FOUND,
    FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    Conflict: grpc.StatusCode.ALREADY_EXISTS,
    ResourceExhausted: grpc.StatusCode.RESOURCE_EXHAUSTED,
    Unavailable: grpc.StatusCode.UNAVAILABLE,
    ProviderError: grpc.StatusCode.INTERNAL,
    CarrierError: grpc.StatusCode.INTERNAL,
    DialcuesError: grpc.StatusCode.INTERNAL,
}
"""Status code of each core error category (concrete entries override their category)."""


EDGE_MESSAGES: Final[Mapping[type[DialcuesError], str]] = {
    IdempotencyMismatch: "This request_id was used with a different request; use a new one.",
    IdempotencyInProgress: "A request with this request_id is still in progress; retry shortly.",
}
"""Messages that name REST's ``Idempotency-Key`` in the core, as this edge words them."""


def status_code_of(error_class: type[DialcuesError]) -> grpc.StatusCode:
    """Return the status code of a core error class (its nearest entry in the table)."""
    for cls in error_class.__mro__:
        code = STATUS_BY_CATEGORY.get(cls)
        if code is not None:
            return code
    raise TypeError(f"{error_class!r} is not a DialcuesError")


def _packed(message: Any) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def _error_info(exc: DialcuesError) -> error_details_pb2.ErrorInfo:
    scalars = {
        k: str(v)
        for k, v in (exc.details or {}).items()
        if isinstance(v, str | int) and not isinstance(v, bool)
    }
    for k, v in (exc.details or {}).items():
        if isinstance(v, list) and all(isinstance(item, str) for item in v):
            scalars[k] = ",".join(v)  # a list of names (``window_zones``), comma-joined
    return error_details_pb2.ErrorInfo(reason=exc.code, domain=DOMAIN, metadata=scalars)


def _bad_request(
    fields: Mapping[str, str], reasons: Mapping[str, str]
) -> error_details_pb2.BadRequest:
    return error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(
                field=request_fields.violation_field(name),
                description=problem,
                reason=reasons.get(name, ""),
            )
            for name, problem in sorted(fields.items())
        ]
    )


def _retry_info(exc: DialcuesError) -> error_details_pb2.RetryInfo | None:
    """Return how long to wait before retrying, for the errors that say so; else None."""
    retry_after = getattr(exc, "retry_after", None)
    if isinstance(retry_after, int):
        return error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=retry_after))
    return None


def rich_status(exc: DialcuesError) -> grpc.Status:
    """Return the status a core error aborts an RPC with (INTERNAL ones: a bare one)."""
    code = status_code_of(type(exc))
    if code is grpc.StatusCode.INTERNAL:
        return internal_status()
    details = [_packed(_error_info(exc))]
    if isinstance(exc, ValidationFailed | OutsideCallingWindow):  # both name their fields
        reasons = (exc.details or {}).get("reasons") or {}
        details.append(_packed(_bad_request(exc.fields, reasons)))
    retry = _retry_info(exc)
    if retry is not None:
        details.append(_packed(retry))
    text = EDGE_MESSAGES.get(type(exc), exc.message)
    proto = status_pb2.Status(code=code.value[0], message=text, details=details)
    return rpc_status.to_status(proto)


def gone_status(deprecation: str) -> grpc.Status:
    """Return the status of a call to an RPC the registry entry ``deprecation`` removed."""
    info = error_details_pb2.ErrorInfo(
        reason=GONE_CODE, domain=DOMAIN, metadata={"deprecation": deprecation}
    )
    proto = status_pb2.Status(
        code=code_pb2.UNIMPLEMENTED, message=GONE_MESSAGE, details=[_packed(info)]
    )
    return rpc_status.to_status(proto)


def internal_status() -> grpc.Status:
    """Return the status of an unexpected failure: no detail beyond the code."""
    info = error_details_pb2.ErrorInfo(reason=INTERNAL_CODE, domain=DOMAIN)
    proto = status_pb2.Status(
        code=code_pb2.INTERNAL, message=INTERNAL_MESSAGE, details=[_packed(info)]
    )
    return rpc_status.to_status(proto)


S = TypeVar("S")
Req = TypeVar("Req")
Resp = TypeVar("Resp")
Method = Callable[[S, Req, Any], Awaitable[Resp]]


def translated(method: Method[S, Req, Resp]) -> Method[S, Req, Resp]:
    """Wrap a unary servicer method so that every error aborts through the table.

    A request holding a NUL in any text field is refused
    (:func:`dialcues_grpc.request_fields.refuse_nul`) before anything reads it: for an
    administration RPC here, after the admin check; for a public one by the servicer's
    ``who`` (through :data:`CURRENT_REQUEST`), after authentication and the scope check, so
    the caller sees UNAUTHENTICATED or PERMISSION_DENIED first, as over REST.
    """

    @functools.wraps(method)
    async def wrapper(self: S, request: Req, context: Any) -> Resp:
        try:
            CURRENT_REQUEST.set(request)
            _refuse_malformed(self, request, context)
            return await method(self, request, context)
        except grpc.aio.AbortError:
            raise
        except DialcuesError as exc:
            status = rich_status(exc)
            if status.code is grpc.StatusCode.INTERNAL:
                logger.error("Unexpected core error in %s", method.__name__, exc_info=exc)
        except Exception as exc:
            logger.error("Unexpected error in %s", method.__name__, exc_info=exc)
            status = internal_status()
        # Trailing metadata set before the failure (the rate-limit trailers) stays on the reply.
        await context.abort_with_status(with_trailers(status, context.trailing_metadata() or ()))
        raise AssertionError("abort_with_status returned")  # pragma: no cover

    return wrapper


CURRENT_REQUEST: ContextVar[object | None] = ContextVar("current_request", default=None)
"""The request of the RPC running in this task (a public servicer's ``who`` checks it)."""


def _refuse_malformed(servicer: object, request: object, context: Any) -> None:
    """For an administration servicer: check the admin token, then refuse NUL in any text."""
    admin = getattr(servicer, "admin", None)
    if isinstance(admin, AdminAuth):
        admin.check(context)
        request_fields.refuse_nul(request)


def refuse_malformed_request() -> None:
    """Refuse the running RPC's request if it holds a NUL in any text (public servicers)."""
    request = CURRENT_REQUEST.get()
    if request is not None:
        request_fields.refuse_nul(request)


class TrailedStatus(NamedTuple):
    """A ``grpc.Status`` (duck-typed: code, details, trailing metadata)."""

    code: grpc.StatusCode
    details: str
    trailing_metadata: tuple[tuple[str, str | bytes], ...]


def with_trailers(status: grpc.Status, trailers: Iterable[tuple[str, Any]]) -> grpc.Status:
    """Return ``status`` with ``trailers`` before its own trailing metadata."""
    extra = tuple(trailers)
    if not extra:
        return status
    own = tuple(status.trailing_metadata or ())
    return TrailedStatus(status.code, status.details, extra + own)
