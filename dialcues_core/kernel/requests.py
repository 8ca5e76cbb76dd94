"""The request a use case runs for: its id, set by the edges (REST, gRPC) for the duration of
one request and read where the core records who did what (the audit trail).

A context variable: each asyncio task has its own, and :class:`~dialcues_core.offload.Offloader`
runs every offloaded call in a copy of its caller's context.
"""

from __future__ import annotations

from contextvars import ContextVar

CURRENT_REQUEST_ID: ContextVar[str | None] = ContextVar("dialcues_request_id", default=None)
"""The id of the REST request or RPC being served (``X-Request-Id``), else None."""


def current_request_id() -> str | None:
    """The id of the request being served, or None (the dispatcher, the CLI, a migration)."""
    return CURRENT_REQUEST_ID.get()
