"""REST and gRPC give the same results: one scenario through both, compared field by field.

One platform (one SQLite file, one offloader, one fake clock) serves REST and gRPC from one
event loop. The scenario — create every kind of reminder, list with every filter, both
paging styles, get, update, pause, resume, delete, executions, lines, who-am-I, the
reminders' SMS fallback, message templates and messages (``e2e.parity_messages``) and every
contract error both facades can produce — runs once through REST and once through gRPC,
each with a tenant of its own and the clock reset to the same instant, so that even
``created_at``/``updated_at`` must agree. gRPC replies are converted to REST's JSON shape
(``parity_support``); ids, which differ between the runs by nature, are replaced by the
name of what they identify (a reminder id by ``<reminder:daily>``), so that they are
compared too: same type, pointing at the same thing.

REST-only codes (``method_not_allowed``, ``payload_too_large``) and inputs one facade cannot
express (a JSON ``"title": 5``, an unknown query parameter, an update-mask path, a page
token) are out of scope: each facade's own suite covers them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import grpc
import pytest
import pytest_asyncio
from support.platform import make_tenant, settings_for

from dialcues_core import Dialcues
from dialcues_core.accounts import keys
from dialcues_core.adapters.peewee.tables import ExecutionRow, ReminderRow
from dialcues_core.audit.model import Actor
from dialcues_core.offload import Offloader
from dialcues_core.testing import FakeClock
from dialcues_grpc import start_grpc
from dialcues_grpc._pb.dialcues.v1 import (
    executions_pb2,
    identity_pb2,
    lines_pb2,
    messages_pb2,
    reminders_pb2,
)
from dialcues_rest.app import create_app, start_rest
from e2e.parity_messages import messaging
from e2e.parity_support import (
    GRPC_FIELD_OF,
    Facade,
    GrpcFacade,
    Outcome,
    RestFacade,
    Run,
    differences,
)

START = datetime(2026, 3, 1, 12, 0, 0, 987_654, tzinfo=UTC)
"""The clock at the start of each run (a fraction, to check that reminders drop it)."""
SETUP_AT = START - timedelta(hours=2)
PHONE = "+14155552671"
LATER = "2026-04-01T09:00:00"
"""A local time well after the scenario's clock."""
SHORT = "2026-03-02T15:00:00"
"""A local time soon after the scenario's clock (passed once the clock jumps two days)."""


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """Return a UTC instant."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def reminder(title: str, zone: str, when: str, **extra: Any) -> dict[str, Any]:
    """A create payload."""
    return {
        "title": title,
        "message": f"Reminder: {title}",
        "phone_number": PHONE,
        "timezone": zone,
        "scheduled_at": when,
        **extra,
    }


def recurring(rtype: str, config: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """A create payload of a recurring reminder in UTC at ``LATER``."""
    return reminder("A", "UTC", LATER, recurrence_type=rtype, recurrence_config=config, **extra)


# ----------------------------------------------------------------------------- setup
@dataclass
class Setup:
    """What a run needs besides the API: its tenant's keys, ids and a neighbour's data."""

    user_id: str
    org_id: str
    key: str
    expired_key: str
    revoked_key: str
    lineless_key: str
    backup_line_id: str
    neighbour_reminder_id: int
    neighbour_execution_id: int


def prepare(dc: Dialcues, clock: FakeClock, run: Run) -> Setup:
    """Create the run's tenant (two lines), its odd keys and a neighbour; name their ids."""
    clock.set(SETUP_AT)
    tenant = make_tenant(dc, email="jane@example.com")  # the same in both runs
    clock.advance(1)  # lines list oldest first: no tie
    backup = dc.accounts.add_line(tenant.org.id, "vapi", "+14155550101", provider_line_id="pn_1")
    expired = dc.accounts.create_api_key(
        tenant.user.id, "old", expires_at=START - timedelta(hours=1)
    )
    revoked = dc.accounts.create_api_key(tenant.user.id, name="revoked")
    dc.accounts.revoke_api_key(revoked.key.id)
    lineless_org = dc.accounts.create_organization("No lines")
    lineless_user = dc.accounts.create_user(lineless_org.id, "nolines@example.com", "Lin")
    lineless = dc.accounts.create_api_key(lineless_user.id)
    neighbour = make_tenant(dc, org=tenant.org, email="neighbour@example.com")
    theirs = dc.reminders.create(neighbour.principal, reminder("Theirs", "UTC", LATER))
    their_call = insert_execution(neighbour.user.id, tenant.org.id, theirs.id, "Theirs", {})
    for label, value in (
        ("user", tenant.user.id),
        ("org", tenant.org.id),
        ("key", tenant.principal.api_key_id),
        ("line:main", tenant.line.id),
        ("line:backup", backup.id),
        ("reminder:neighbour", theirs.id),
        ("execution:neighbour", their_call),
    ):
        run.alias(label, value)
    clock.set(START)
    return Setup(
        tenant.user.id,
        tenant.org.id,
        tenant.api_key,
        expired.raw,
        revoked.raw,
        lineless.raw,
        backup.id,
        theirs.id,
        their_call,
    )


def insert_execution(
    user_id: str, org_id: str, reminder_id: int | None, title: str | None, columns: dict[str, Any]
) -> int:
    """Insert an execution row directly (dialing is not part of this test); return its id."""
    values: dict[str, Any] = {
        "user_id": user_id,
        "organization_id": org_id,
        "reminder_id": reminder_id,
        "reminder_title": title,
        "status": "completed",
        "attempt": 1,
        "to_number": PHONE,
        "scheduled_for": at(2026, 3, 1, 14),
        "created_at": START,
        **columns,
    }
    return int(ExecutionRow.insert(**values).execute())


def set_reminder(reminder_id: int, **columns: Any) -> None:
    """Write columns of a reminder row (states the API cannot reach without dialing)."""
    ReminderRow.update(**columns).where(ReminderRow.id == reminder_id).execute()


# ----------------------------------------------------------------------------- the scenario
CREATES: dict[str, dict[str, Any]] = {
    "oneoff": reminder("Dentist", "America/New_York", "2026-03-25T09:00:00"),
    "daily": reminder(
        "Take pills",
        "Europe/London",
        "2026-03-02T08:00:00",
        recurrence_type="daily",
        recurrence_end_at="2026-04-30T08:00:00",
    ),
    "weekly": reminder(
        "Team sync", "America/Los_Angeles", "2026-03-04T17:30:00Z", recurrence_type="weekly"
    ),
    "weekdays": {
        **reminder(
            "École pickup",
            "Europe/Paris",
            "2026-03-02T16:00:00",
            recurrence_type="custom",
            recurrence_config={"weekdays": [5, 1, 3]},
        ),
        "phone_number": "+33142685300",
    },
    "interval": reminder(
        "Water plants",
        "Asia/Tokyo",
        "2026-03-03T07:15:00",
        recurrence_type="custom",
        recurrence_config={"interval_days": 3},
        recurrence_end_at="2026-06-01T00:00:00Z",
    ),
    "cron": reminder(
        "Payroll check",
        "America/New_York",
        "2026-03-01T08:00:00",
        recurrence_type="cron",
        recurrence_config={"expression": "0 9 1,15 * *"},
    ),
    "dst-gap": reminder("Spring forward", "America/New_York", "2026-03-08T02:30:00"),
    "soon": reminder("Soon", "America/New_York", "2026-03-01T09:00:00"),
    "short": reminder("Short", "America/New_York", "2026-03-02T09:00:00"),
    "busy": reminder("Busy", "America/New_York", "2026-03-20T09:00:00"),
    "done": reminder("Done", "America/New_York", "2026-03-21T09:00:00"),
    "failed": reminder("Failed", "America/New_York", "2026-03-22T09:00:00"),
    "doomed": reminder("Doomed", "UTC", "2026-03-23T09:00:00"),
}
"""The reminders every run creates (plus ``backup-line``, whose line id is the run's)."""

