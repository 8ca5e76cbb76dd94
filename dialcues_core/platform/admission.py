"""Admission and observation of every public request, written once for both edges.

The contract's pipeline, in its order (``platform-contract.md``):

1. **identify** the caller from its credential (an API key or an OAuth access token): the
   authenticator's cache first, the database (off the event loop) on a miss;
2. **charge** its bucket — ``read`` or ``write`` as the use case declares
   (:func:`~dialcues_core.kernel.scopes.rate_class`: a scope ending in ``:read``, an explicit
   ``rate=``, or no scope at all is a read) — or, when it could not be identified, the
   ``anon`` bucket of its address;
3. **refuse**: an empty bucket is ``rate_limited`` (before a failed authentication's 401, which
   is what throttles key guessing); then the authentication error; then ``insufficient_scope``
   when the credential lacks the use case's scope;
4. after the reply, **observe**: one :class:`RequestOutcome` goes to every observer (the
   usage log first; metrics and structured logs subscribe the same way).

An edge extracts the credential, the peer and the use case its route or RPC runs, calls
:meth:`Admission.admit`, sends the decision's headers whatever happens, and calls
:meth:`Admission.observe` once the reply is known.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from dialcues_core.accounts.authn import Authenticator
from dialcues_core.accounts.model import Principal
from dialcues_core.errors import DialcuesError, RateLimited
from dialcues_core.kernel.scopes import check_scope, rate_class
from dialcues_core.platform.ratelimit import Decision, RateLimiter

T = TypeVar("T")
Runner = Callable[..., Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Admitted:
    """A request let in: who it acts as, and its bucket's decision (None: limits off)."""

    principal: Principal
    decision: Decision | None


class Refused(Exception):
    """A request refused at the door: the error to answer, and what the edge still needs.

    ``decision`` (for the limit headers) and ``principal`` (for the usage event of a 429 or a
    403) are set when known.
    """

    def __init__(
        self, error: DialcuesError, decision: Decision | None, principal: Principal | None
    ):
        super().__init__(error.message)
        self.error = error
        self.decision = decision
        self.principal = principal


@dataclass(frozen=True, slots=True)
class RequestOutcome:
    """One answered public request, as every observer sees it.

    ``route`` is the matched template (REST, relative to the API base) or the full method
    name (gRPC); ``status`` the HTTP status or the gRPC status code's number; ``code`` the
    error code of an error reply; ``deprecated`` whether it used an entry of the deprecation
    registry.
    """

    occurred_at: datetime
    request_id: str | None
    principal: Principal | None
    method: str
    route: str | None
    status: int
    code: str | None
    latency_ms: float
    replay: bool
    deprecated: bool = False


RequestObserver = Callable[[RequestOutcome], None]


class Admission:
    """Identify, charge, refuse, observe: the one request pipeline of both edges."""

    def __init__(self, authenticator: Authenticator, limiter: RateLimiter | None):
        self.authenticator = authenticator
        self.limiter = limiter
        self.observers: list[RequestObserver] = []

    async def admit(
        self,
        credential: str | None,
        peer: str,
        use_case: Callable[..., Any] | None,
        run: Runner,
        *,
        charge: bool = True,
        rate: str | None = None,
    ) -> Admitted:
        """Let the request in or raise :class:`Refused` (module docstring, steps 1–3).

        ``charge=False`` identifies and checks the scope without charging a bucket (a path
        outside the rate-limited API). ``rate`` names the bucket of a request that runs no
        use case at all (a wrong method, an unknown route): the edge's own rule.
        """
        try:
            principal = self.authenticator.peek(credential)
            if principal is None:
                principal = await run(self.authenticator.authenticate, credential)
        except DialcuesError as exc:
            decision = self.charge_anonymous(peer) if charge else None
            if decision is not None and not decision.allowed:
                raise Refused(RateLimited(decision.retry_after), decision, None) from exc
            raise Refused(exc, decision, None) from exc
        decision = None
        if self.limiter is not None and charge:
            bucket = rate if use_case is None and rate is not None else rate_class(use_case)
            decision = self.limiter.charge(bucket, credential_of(principal))
            if not decision.allowed:
                raise Refused(RateLimited(decision.retry_after), decision, principal)
        if use_case is not None:
            try:
                check_scope(principal, use_case)
            except DialcuesError as exc:
                raise Refused(exc, decision, principal) from exc
        return Admitted(principal, decision)

    def charge_anonymous(self, peer: str | None) -> Decision | None:
        """Charge the ``anon`` bucket of ``peer`` (None when limits are off)."""
        return self.limiter.charge_anonymous(peer) if self.limiter is not None else None

    def observe(self, outcome: RequestOutcome) -> None:
        """Hand one answered request to every observer (step 4)."""
        for observer in self.observers:
            observer(outcome)


def credential_of(principal: Principal) -> str:
    """Return the id whose buckets a principal's requests are charged to (key or client)."""
    return principal.api_key_id or principal.client_id or principal.user_id
