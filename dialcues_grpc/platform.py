"""The platform around every public RPC: the core's admission path, then its observers.

A ``grpc.aio.ServerInterceptor`` wraps each unary method of the public services (the
administration services, health and reflection pass through untouched). It extracts the
``authorization`` credential, the peer address and the RPC's use case
(:data:`dialcues_grpc.rpcs.USES`) and hands them to the core
(:meth:`~dialcues_core.platform.admission.Admission.admit`), which identifies the caller,
charges the bucket the use case declares (or the ``anon`` bucket of the peer), and refuses in
the contract's order — RESOURCE_EXHAUSTED ``rate_limited`` with a ``RetryInfo`` before a
failed authentication's UNAUTHENTICATED, then PERMISSION_DENIED ``insufficient_scope``. The
limit headers go out as trailing metadata with lower-case names (``x-ratelimit-limit``,
``x-ratelimit-remaining``, ``x-ratelimit-reset``, ``ratelimit-policy``, ``ratelimit``) on
every reply, errors included. After the servicer, one request outcome goes to the core's
observers (the usage log: ``method`` ``GRPC``, ``route`` the full method name, ``status``
the status code's number, ``code`` the ``ErrorInfo`` reason, the replay flag, the request
id).

The request id comes first of all: a valid ``x-request-id`` metadata entry (REST's
``X-Request-Id`` rule: 1–128 characters of ``A-Z a-z 0-9 - _ . :``), else a fresh one. It
goes back as *initial* metadata ``x-request-id``, sent before anything else, so every reply
carries it — errors included (a client reads it with ``await call.initial_metadata()``). A
call that uses an entry of the deprecation registry gets ``deprecation``, ``sunset`` and
``link`` beside it (:mod:`dialcues_grpc.deprecations`), and its usage event says
``deprecated``. Once admitted, a call of a removed RPC is answered UNIMPLEMENTED ``gone``
and one setting a removed request field INVALID_ARGUMENT; removed response fields are
cleared (the same module says how). The RPCs of :data:`~dialcues_grpc.rpcs.OPEN` skip the
credential: only the peer's ``anon`` bucket is charged.

Servicers call ``self.who(context)``: it returns the principal admitted here (through
:data:`dialcues_grpc.auth.ADMITTED`), without authenticating the call again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Final, NoReturn

import grpc
from google.rpc import error_details_pb2, status_pb2

from dialcues_core import Dialcues
from dialcues_core.accounts.model import Principal
from dialcues_core.deprecations import REGISTRY, Deprecation
from dialcues_core.errors import DialcuesError, RateLimited, ValidationFailed
from dialcues_core.kernel.requests import CURRENT_REQUEST_ID
from dialcues_core.offload import Offloader
from dialcues_core.platform.admission import Refused, RequestOutcome
from dialcues_core.platform.ratelimit import Decision
from dialcues_core.platform.usage import request_id_or_new
from dialcues_grpc.auth import ADMITTED, bearer_token
from dialcues_grpc.deprecations import RpcDeprecations, metadata
from dialcues_grpc.errors import gone_status, internal_status, rich_status, with_trailers
from dialcues_grpc.idempotency import is_replay
from dialcues_grpc.rpcs import OPEN, use_cases

logger = logging.getLogger("dialcues.grpc")

GRPC_METHOD: Final = "GRPC"
"""The ``method`` of a gRPC usage event."""
STATUS_DETAILS_KEY: Final = "grpc-status-details-bin"
REQUEST_ID_KEY: Final = "x-request-id"
"""The metadata key of the request id, both ways."""

Behavior = Callable[[Any, Any], Awaitable[Any]]


def peer_address(context: Any) -> str:
    """Return the peer's address without its port (``ipv4:127.0.0.1``)."""
    peer = str(context.peer() or "unknown")
    return peer.rsplit(":", 1)[0] if peer.count(":") > 1 else peer


def request_id(context: Any) -> str:
    """Return the call's valid ``x-request-id`` (the first one sent), else a fresh id."""
    for key, value in context.invocation_metadata() or ():
        if key == REQUEST_ID_KEY:
            return request_id_or_new(value)
    return request_id_or_new(None)


def limit_trailers(decision: Decision) -> tuple[tuple[str, str], ...]:
    """Return a decision's headers as trailing metadata (gRPC keys are lower-case)."""
    return tuple((name.lower(), value) for name, value in decision.headers().items())


def error_reason(context: Any) -> str | None:
    """Return the ``ErrorInfo`` reason an aborted call carries, or None."""
    for key, value in context.trailing_metadata() or ():
        if key == STATUS_DETAILS_KEY:
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                info = error_details_pb2.ErrorInfo()
                if detail.Unpack(info):
                    return str(info.reason)
    return None


class PlatformInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Wrap the public services' methods in the platform (module docstring)."""

    def __init__(
        self,
        dc: Dialcues,
        offloader: Offloader,
        public_services: Iterable[str],
        record_usage: bool = True,
        deprecations: tuple[Deprecation, ...] = REGISTRY,
    ):
        self.dc = dc
        self.offloader = offloader
        self.use_cases = use_cases(dc)
        self.public_services = frozenset(public_services)
        self.record_usage = record_usage
        self.deprecations = RpcDeprecations(deprecations)
        self._wrapped: dict[str, grpc.RpcMethodHandler] = {}

    async def intercept_service(self, continuation: Any, details: Any) -> Any:
        """Return the wrapped handler of a public unary method; others unchanged."""
        method = details.method
        found = self._wrapped.get(method)
        if found is not None:
            return found
        handler = await continuation(details)
        service = method.split("/")[1] if method.count("/") == 2 else ""
        if service not in self.public_services or handler is None or not handler.unary_unary:
            return handler
        self._wrapped[method] = grpc.unary_unary_rpc_method_handler(
            self._behavior(method, handler.unary_unary),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
        return self._wrapped[method]

    def _behavior(self, method: str, inner: Behavior) -> Behavior:
        async def behavior(request: Any, context: Any) -> Any:
            started, arrived = time.perf_counter(), self.dc.clock.now()
            who: list[Principal] = []
            code, reason = grpc.StatusCode.UNKNOWN, None
            rid, used = request_id(context), self.deprecations.used(method, request)
            admitted = ADMITTED.set(None)
            current = CURRENT_REQUEST_ID.set(rid)  # the core's audit trail names the call
            try:
                await context.send_initial_metadata(((REQUEST_ID_KEY, rid), *metadata(used)))
                trailers = await self._admit(method, context, who)
                await self._refuse_removed(method, request, context, trailers)
                response = await inner(request, context)
                self.deprecations.clear_removed(response)
                _keep_trailers(context, trailers)
                code = grpc.StatusCode.OK
                return response
            except grpc.aio.AbortError:
                code, reason = context.code() or code, error_reason(context)
                raise
            finally:
                CURRENT_REQUEST_ID.reset(current)
                ADMITTED.reset(admitted)
                if self.record_usage:
                    ms = (time.perf_counter() - started) * 1000
                    self.dc.admission.observe(
                        RequestOutcome(
                            occurred_at=arrived,
                            request_id=rid,
                            principal=who[0] if who else None,
                            method=GRPC_METHOD,
                            route=method,
                            status=int(code.value[0]),
                            code=reason,
                            latency_ms=ms,
                            replay=is_replay(context),
                            deprecated=bool(used),
                        )
                    )

        return behavior

    async def _refuse_removed(
        self, method: str, request: Any, context: Any, trailers: tuple[Any, ...]
    ) -> None:
        """Abort a call of a removed RPC (``gone``) or setting a removed request field."""
        gone = self.deprecations.gone(method)
        if gone is not None:
            await _abort(context, gone_status(gone.id), trailers)
        try:
            self.deprecations.refuse_removed(request)
        except ValidationFailed as exc:
            await _abort(context, rich_status(exc), trailers)

    async def _admit(self, method: str, context: Any, who: list[Principal]) -> tuple[Any, ...]:
        """Admit the call through the core; abort on a refusal; return the limit trailers."""
        admission = self.dc.admission
        credential, peer = bearer_token(context), peer_address(context)
        if method in OPEN:
            return await _admit_anonymous(admission.charge_anonymous(peer), context)
        try:
            admitted = await admission.admit(
                credential, peer, self.use_cases.get(method), self.offloader.run
            )
        except Refused as refused:
            if refused.principal is not None:
                who.append(refused.principal)
            trailers = limit_trailers(refused.decision) if refused.decision else ()
            await _abort(context, rich_status(refused.error), trailers)
        except Exception as exc:
            await _abort(context, _status_of(exc), ())
        who.append(admitted.principal)
        ADMITTED.set(admitted.principal)
        if admitted.decision is None:
            return ()
        trailers = limit_trailers(admitted.decision)
        context.set_trailing_metadata(trailers)
        return trailers


async def _admit_anonymous(decision: Decision | None, context: Any) -> tuple[Any, ...]:
    """Refuse an open RPC when the peer's ``anon`` bucket is empty; return the trailers."""
    if decision is None:
        return ()
    trailers = limit_trailers(decision)
    if not decision.allowed:
        await _abort(context, rich_status(RateLimited(decision.retry_after)), trailers)
    context.set_trailing_metadata(trailers)
    return trailers


def _keep_trailers(context: Any, trailers: tuple[Any, ...]) -> None:
    """Put the limit trailers back if the servicer replaced the trailing metadata."""
    if trailers:
        current = tuple(context.trailing_metadata() or ())
        if trailers[0] not in current:
            context.set_trailing_metadata(trailers + current)


async def _abort(context: Any, status: grpc.Status, trailers: tuple[Any, ...]) -> NoReturn:
    await context.abort_with_status(with_trailers(status, trailers))
    raise AssertionError("abort_with_status returned")  # pragma: no cover


def _status_of(exc: Exception) -> grpc.Status:
    if isinstance(exc, DialcuesError):
        return rich_status(exc)
    logger.error("Unexpected error while authenticating an RPC", exc_info=exc)
    return internal_status()