EXECUTIONS: dict[str, tuple[str | None, dict[str, Any]]] = {
    "cron-answered": (
        "cron",
        {
            "call_id": "call-1",
            "scheduled_for": at(2026, 3, 1, 14),
            "executed_at": datetime(2026, 3, 1, 14, 0, 0, 412_345, tzinfo=UTC),
            "ended_at": datetime(2026, 3, 1, 14, 1, 2, 5_000, tzinfo=UTC),
            "ended_reason": "customer-ended-call",
            "duration_s": 62,
            "cost": 0.0875,
        },
    ),
    "daily-no-answer": (
        "daily",
        {
            "status": "no_answer",
            "call_id": "call-2",
            "scheduled_for": at(2026, 3, 2, 8),
            "executed_at": datetime(2026, 3, 2, 8, 0, 0, 999_999, tzinfo=UTC),
            "ended_reason": "customer-did-not-answer",
            "duration_s": 0,
            "cost": 0.0,
        },
    ),
    "daily-busy": (
        "daily",
        {
            "status": "busy",
            "attempt": 2,
            "scheduled_for": at(2026, 3, 2, 8, 5),
            "executed_at": datetime(2026, 3, 2, 8, 5, 0, 1_000, tzinfo=UTC),
        },
    ),
    "doomed-voicemail": (
        "doomed",
        {"status": "voicemail", "executed_at": at(2026, 3, 3, 9), "duration_s": 20},
    ),
    "cron-missed": ("cron", {"status": "missed", "scheduled_for": at(2026, 3, 15, 13)}),
    "call-now": (None, {"status": "queued", "scheduled_for": START, "line_id": None}),
    "weekly-failed": (
        "weekly",
        {
            "status": "failed",
            "executed_at": at(2026, 3, 4, 17, 30),
            "error_message": "The provider refused the call.",
        },
    ),
    "busy-in-air": ("busy", {"status": "in_progress", "executed_at": at(2026, 3, 20, 13)}),
}
"""Executions every run inserts: reminder label (None: a call placed now) and columns."""

CALLING_AT = "2026-04-01T13:00:00"
"""A Wednesday afternoon in New York (10:00 at the San Francisco number): inside every window."""
EARLY = "2026-04-01T06:30:00"
"""Before the organization's 08:00 in New York."""
HOURS = {"start": "09:00", "end": "17:00", "days": [5, 1, 3]}


def calling_reminder(**extra: Any) -> dict[str, Any]:
    """A create payload of the calling phase: a one-off in New York at ``CALLING_AT``."""
    return {**reminder("Calling", "America/New_York", CALLING_AT), **extra}


CALLING_CREATES: dict[str, dict[str, Any]] = {
    "hours": calling_reminder(
        calling_window=HOURS,
        purpose="marketing",
        max_lateness_seconds=600,
        retry_policy={"max_attempts": 3, "delays": {"busy": [300, 900], "no_answer": [900]}},
    ),
    "profile": calling_reminder(calling_window={"profile": "us_strict"}),
    "bypass": calling_reminder(
        scheduled_at=EARLY, calling_window={"bypass": True, "reason": "  Asked for 06:30  "}
    ),
}
"""The reminders of the calling phase, each with a form of ``calling_window``."""
CALLING_UPDATES: list[tuple[str, str, dict[str, Any]]] = [
    ("window-to-profile", "hours", {"calling_window": {"profile": "default"}}),
    (
        "retry-lateness-purpose",
        "hours",
        {
            "retry_policy": {"max_attempts": 1},
            "max_lateness_seconds": None,
            "purpose": "informational",
        },
    ),
    ("clear-window", "profile", {"calling_window": None}),
    ("clear-retry", "hours", {"retry_policy": None}),
    ("bypass-to-hours", "bypass", {"calling_window": HOURS, "scheduled_at": CALLING_AT}),
    ("hours-to-bypass", "profile", {"calling_window": {"bypass": True, "reason": "Asked"}}),
]
"""PATCHes of the calling phase: (label, reminder, payload)."""


