"""The platform around every public RPC: identify, charge the rate limiter, refuse, audit.

A ``grpc.aio.ServerInterceptor`` wraps each unary method of the public services (the
administration services, health and reflection pass through untouched), in REST's order:

1. identify the caller from the ``authorization`` metadata (the same :class:`ApiKeyAuth` the
   servicers use: API keys and OAuth access tokens);
2. charge its bucket — ``read`` for ``Get*``/``List*``/``WhoAmI``, ``write`` for the other
   RPCs — or, without valid credentials, the ``anon`` bucket of the peer address; the limit
   headers go out as trailing metadata with lower-case names (``x-ratelimit-limit``,
   ``x-ratelimit-remaining``, ``x-ratelimit-reset``, ``ratelimit-policy``, ``ratelimit``) on
   every reply, errors included;
3. refuse: an empty bucket is RESOURCE_EXHAUSTED ``rate_limited`` with a ``RetryInfo``
   (before a failed authentication's UNAUTHENTICATED), a failed authentication its own status;
4. run the servicer (the core checks the scope; idempotency wraps the core call);
5. record one usage event: ``method`` ``GRPC``, ``route`` the full method name, ``status``
   the status code's number (0 OK), ``code`` the ``ErrorInfo`` reason of an error, the
   replay flag from :func:`dialcues_grpc.idempotency.is_replay`, and the request id.

The request id comes first of all: a valid ``x-request-id`` metadata entry (REST's
``X-Request-Id`` rule: 1–128 characters of ``A-Z a-z 0-9 - _ . :``), else a fresh one. It
goes back as *initial* metadata ``x-request-id``, sent before anything else, so every reply
carries it — errors included (a client reads it with ``await call.initial_metadata()``).

Servicers still call ``self.who(context)``: it returns the principal step 1 found (through
:data:`dialcues_grpc.auth.ADMITTED`), without authenticating the call again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any, Final, NoReturn

import grpc
from google.rpc import error_details_pb2, status_pb2

from dialcues_core import Dialcues
from dialcues_core.accounts.model import Principal
from dialcues_core.errors import DialcuesError, RateLimited
from dialcues_core.offload import Offloader
from dialcues_core.platform.ratelimit import READ, WRITE, Decision
from dialcues_core.platform.usage import UsageEvent, request_id_or_new
from dialcues_grpc.auth import ADMITTED, ApiKeyAuth
from dialcues_grpc.errors import internal_status, rich_status, with_trailers
from dialcues_grpc.idempotency import is_replay

logger = logging.getLogger("dialcues.grpc")

GRPC_METHOD: Final = "GRPC"
"""The ``method`` of a gRPC usage event."""
READ_PREFIXES: Final = ("Get", "List", "WhoAmI")
"""RPC names charged to the ``read`` bucket; every other RPC is a ``write``."""
STATUS_DETAILS_KEY: Final = "grpc-status-details-bin"
REQUEST_ID_KEY: Final = "x-request-id"
"""The metadata key of the request id, both ways."""

Behavior = Callable[[Any, Any], Awaitable[Any]]


def rpc_class(method: str) -> str:
    """Return the bucket class of a full method name (``/pkg.Service/Name``)."""
    return READ if method.rsplit("/", 1)[-1].startswith(READ_PREFIXES) else WRITE


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
    ):
        self.dc = dc
        self.auth = ApiKeyAuth(dc.authenticator, offloader)
        self.public_services = frozenset(public_services)
        self.record_usage = record_usage
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
            rid = request_id(context)
            admitted = ADMITTED.set(None)
            try:
                await context.send_initial_metadata(((REQUEST_ID_KEY, rid),))
                trailers = await self._admit(method, context, who)
                response = await inner(request, context)
                _keep_trailers(context, trailers)
                code = grpc.StatusCode.OK
                return response
            except grpc.aio.AbortError:
                code, reason = context.code() or code, error_reason(context)
                raise
            finally:
                ADMITTED.reset(admitted)
                if self.record_usage:
                    ms = (time.perf_counter() - started) * 1000
                    replay = is_replay(context)
                    outcome = (code, reason)
                    self.dc.usage.record(_event(method, rid, who, arrived, outcome, ms, replay))

        return behavior

    async def _admit(self, method: str, context: Any, who: list[Principal]) -> tuple[Any, ...]:
        """Identify and charge the caller; abort on a refusal; return the limit trailers."""
        limiter = self.dc.limiter
        trailers: tuple[tuple[str, str], ...] = ()
        try:
            principal = await self.auth.principal(context)
        except Exception as exc:
            if limiter is not None:
                decision = limiter.charge_anonymous(peer_address(context))
                trailers = limit_trailers(decision)
                if not decision.allowed:
                    await _abort(context, rich_status(RateLimited(decision.retry_after)), trailers)
            await _abort(context, _status_of(exc), trailers)
        who.append(principal)
        ADMITTED.set(principal)
        if limiter is None:
            return ()
        credential = principal.api_key_id or principal.client_id or principal.user_id
        decision = limiter.charge(rpc_class(method), credential)
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


def _event(
    method: str,
    rid: str,
    who: list[Principal],
    arrived: datetime,
    outcome: tuple[grpc.StatusCode, str | None],
    ms: float,
    replay: bool,
) -> UsageEvent:
    principal = who[0] if who else None
    return UsageEvent(
        occurred_at=arrived,
        request_id=rid,
        api_key_id=principal.api_key_id if principal else None,
        client_id=principal.client_id if principal else None,
        user_id=principal.user_id if principal else None,
        organization_id=principal.organization_id if principal else None,
        method=GRPC_METHOD,
        route=method,
        status=int(outcome[0].value[0]),
        code=outcome[1],
        latency_ms=round(ms, 3),
        idempotent_replay=replay,
    )
