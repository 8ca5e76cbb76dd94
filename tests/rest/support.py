"""Helpers of the REST suite: an HTTP client with a key, payloads, direct row setup."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web
from multidict import CIMultiDictProxy
from support.platform import Tenant

from dialcues_core.adapters.peewee.tables import ExecutionRow, ReminderRow

BASE = "/api/public/v1"
START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
_UNSET: Any = object()

ServeFn = Callable[[web.Application], Awaitable["Api"]]
"""Serve an app on 127.0.0.1:0 and return an anonymous client of it (the ``serve`` fixture)."""


@dataclass
class Reply:
    """What the server answered: status, decoded JSON (None for an empty body), headers."""

    status: int
    body: Any
    headers: CIMultiDictProxy[str]
    text: str

    @property
    def code(self) -> str:
        """Return the error code of an error reply."""
        return str(self.body["error"]["code"])

    @property
    def fields(self) -> dict[str, str]:
        """Return the bad fields of a ``validation_error`` reply."""
        return dict(self.body["error"]["details"]["fields"])


class Api:
    """An HTTP client of one running server, acting with one API key (or none)."""

    def __init__(self, session: aiohttp.ClientSession, root: str, key: str | None):
        self.session = session
        self.root = root
        self.key = key

    def as_key(self, key: str | None) -> Api:
        """Return a client of the same server acting with ``key``."""
        return Api(self.session, self.root, key)

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = _UNSET,
        data: bytes | None = None,
        params: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        """Send one request (``path`` under the API base unless it starts with ``//``)."""
        url = self.root + (path[1:] if path.startswith("//") else BASE + path)
        sent = dict(headers or {})
        if self.key is not None and "Authorization" not in sent:
            sent["Authorization"] = f"Bearer {self.key}"
        extra = {"json": json} if json is not _UNSET else {"data": data}
        async with self.session.request(method, url, params=params, headers=sent, **extra) as resp:
            text = await resp.text()
            body = await resp.json(content_type=None) if text else None
            return Reply(resp.status, body, resp.headers, text)

    async def get(self, path: str, **kw: Any) -> Reply:
        """``GET path``."""
        return await self.call("GET", path, **kw)

    async def post(self, path: str, **kw: Any) -> Reply:
        """``POST path``."""
        return await self.call("POST", path, **kw)

    async def patch(self, path: str, **kw: Any) -> Reply:
        """``PATCH path``."""
        return await self.call("PATCH", path, **kw)

    async def delete(self, path: str, **kw: Any) -> Reply:
        """``DELETE path``."""
        return await self.call("DELETE", path, **kw)

    async def create(self, **overrides: Any) -> dict[str, Any]:
        """Create a reminder (``reminder_payload`` with ``overrides``) and return its body."""
        reply = await self.post("/reminders", json=reminder_payload(**overrides))
        assert reply.status == 201, reply.text
        return dict(reply.body)


def reminder_payload(**overrides: Any) -> dict[str, Any]:
    """A valid create payload: a one-off on 2026-03-25 09:00 New York (13:00Z)."""
    payload: dict[str, Any] = {
        "title": "Stand-up",
        "message": "Time for stand-up",
        "phone_number": "+14155552671",
        "timezone": "America/New_York",
        "scheduled_at": "2026-03-25T09:00:00",
    }
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not _UNSET}


OMIT: Any = _UNSET
"""Pass as an override to ``reminder_payload`` to leave a field out."""


def set_reminder(reminder_id: int, **columns: Any) -> None:
    """Write columns of a reminder row directly (test setup for states the API cannot reach)."""
    ReminderRow.update(**columns).where(ReminderRow.id == reminder_id).execute()


def add_execution(tenant: Tenant, reminder: dict[str, Any] | None, **columns: Any) -> int:
    """Insert an execution row for the tenant (and reminder) directly; return its id."""
    values: dict[str, Any] = {
        "user_id": tenant.user.id,
        "organization_id": tenant.org.id,
        "reminder_id": reminder["id"] if reminder else None,
        "reminder_title": reminder["title"] if reminder else None,
        "status": "completed",
        "attempt": 1,
        "line_id": tenant.line.id,
        "to_number": "+14155552671",
        "scheduled_for": datetime(2026, 3, 25, 13, 0, tzinfo=UTC),
        "created_at": START,
    }
    values.update(columns)
    return int(ExecutionRow.insert(**values).execute())