class Scenario:
    """The scenario's phases, run in order through one facade by :func:`scenario`."""

    def __init__(self, facade: Facade, dc: Dialcues, clock: FakeClock):
        self.facade = facade
        self.dc = dc
        self.clock = clock
        self.run = Run(facade)
        self.setup = prepare(dc, clock, self.run)
        self.api = facade.with_key(self.setup.key)

    async def step(self, name: str, call: Coroutine[Any, Any, Outcome]) -> Outcome:
        """Record one step's outcome; each step happens one second after the previous."""
        outcome = await self.run.step(name, call)
        self.clock.advance(1)
        return outcome

    async def steps(self, prefix: str, calls: list[tuple[str, Any]]) -> None:
        """Record ``calls`` in order (a coroutine runs only when awaited, in its turn)."""
        try:
            for label, call in calls:
                await self.step(f"{prefix}{label}", call)
        finally:
            for _, call in calls:
                call.close()  # a no-op once awaited; spares a warning if a step broke the run

    def id(self, label: str) -> Any:
        """Return the id this run's ``label`` names."""
        return self.run.ids[label]

    def rid(self, label: str) -> int:
        """Return the id of this run's reminder ``label``."""
        return int(self.run.ids[f"reminder:{label}"])

    async def identity(self) -> None:
        await self.step("identity.me", self.api.me())
        await self.step("identity.lines", self.api.lines())
        odd_spelling = self.facade.with_auth(f"bearer   {self.setup.key}")
        await self.step("identity.me-with-lowercase-scheme-and-spaces", odd_spelling.me())

    async def create(self) -> None:
        backup = reminder(
            "Call mom",
            "Australia/Sydney",
            "2026-04-05T02:30:00",  # twice that night (DST ends): the first one
            vapi_line_id=self.setup.backup_line_id,
        )
        for label, payload in {**CREATES, "backup-line": backup}.items():
            created = await self.step(f"create.{label}", self.api.create(payload))
            assert created.code is None, (self.facade.name, label, created.value)
            self.run.alias(f"reminder:{label}", created.ok["id"])

    def write_rows(self) -> None:
        """Insert the executions and move reminders into states only dialing reaches."""
        for label, (owner, columns) in EXECUTIONS.items():
            title = CREATES[owner]["title"] if owner else None
            made = insert_execution(
                self.setup.user_id,
                self.setup.org_id,
                self.rid(owner) if owner else None,
                title,
                {"line_id": self.id("line:main"), **columns},
            )
            self.run.alias(f"execution:{label}", made)
        set_reminder(
            self.rid("cron"),
            retry_count=1,
            next_attempt_at=at(2026, 3, 1, 14, 5),
            last_execution_id=self.id("execution:cron-answered"),
        )
        busy_call = self.id("execution:busy-in-air")
        set_reminder(self.rid("busy"), status="in_progress", last_execution_id=busy_call)
        set_reminder(self.rid("done"), status="completed")
        set_reminder(
            self.rid("failed"), status="failed", retry_count=2, scheduled_at=at(2026, 2, 28, 14)
        )

    async def get(self) -> None:
        for label in [*CREATES, "backup-line"]:
            await self.step(f"get.{label}", self.api.get(self.rid(label)))

    async def list(self) -> None:
        listings = {
            "default": {},
            "status-scheduled": {"status": "scheduled"},
            "status-in-progress": {"status": "in_progress"},
            "status-completed": {"status": "completed"},
            "status-failed": {"status": "failed"},
            "search-unicode-case": {"search": "ÉCOLE"},
            "search-message": {"search": "reminder: dent"},
            "dates-utc": {"date_from": "2026-03-02T00:00:00Z", "date_to": "2026-03-05T00:00:00Z"},
            "dates-naive-are-utc": {
                "date_from": "2026-03-02T00:00:00",
                "date_to": "2026-03-04T17:30:00",
            },
            "dates-offset": {"date_from": "2026-03-08T02:30:00-05:00"},
            "dates-fractional": {"date_from": "2026-03-02T08:00:00.001Z"},
            "sort-scheduled-desc": {"sort": "scheduled_at_desc"},
            "sort-updated-desc": {"sort": "updated_at_desc"},
            "sort-scheduled-asc": {"sort": "scheduled_at_asc", "page_size": "100"},
            "combined": {
                "status": "scheduled",
                "search": "a",
                "sort": "scheduled_at_desc",
                "date_from": "2026-03-01T00:00:00Z",
                "page_size": "2",
                "page": "2",
            },
            "empty": {"search": "nothing matches this"},
        }
        for label, params in listings.items():
            await self.step(f"list.{label}", self.api.list(params))

    async def pages(self) -> None:
        for page in ("1", "2", "4", "9"):
            await self.step(f"page.{page}-of-4", self.api.list({"page_size": "4", "page": page}))
        scheduled = {"status": "scheduled", "page_size": "3", "page": "2"}
        await self.step("page.2-of-3-scheduled", self.api.list(scheduled))
        walks = {
            "all-by-4": {"page_size": "4"},
            "scheduled-desc-by-3": {
                "status": "scheduled",
                "sort": "scheduled_at_desc",
                "page_size": "3",
            },
            "updated-by-5": {"sort": "updated_at_desc", "page_size": "5"},
            "search-by-1": {"search": "e", "page_size": "1"},
            "empty-by-2": {"status": "paused", "page_size": "2"},
        }
        for label, params in walks.items():
            await self.step(f"walk.{label}", self.api.walk(params))
            whole = {**params, "page_size": "100"}
            await self.step(f"walk-reference.{label}", self.api.list(whole))

    async def executions(self) -> None:
        listings = {
            "default": {},
            "status": {"status": "no_answer"},
            "reminder": {"reminder_id": str(self.rid("daily"))},
            "dates": {"date_from": "2026-03-02T00:00:00Z", "date_to": "2026-03-03T09:00:00Z"},
            "combined": {"reminder_id": str(self.rid("cron")), "status": "missed"},
            "page-2-of-3": {"page_size": "3", "page": "2"},
            "past-end": {"page_size": "3", "page": "7"},
        }
        for label, params in listings.items():
            await self.step(f"executions.{label}", self.api.executions(params))
        await self.step("executions.walk-by-3", self.api.walk_executions({"page_size": "3"}))
        await self.step("executions.walk-reference", self.api.executions({"page_size": "100"}))
        for label in EXECUTIONS:
            call = self.api.execution(self.id(f"execution:{label}"))
            await self.step(f"execution.{label}", call)

    async def update(self) -> None:
        to_cron = {"recurrence_type": "cron", "recurrence_config": {"expression": "30 7 * * 1-5"}}
        to_weekdays = {"recurrence_type": "custom", "recurrence_config": {"weekdays": [0, 6]}}
        one_off = {"recurrence_type": None, "recurrence_config": None, "recurrence_end_at": None}
        updates: list[tuple[str, str, dict[str, Any]]] = [
            ("title-trimmed", "oneoff", {"title": "  Dentist (moved)  "}),
            ("timezone-keeps-wall-clock", "oneoff", {"timezone": "America/Chicago"}),
            ("scheduled-at-local", "oneoff", {"scheduled_at": "2026-03-26T10:30:00"}),
            ("scheduled-at-instant", "weekly", {"scheduled_at": "2026-03-11T18:00:00Z"}),
            ("one-off-to-cron", "dst-gap", to_cron),
            ("recurring-to-one-off", "interval", one_off),
            ("cron-to-weekdays", "cron", to_weekdays),
            ("weekly-to-daily", "weekly", {"recurrence_type": "daily"}),
            ("end-at", "daily", {"recurrence_end_at": "2026-05-31T08:00:00"}),
            ("line-back-to-default", "backup-line", {"vapi_line_id": None}),
            ("line-to-backup", "weekdays", {"vapi_line_id": self.setup.backup_line_id}),
            ("phone-and-message", "weekdays", {"phone_number": "+442071838750", "message": "B"}),
            ("revive-failed", "failed", {"scheduled_at": "2026-04-01T09:00:00"}),
            ("zone-and-time", "short", {"timezone": "Europe/Berlin", "scheduled_at": SHORT}),
        ]
        for label, target, payload in updates:
            await self.step(f"update.{label}", self.api.update(self.rid(target), payload))

    async def errors(self) -> None:
        f, api, setup, rid = self.facade, self.api, self.setup, self.rid
        theirs = setup.neighbour_reminder_id
        await self.steps(
            "error.",
            [
                ("unauthorized.no-credentials", f.with_auth(None).me()),
                ("unauthorized.other-scheme", f.with_auth("Basic dXNlcjpwYXNz").list({})),
                ("unauthorized.bearer-without-token", f.with_auth("Bearer").get(rid("oneoff"))),
                ("unauthorized.before-validation", f.with_auth(None).list({"page": "0"})),
                ("invalid_api_key.malformed", f.with_key("dc_live_not-a-key").me()),
                ("invalid_api_key.unknown", f.with_key(keys.generate_key()).lines()),
                ("invalid_api_key.before-validation", f.with_key("dc_live_x").create({})),
                ("api_key_revoked.revoked", f.with_key(setup.revoked_key).me()),
                ("api_key_revoked.before-not-found", f.with_key(setup.revoked_key).get(0)),
                ("api_key_expired.expired", f.with_key(setup.expired_key).executions({})),
                ("validation_error.create-empty", api.create({})),
                (
                    "validation_error.create-bad-values",
                    api.create(
                        {
                            "title": "x" * 256,
                            "message": "   ",
                            "phone_number": "+1 415 555 2671",
                            "timezone": "localtime",
                            "scheduled_at": "next tuesday",
                        }
                    ),
                ),
                (
                    "validation_error.create-empty-strings",
                    api.create({name: "" for name in [*CREATES["oneoff"], "vapi_line_id"]}),
                ),
                (
                    "validation_error.create-invalid-number",
                    api.create(reminder("A", "UTC", LATER, phone_number="+1415555")),
                ),
                (
                    "validation_error.create-in-the-past",
                    api.create(reminder("Past", "UTC", "2026-02-01T09:00:00")),
                ),
                (
                    "validation_error.create-end-on-one-off",
                    api.create(
                        reminder("A", "UTC", LATER, recurrence_end_at="2026-05-01T09:00:00")
                    ),
                ),
                (
                    "validation_error.create-end-before-first",
                    api.create(recurring("daily", recurrence_end_at="2026-03-31T09:00:00")),
                ),
                (
                    "validation_error.create-bad-cron",
                    api.create(recurring("cron", {"expression": "0 9 * * MON#2"})),
                ),
                (
                    "validation_error.create-interval-zero",
                    api.create(recurring("custom", {"interval_days": 0})),
                ),
                (
                    "validation_error.create-duplicate-weekdays",
                    api.create(recurring("custom", {"weekdays": [1, 1]})),
                ),
                (
                    "validation_error.create-unknown-line",
                    api.create(reminder("A", "UTC", LATER, vapi_line_id="line_unknown")),
                ),
                ("validation_error.update-empty", api.update(rid("oneoff"), {})),
                (
                    "validation_error.update-bad-fields",
                    api.update(
                        rid("oneoff"),
                        {"title": "   ", "phone_number": "+1", "timezone": "Mars/Olympus"},
                    ),
                ),
                (
                    "validation_error.update-bad-weekdays",
                    api.update(
                        rid("weekdays"),
                        {"recurrence_type": "custom", "recurrence_config": {"weekdays": [7]}},
                    ),
                ),
                (
                    "validation_error.update-unknown-line",
                    api.update(rid("oneoff"), {"vapi_line_id": "line_unknown"}),
                ),
                (
                    "validation_error.update-timezone-into-past",
                    api.update(rid("soon"), {"timezone": "Asia/Tokyo"}),
                ),
                (
                    "validation_error.update-end-on-one-off",
                    api.update(rid("oneoff"), {"recurrence_end_at": "2026-12-01T00:00:00"}),
                ),
                (
                    "validation_error.update-time-in-the-past",
                    api.update(rid("oneoff"), {"scheduled_at": "2026-02-01T09:00:00"}),
                ),
                ("validation_error.list-bad-paging", api.list({"page": "0", "page_size": "101"})),
                ("validation_error.list-search-too-long", api.list({"search": "x" * 256})),
                ("validation_error.list-search-empty", api.list({"search": ""})),
                (
                    "validation_error.list-unknown-status-and-sort",
                    api.list({"status": "asleep", "sort": "soonest"}),
                ),
                (
                    "validation_error.executions-bad-query",
                    api.executions({"reminder_id": "0", "page_size": "0", "status": "ringing"}),
                ),
                (
                    "missing_outbound_line.create",
                    f.with_key(setup.lineless_key).create(CREATES["oneoff"]),
                ),
                ("invalid_state.update-in-progress", api.update(rid("busy"), {"title": "x"})),
                ("invalid_state.update-completed", api.update(rid("done"), {"title": "x"})),
                ("invalid_state.resume-completed", api.resume(rid("done"))),
                ("invalid_state.pause-completed", api.pause(rid("done"))),
                ("invalid_state.resume-in-progress", api.resume(rid("busy"))),
                ("not_found.get-unknown", api.get(987_654_321)),
                ("not_found.get-id-zero", api.get(0)),
                ("not_found.get-other-user", api.get(theirs)),
                ("not_found.update-other-user", api.update(theirs, {"title": "x"})),
                ("not_found.pause-other-user", api.pause(theirs)),
                ("not_found.delete-other-user", api.delete(theirs)),
                ("not_found.execution-unknown", api.execution(987_654_321)),
                (
                    "not_found.execution-other-user",
                    api.execution(setup.neighbour_execution_id),
                ),
            ],
        )

    async def pause_and_resume(self) -> None:
        api, rid = self.api, self.rid
        await self.step("lifecycle.pause-daily", api.pause(rid("daily")))
        await self.step("lifecycle.pause-daily-again", api.pause(rid("daily")))
        await self.step("lifecycle.pause-one-off", api.pause(rid("short")))
        await self.step("lifecycle.list-paused", api.list({"status": "paused"}))
        self.clock.advance(2 * 86_400)  # two days pass while paused: occurrences are skipped
        await self.step("lifecycle.resume-daily-at-next-occurrence", api.resume(rid("daily")))
        await self.step(
            "error.validation_error.resume-past-one-off-without-time", api.resume(rid("short"))
        )
        await self.step(
            "lifecycle.resume-one-off-with-new-time",
            api.resume(rid("short"), "2026-03-10T09:00:00"),
        )

    async def delete(self) -> None:
        api, doomed = self.api, self.rid("doomed")
        await self.step("delete.doomed", api.delete(doomed))
        await self.step("error.not_found.get-deleted", api.get(doomed))
        await self.step("error.not_found.delete-deleted", api.delete(doomed))
        await self.step("error.not_found.update-deleted", api.update(doomed, {"title": "x"}))
        kept = api.executions({"reminder_id": str(doomed)})
        await self.step("delete.executions-stay-listed", kept)
        call = api.execution(self.id("execution:doomed-voicemail"))
        await self.step("delete.execution-stays-readable", call)
        everything = api.list({"sort": "updated_at_desc", "page_size": "100"})
        await self.step("delete.final-listing", everything)

    async def messages(self) -> None:
        """Templates and messages (:func:`_messages_phase`)."""
        await _messages_phase(self)

    async def fallback(self) -> None:
        """The reminders' SMS fallback (:func:`_fallback_phase`)."""
        await _fallback_phase(self)

    async def calling(self) -> None:
        """The responsible-calling fields (responsible-calling.md §13.1) under a real window."""
        window = {"calling_window": {"start": "08:00", "end": "21:00"}}
        admin = Actor("admin", "parity")
        self.dc.policies.update(self.setup.org_id, window, actor=admin)
        consent = {  # the marketing reminder needs it (responsible-calling.md §8)
            "phone_number": PHONE,
            "type": "express_written",
            "purpose": "marketing",
            "source": "web_form",
            "text": "I agree to be called with offers, by an automated voice.",
            "captured_at": "2026-03-01T00:00:00Z",
        }
        self.dc.consents.create_for(self.setup.org_id, consent, admin)
        for label, payload in CALLING_CREATES.items():
            created = await self.step(f"calling.create-{label}", self.api.create(payload))
            assert created.code is None, (self.facade.name, label, created.value)
            self.run.alias(f"reminder:calling-{label}", created.ok["id"])
        await self.step("calling.get-bypass", self.api.get(self.rid("calling-bypass")))
        for label, target, payload in CALLING_UPDATES:
            call = self.api.update(self.rid(f"calling-{target}"), payload)
            await self.step(f"calling.update-{label}", call)
        for label in CALLING_CREATES:
            call = self.api.occurrences(self.rid(f"calling-{label}"), {"count": "3"})
            await self.step(f"calling.occurrences-{label}", call)
        api, hours = self.api, self.rid("calling-hours")
        bad_create = calling_reminder(
            purpose="spam",
            calling_window={"start": "18:00", "end": "09:00"},
            max_lateness_seconds=5,
            retry_policy={"max_attempts": 0},
        )
        await self.steps(
            "error.",
            [
                ("validation_error.calling-create-bad-fields", api.create(bad_create)),
                (
                    "validation_error.calling-wider-than-policy",
                    api.create(calling_reminder(calling_window={"start": "07:00", "end": "20:00"})),
                ),
                (
                    "validation_error.calling-update-bad-retry",
                    api.update(
                        hours, {"retry_policy": {"max_attempts": 2, "delays": {"busy": [0]}}}
                    ),
                ),
                (
                    "validation_error.calling-bypass-without-reason",
                    api.update(hours, {"calling_window": {"bypass": True, "reason": "  "}}),
                ),
                (
                    "outside_calling_window.create-one-off",
                    api.create(calling_reminder(scheduled_at=EARLY)),
                ),
                (
                    "outside_calling_window.update-time",
                    api.update(hours, {"scheduled_at": EARLY}),
                ),
                (
                    "validation_error.occurrences-count",
                    api.occurrences(hours, {"count": "101"}),
                ),
                ("not_found.occurrences-unknown", api.occurrences(987_654_321, {})),
            ],
        )


TEXTS = "+14155550142"
"""The line that texts (the fallback phase adds it; the messages phase sends from it)."""
FALLBACK_BODY = "{{reminder_title}} is on {{scheduled_local}} at {{clinic}}."
"""The fallback phase's template: two built-ins and one slot the reminder fills."""


def fallback_reminder(template_id: str, **fallback: Any) -> dict[str, Any]:
    """A create payload of the fallback phase: a one-off with an SMS fallback."""
    shape = {
        "channel": "sms",
        "template_id": template_id,
        "after": "final_failure",
        "variables": {"clinic": "Elm Street"},
        **fallback,
    }
    return reminder("Checkup", "America/New_York", CALLING_AT, fallback=shape)


async def _fallback_phase(play: Scenario) -> None:
    """The reminders' SMS fallback (telephony.md §4.6): a line that texts, a template, then
    create, get, change, clear and the field errors."""
    dc, setup, api = play.dc, play.setup, play.api
    texts = dc.accounts.add_line(
        setup.org_id, "simulated", TEXTS, features=("mms", "sms", "voice"), carrier="simulated"
    )
    play.run.alias("line:texts", texts.id)
    body = {"name": "checkup", "body": FALLBACK_BODY, "channels": ["sms"]}
    made = dc.message_templates.create(
        dc.authenticate(setup.key), {**body, "purpose": "informational"}
    )
    tpl = play.run.alias("template:checkup", made.id)
    payload = {**fallback_reminder(tpl), "vapi_line_id": texts.id}
    created = await play.step("fallback.create", api.create(payload))
    assert created.code is None, (play.facade.name, created.value)
    rid = play.run.alias("reminder:fallback", created.ok["id"])
    await play.step("fallback.get", api.get(rid))
    voicemail = fallback_reminder(tpl, after="voicemail")["fallback"]
    await play.step("fallback.update-after", api.update(rid, {"fallback": voicemail}))
    await play.step("fallback.clear", api.update(rid, {"fallback": None}))
    await play.steps(
        "error.",
        [
            (
                "validation_error.fallback-missing-slot",
                api.create(fallback_reminder(tpl, variables={})),
            ),
            (
                "validation_error.fallback-built-in-given",
                api.create(fallback_reminder(tpl, variables={"clinic": "A", "line_number": "1"})),
            ),
            (
                "validation_error.fallback-unknown-template",
                api.create(fallback_reminder("tpl_unknown", after="never")),
            ),
        ],
    )


VISIT = {
    "name": "visit",
    "description": "Visit reminder",
    "body": "Hi {{ first_name }}, see you at {{time}}.",
    "channels": ["sms", "mms"],
    "purpose": "informational",
}
"""The messages phase's template (created over each facade)."""
TELNYX_LINE = "+14155550199"
"""A Telnyx line without a 10DLC campaign: US pairs from it are refused."""


def text(template_id: str, **fields: Any) -> dict[str, Any]:
    """A send payload of the messages phase: SMS from the texting line to ``PHONE``."""
    return {
        "to": PHONE,
        "from": TEXTS,
        "channel": "sms",
        "template_id": template_id,
        "variables": {"time": "3 pm"},
        **fields,
    }


async def _messages_phase(play: Scenario) -> None:
    """Templates and messages (telephony.md §4): every RPC of MessageTemplateService and
    MessageService beside its REST route, then their errors. ``PHONE`` has the calling
    phase's consent."""
    dc, setup, run = play.dc, play.setup, play.run
    api = messaging(play.api)
    telnyx = dc.accounts.add_line(
        setup.org_id, "simulated", TELNYX_LINE, features=("sms", "voice"), carrier="telnyx"
    )
    run.alias("line:telnyx", telnyx.id)
    made = await play.step("messages.template-create", api.create_template(VISIT))
    assert made.code is None, (play.facade.name, made.value)
    tpl = run.alias("template:visit", made.ok["id"])
    old = await play.step(
        "messages.template-create-old", api.create_template({**VISIT, "name": "old"})
    )
    old_id = run.alias("template:old", old.ok["id"])
    await play.steps(
        "messages.",
        [
            ("template-get", api.template(tpl)),
            ("template-rename", api.update_template(tpl, {"name": "visit2", "description": None})),
            (
                "template-new-body",
                api.update_template(tpl, {"body": "See you at {{time}}.", "opt_out_footer": True}),
            ),
            ("template-archive", api.archive_template(old_id)),
            ("template-get-archived", api.template(old_id)),
            ("template-versions", api.versions(tpl, {})),
            ("template-versions-page-2", api.versions(tpl, {"page_size": "1", "page": "2"})),
            ("template-version-1", api.version(tpl, 1)),
            ("template-list", api.templates({})),
            (
                "template-list-filtered",
                api.templates({"purpose": "informational", "channel": "mms"}),
            ),
            ("template-list-archived", api.templates({"archived": "true"})),
        ],
    )
    sent = await play.step("messages.send", api.send(text(tpl)))
    assert sent.code is None, (play.facade.name, sent.value)
    run.alias("message:sent", sent.ok["id"])
    older = text(tpl, template_version=1, variables={"first_name": "Ada", "time": "4 pm"})
    first = await play.step("messages.send-version-1", api.send(older))
    run.alias("message:version-1", first.ok["id"])
    media = text(tpl, channel="mms", media_urls=["https://example.com/a.png"])
    mms = await play.step("messages.send-mms", api.send(media))
    run.alias("message:mms", mms.ok["id"])
    await play.steps(
        "messages.",
        [
            ("get", api.message(sent.ok["id"])),
            ("list", api.messages({})),
            (
                "list-filtered",
                api.messages(
                    {
                        "to": PHONE,
                        "from": TEXTS,
                        "channel": "sms",
                        "template_id": tpl,
                        "direction": "outbound",
                        "status": "queued",
                    }
                ),
            ),
            ("list-page-2", api.messages({"page_size": "2", "page": "2"})),
            (
                "list-dates",
                api.messages(
                    {"date_from": "2026-03-01T00:00:00Z", "date_to": "2030-01-01T00:00:00Z"}
                ),
            ),
        ],
    )
    stranger = "+14155550177"
    await play.steps(
        "error.",
        [
            ("validation_error.template-create-empty", api.create_template({})),
            (
                "validation_error.template-bad-body",
                api.create_template({**VISIT, "name": "x", "body": "Hi {{ Name }}"}),
            ),
            (
                "validation_error.template-marketing-without-footer",
                api.create_template(
                    {**VISIT, "name": "promo", "purpose": "marketing", "opt_out_footer": False}
                ),
            ),
            (
                "already_exists.template-name-taken",
                api.create_template({**VISIT, "name": "visit2"}),
            ),
            (
                "invalid_state.template-update-archived",
                api.update_template(old_id, {"name": "older"}),
            ),
            ("not_found.template-unknown", api.template("tpl_unknown")),
            ("not_found.template-version-unknown", api.version(tpl, 9)),
            ("validation_error.template-list-bad-filter", api.templates({"channel": "fax"})),
            ("validation_error.send-empty", api.send({})),
            ("validation_error.send-missing-variable", api.send(text(tpl, variables={}))),
            ("validation_error.send-archived-template", api.send(text(old_id))),
            ("validation_error.send-mms-without-media", api.send(text(tpl, channel="mms"))),
            ("consent_required.send-no-consent", api.send(text(tpl, to=stranger))),
            (
                "campaign_not_registered.send-telnyx-without-campaign",
                api.send(text(tpl, **{"from": TELNYX_LINE})),
            ),
            ("not_found.message-unknown", api.message("msg_unknown")),
            ("validation_error.messages-bad-filter", api.messages({"status": "lost"})),
        ],
    )


async def scenario(facade: Facade, dc: Dialcues, clock: FakeClock) -> Run:
    """Run the whole scenario through one facade; return every step's outcome."""
    play = Scenario(facade, dc, clock)
    await play.identity()
    await play.create()
    play.write_rows()
    await play.get()
    await play.list()
    await play.pages()
    await play.executions()
    await play.update()
    await play.errors()
    await play.pause_and_resume()
    await play.delete()
    await play.calling()
    await play.fallback()
    await play.messages()
    return play.run


# ----------------------------------------------------------------------------- the fixture
@dataclass(repr=False)
class Parity:
    """The two runs of the scenario."""

    rest: Run
    grpc: Run

    def __repr__(self) -> str:
        return f"Parity({len(self.rest.steps)} REST steps, {len(self.grpc.steps)} gRPC steps)"

    def names(self, prefix: str) -> list[str]:
        """Return the steps whose names start with ``prefix`` (at least one)."""
        found = [name for name in self.rest.steps if name.startswith(prefix)]
        assert found, f"no step named {prefix}…"
        return found

    def diff(self, name: str) -> list[str]:
        """Return the differences of one step between the runs, each line prefixed."""
        rest, over_grpc = self.rest.canonical(name), self.grpc.canonical(name)
        return [f"{name}: {line}" for line in differences(rest, over_grpc)]

    def diffs(self, prefix: str) -> list[str]:
        """Return the differences of every step under ``prefix``."""
        return [line for name in self.names(prefix) for line in self.diff(name)]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def parity(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Parity]:
    """Both facades over one platform in one event loop; the scenario through each."""
    clock = FakeClock(START)
    url = f"sqlite:///{tmp_path_factory.mktemp('parity') / 'dialcues.db'}"
    dc = Dialcues.open(settings=settings_for(url), clock=clock)
    offloader = Offloader(threads=4)
    runner = await start_rest(create_app(dc, offloader), "127.0.0.1", 0)
    server, port = await start_grpc(dc, offloader, "127.0.0.1", 0, None)
    try:
        host, rest_port = runner.addresses[0][:2]
        async with (
            aiohttp.ClientSession() as session,
            grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel,
        ):
            rest_api = RestFacade(session, f"http://{host}:{rest_port}", None)
            rest = await scenario(rest_api, dc, clock)
            over_grpc = await scenario(GrpcFacade(channel, None), dc, clock)
    finally:
        await server.stop(None)
        await runner.cleanup()
        offloader.shutdown()
        dc.close()
    yield Parity(rest, over_grpc)


# ----------------------------------------------------------------------------- the tests
def assert_same(found: list[str]) -> None:
    """Fail listing every difference, one per line."""
    assert not found, "REST and gRPC differ:\n" + "\n".join(found)


GROUPS = (
    "identity.",
    "create.",
    "get.",
    "list.",
    "page.",
    "walk.",
    "walk-reference.",
    "executions.",
    "execution.",
    "update.",
    "error.",
    "lifecycle.",
    "delete.",
    "calling.",
    "fallback.",
    "messages.",
)
"""Every step belongs to one group; each group is compared by a test below."""

CODES = {
    "unauthorized": (401, "UNAUTHENTICATED"),
    "invalid_api_key": (401, "UNAUTHENTICATED"),
    "api_key_revoked": (401, "UNAUTHENTICATED"),
    "api_key_expired": (401, "UNAUTHENTICATED"),
    "validation_error": (400, "INVALID_ARGUMENT"),
    "missing_outbound_line": (400, "FAILED_PRECONDITION"),
    "invalid_state": (400, "FAILED_PRECONDITION"),
    "not_found": (404, "NOT_FOUND"),
    "outside_calling_window": (422, "FAILED_PRECONDITION"),
    "already_exists": (409, "ALREADY_EXISTS"),
    "consent_required": (422, "FAILED_PRECONDITION"),
    "campaign_not_registered": (422, "FAILED_PRECONDITION"),
}
"""The contract codes both facades produce: HTTP status (public-api-v1.md), gRPC status
(common.proto)."""

REST_REMINDER_FIELDS = [
    "id",
    "title",
    "message",
    "phone_number",
    "scheduled_at",
    "timezone",
    "status",
    "vapi_line_id",
    "outbound_line_label",
    "recurrence_type",
    "recurrence_config",
    "recurrence_end_at",
    "retry_count",
    "next_attempt_at",
    "last_execution_id",
    "created_at",
    "updated_at",
    "purpose",
    "calling_window",
    "max_lateness_seconds",
    "retry_policy",
    "next_eligible_at",
    "fallback",
]
"""The contract's reminder object (public-api-v1.md, responsible-calling.md §13.1,
telephony.md §4.6)."""
REST_EXECUTION_FIELDS = [
    "id",
    "reminder_id",
    "reminder_title",
    "status",
    "attempt",
    "call_id",
    "line_id",
    "to",
    "scheduled_for",
    "executed_at",
    "ended_at",
    "ended_reason",
    "duration_s",
    "cost",
    "error_message",
    "purpose",
    "occurrence_at",
    "skip_reason",
    "confirmation",
    "confirmed_at",
    "actions",
    "direction",
    "from",
    "route",
    "answer_by",
    "fallback_message_id",
]
"""The contract's execution object (with responsible-calling.md §13.2's fields REST has,
telephony.md §3.3's inbound ones and §4.6's fallback link)."""
PAGE_FIELDS = {"items", "total", "page", "page_size", "total_pages"}


def test_both_runs_take_the_same_steps(parity: Parity) -> None:
    assert list(parity.grpc.steps) == list(parity.rest.steps)
    assert len(parity.rest.steps) > 100


def test_every_step_is_compared_by_a_group_test(parity: Parity) -> None:
    ungrouped = [n for n in parity.rest.steps if not n.startswith(GROUPS)]
    assert ungrouped == []


def test_steps_outside_the_error_group_succeed_on_both(parity: Parity) -> None:
    failed = [
        (run.facade.name, name, outcome.value)
        for run in (parity.rest, parity.grpc)
        for name, outcome in run.steps.items()
        if not name.startswith("error.") and outcome.code is not None
    ]
    assert failed == []


def test_created_reminders_match_for_every_recurrence_kind(parity: Parity) -> None:
    assert_same(parity.diffs("create."))
    rules = {
        name.removeprefix("create."): (r["recurrence_type"], r["recurrence_config"])
        for name in parity.names("create.")
        for r in [parity.grpc.steps[name].ok]
        if r["recurrence_type"] is not None
    }
    assert rules == {
        "daily": ("daily", None),
        "weekly": ("weekly", None),
        "weekdays": ("custom", {"weekdays": [1, 3, 5]}),
        "interval": ("custom", {"interval_days": 3}),
        "cron": ("cron", {"expression": "0 9 1,15 * *"}),
    }


def test_created_times_are_whole_seconds_in_utc_on_both(parity: Parity) -> None:
    for run in (parity.rest, parity.grpc):
        daily = run.canonical("create.daily")["ok"]
        assert (daily["scheduled_at"], daily["recurrence_end_at"], daily["created_at"]) == (
            "2026-03-02T08:00:00Z",
            "2026-04-30T07:00:00Z",  # BST by then
            "2026-03-01T12:00:04Z",  # the fourth step, one second each
        ), run.facade.name
        assert run.canonical("create.backup-line")["ok"]["scheduled_at"] == "2026-04-04T15:30:00Z"
        assert run.canonical("create.dst-gap")["ok"]["scheduled_at"] == "2026-03-08T07:30:00Z"


def test_fetched_reminders_match_including_retry_and_state_fields(parity: Parity) -> None:
    assert_same(parity.diffs("get."))
    cron = parity.grpc.canonical("get.cron")["ok"]
    assert (cron["retry_count"], cron["next_attempt_at"], cron["last_execution_id"]) == (
        1,
        "2026-03-01T14:05:00Z",
        "<execution:cron-answered>",
    )


def test_filtered_and_sorted_lists_match(parity: Parity) -> None:
    assert_same(parity.diffs("list."))
    totals = {n: parity.rest.steps[n].ok["total"] for n in parity.names("list.")}
    assert totals["list.default"] == len(CREATES) + 1
    assert totals["list.search-unicode-case"] == 1
    assert totals["list.status-in-progress"] == 1
    assert parity.rest.steps["list.empty"].ok["total_pages"] == 0


def test_numbered_pages_match(parity: Parity) -> None:
    assert_same(parity.diffs("page."))
    last = parity.grpc.canonical("page.4-of-4")["ok"]
    past = parity.grpc.canonical("page.9-of-4")["ok"]
    assert (len(last["items"]), last["total_pages"], past["items"], past["page"]) == (2, 4, [], 9)


def test_page_token_walk_equals_rest_pages_concatenated(parity: Parity) -> None:
    assert_same(parity.diffs("walk."))
    for name in parity.names("walk."):
        walked = parity.grpc.canonical(name)["ok"]
        reference = parity.rest.canonical(name.replace("walk.", "walk-reference.", 1))["ok"]
        assert walked["items"] == reference["items"], name
        assert walked["totals"] == [reference["total"]], name
    assert parity.grpc.steps["walk.search-by-1"].ok["pages"] > 3


def test_walk_reference_lists_match(parity: Parity) -> None:
    assert_same(parity.diffs("walk-reference."))


def test_execution_lists_and_gets_match(parity: Parity) -> None:
    assert_same(parity.diffs("executions."))
    assert_same(parity.diffs("execution."))
    walked = parity.grpc.canonical("executions.walk-by-3")["ok"]
    listed = parity.rest.canonical("executions.walk-reference")["ok"]
    assert (walked["items"], walked["pages"]) == (listed["items"], 3)


def test_execution_times_carry_milliseconds_on_both(parity: Parity) -> None:
    for run in (parity.rest, parity.grpc):
        answered = run.canonical("execution.cron-answered")["ok"]
        no_answer = run.canonical("execution.daily-no-answer")["ok"]
        assert (answered["executed_at"], answered["ended_at"], no_answer["executed_at"]) == (
            "2026-03-01T14:00:00.412Z",
            "2026-03-01T14:01:02.005Z",
            "2026-03-02T08:00:00.999Z",
        ), run.facade.name
        call_now = run.canonical("execution.call-now")["ok"]
        assert (call_now["reminder_id"], call_now["line_id"], call_now["executed_at"]) == (
            None,
            None,
            None,
        )


def test_updates_match(parity: Parity) -> None:
    assert_same(parity.diffs("update."))


def test_timezone_change_keeps_the_wall_clock_on_both(parity: Parity) -> None:
    for run in (parity.rest, parity.grpc):
        moved = run.canonical("update.timezone-keeps-wall-clock")["ok"]
        assert (moved["timezone"], moved["scheduled_at"]) == (
            "America/Chicago",
            "2026-03-25T14:00:00Z",
        )


def test_reviving_a_failed_reminder_resets_its_retries_on_both(parity: Parity) -> None:
    for run in (parity.rest, parity.grpc):
        revived = run.canonical("update.revive-failed")["ok"]
        assert (revived["status"], revived["retry_count"]) == ("scheduled", 0), run.facade.name


def test_pause_and_resume_match(parity: Parity) -> None:
    assert_same(parity.diffs("lifecycle."))
    resumed = parity.grpc.canonical("lifecycle.resume-daily-at-next-occurrence")["ok"]
    assert (resumed["status"], resumed["scheduled_at"]) == ("scheduled", "2026-03-04T08:00:00Z")


def test_calling_fields_match(parity: Parity) -> None:
    assert_same(parity.diffs("calling."))
    for run in (parity.rest, parity.grpc):
        made = run.canonical("calling.create-hours")["ok"]
        assert (made["calling_window"], made["purpose"], made["max_lateness_seconds"]) == (
            {"start": "09:00", "end": "17:00", "days": [1, 3, 5]},
            "marketing",
            600,
        ), run.facade.name
        bypass = run.canonical("calling.get-bypass")["ok"]["calling_window"]
        assert bypass["reason"] == "Asked for 06:30", run.facade.name
        assert bypass["bypassed_by"] == {"type": "api_key", "id": "<key>", "user_id": "<user>"}
        cleared = run.canonical("calling.update-clear-window")["ok"]
        assert cleared["calling_window"] is None, run.facade.name


def test_fallbacks_match(parity: Parity) -> None:
    assert_same(parity.diffs("fallback."))
    for run in (parity.rest, parity.grpc):
        made = run.canonical("fallback.create")["ok"]
        assert made["fallback"] == {
            "channel": "sms",
            "template_id": "<template:checkup>",
            "after": "final_failure",
            "variables": {"clinic": "Elm Street"},
        }, run.facade.name
        assert run.canonical("fallback.get")["ok"] == made, run.facade.name
        changed = run.canonical("fallback.update-after")["ok"]["fallback"]
        assert changed["after"] == "voicemail", run.facade.name
        assert run.canonical("fallback.clear")["ok"]["fallback"] is None, run.facade.name


def test_templates_and_messages_match(parity: Parity) -> None:
    assert_same(parity.diffs("messages."))
    for run in (parity.rest, parity.grpc):
        versions = run.canonical("messages.template-versions")["ok"]
        assert [v["version"] for v in versions["items"]] == [2, 1], run.facade.name
        renamed = run.canonical("messages.template-rename")["ok"]
        assert (renamed["name"], renamed["version"], renamed["description"]) == ("visit2", 1, None)
        sent = run.canonical("messages.send")["ok"]
        assert (sent["id"], sent["status"], sent["template_id"]) == (
            "<message:sent>",
            "queued",
            "<template:visit>",
        ), run.facade.name
        assert sent["text"] == "See you at 3 pm.\n\nReply STOP to opt out.", run.facade.name
        assert run.canonical("messages.send-version-1")["ok"]["template_version"] == 1
        assert run.canonical("messages.template-archive")["ok"] is None, run.facade.name


def test_occurrence_previews_match(parity: Parity) -> None:
    # covered by the calling group's diff too; here: each preview holds its reminder's one-off
    for run in (parity.rest, parity.grpc):
        for label in CALLING_CREATES:
            body = run.canonical(f"calling.occurrences-{label}")["ok"]
            assert body["reminder_id"] == f"<reminder:calling-{label}>", run.facade.name
            assert [i["plan"] for i in body["items"]] == ["dial"], (run.facade.name, label)
        bypassed = run.canonical("calling.occurrences-profile")["ok"]["items"][0]
        assert bypassed["window_zones"] == [], run.facade.name  # updated to a bypass


def test_outside_the_window_names_scheduled_at_on_both(parity: Parity) -> None:
    for run in (parity.rest, parity.grpc):
        for name in parity.names("error.outside_calling_window."):
            assert run.steps[name].field_names == ["scheduled_at"], (run.facade.name, name)


def test_delete_matches_and_keeps_the_executions_listed(parity: Parity) -> None:
    assert_same(parity.diffs("delete."))
    kept = parity.grpc.canonical("delete.executions-stay-listed")["ok"]["items"]
    assert [(e["reminder_id"], e["reminder_title"]) for e in kept] == [
        ("<reminder:doomed>", "Doomed")
    ]
    assert parity.grpc.steps["delete.doomed"].value == {"ok": None}


def test_lines_match(parity: Parity) -> None:
    assert_same(parity.diffs("identity.lines"))
    lines = parity.grpc.canonical("identity.lines")["ok"]["items"]
    assert [(x["id"], x["label"], x["provider"], x["is_default"]) for x in lines] == [
        ("<line:main>", "Main", "simulated", True),
        ("<line:backup>", None, "vapi", False),
    ]


def test_whoami_matches_me(parity: Parity) -> None:
    for name in parity.names("identity.me"):
        rest = parity.rest.canonical(name)["ok"]
        over_grpc = parity.grpc.canonical(name)["ok"]
        user = dict(over_grpc["user"])
        extras = {k: user.pop(k) for k in set(user) - set(rest["user"])}  # gRPC's User has more
        assert extras.keys() == {"organization_id", "created_at"}, name
        assert extras["organization_id"] == over_grpc["organization_id"] == "<org>", name
        assert_same([f"{name}: {d}" for d in differences(rest, {**over_grpc, "user": user})])
        assert (rest["user"]["id"], rest["api_key_id"]) == ("<user>", "<key>"), name


@pytest.mark.parametrize("code", list(CODES))
def test_each_error_code_is_the_same_on_both(parity: Parity, code: str) -> None:
    names = parity.names(f"error.{code}.")
    got = {n: (parity.rest.steps[n].code, parity.grpc.steps[n].code) for n in names}
    assert got == {n: (code, code) for n in names}


def test_validation_errors_name_the_same_fields(parity: Parity) -> None:
    mismatched = {}
    for name in parity.names("error.validation_error."):
        rest = [GRPC_FIELD_OF.get(f, f) for f in parity.rest.steps[name].field_names]
        over_grpc = parity.grpc.steps[name].field_names
        if sorted(set(rest)) != over_grpc:
            mismatched[name] = (rest, over_grpc)
    assert mismatched == {}
    bad = parity.rest.steps["error.validation_error.create-bad-values"].field_names
    assert bad == ["message", "phone_number", "scheduled_at", "timezone", "title"]


def test_recurrence_problems_are_named_recurrence_over_grpc(parity: Parity) -> None:
    name = "error.validation_error.create-bad-cron"
    assert parity.rest.steps[name].field_names == ["recurrence_config"]
    assert parity.grpc.steps[name].field_names == ["recurrence"]


def test_error_messages_and_details_are_the_same_on_both(parity: Parity) -> None:
    assert_same(parity.diffs("error."))


def test_errors_leave_with_the_status_each_facade_maps_their_code_to(parity: Parity) -> None:
    wrong = {}
    for name in parity.names("error."):
        code = parity.rest.steps[name].code
        assert code is not None, name
        got = (parity.rest.steps[name].status, parity.grpc.steps[name].status)
        if got != CODES[code]:
            wrong[name] = got
    assert wrong == {}


def test_response_messages_carry_exactly_the_rest_fields(parity: Parity) -> None:
    def names(message: Any) -> set[str]:
        return {f.name for f in message.DESCRIPTOR.fields}

    assert set(parity.rest.steps["create.oneoff"].ok) == set(REST_REMINDER_FIELDS)
    assert set(parity.rest.steps["execution.cron-answered"].ok) == set(REST_EXECUTION_FIELDS)

    reminder_fields = (names(reminders_pb2.Reminder) - {"recurrence"}) | {
        "recurrence_type",
        "recurrence_config",
    }
    assert reminder_fields == set(REST_REMINDER_FIELDS)
    assert names(executions_pb2.Execution) == set(REST_EXECUTION_FIELDS)
    assert names(lines_pb2.Line) == {
        "id",
        "label",
        "phone_number",
        "provider",
        "is_default",
        "features",
        "carrier",
        "number_id",
        "route",
    }
    assert names(identity_pb2.WhoAmIResponse) == {
        "user",
        "organization_id",
        "api_key_id",
        "client_id",
    }
    assert names(executions_pb2.ListExecutionsResponse) - {"next_page_token"} == PAGE_FIELDS
    assert names(reminders_pb2.ListRemindersResponse) - {"next_page_token"} == PAGE_FIELDS
    objects = {
        "messages.send": messages_pb2.Message,
        "messages.template-get": messages_pb2.MessageTemplate,
        "messages.template-version-1": messages_pb2.MessageTemplateVersion,
    }
    for step, message_type in objects.items():  # telephony.md §6.5: field for field
        assert names(message_type) == set(parity.rest.steps[step].ok), step
    listings = {
        "messages.list": messages_pb2.ListMessagesResponse,
        "messages.template-list": messages_pb2.ListMessageTemplatesResponse,
        "messages.template-versions": messages_pb2.ListMessageTemplateVersionsResponse,
    }
    for step, page_type in listings.items():
        assert set(parity.rest.steps[step].ok) == PAGE_FIELDS, step
        assert names(page_type) - {"next_page_token"} == PAGE_FIELDS, step
