"""Peewee implementations of the core's repository ports (SQLite and PostgreSQL alike).

Rows are mapped to the domain's frozen dataclasses here and nowhere else; a foreign
``IntegrityError`` is translated to the core's ``AlreadyExists`` at this boundary.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import peewee as pw

from dialcues_core.adapters.peewee.prepared import PreparedInsert, PreparedSelect
from dialcues_core.adapters.peewee.tables import (
    ApiKeyRow,
    ExecutionRow,
    LineRow,
    OrganizationRow,
    ReminderRow,
    UserRow,
)
from dialcues_core.errors import AlreadyExists, StorageUnavailable
from dialcues_core.model import (
    ApiKey,
    Execution,
    ExecutionStatus,
    Organization,
    OutboundLine,
    Page,
    Provider,
    ProviderSettings,
    RecurrenceKind,
    RecurrenceRule,
    Reminder,
    ReminderStatus,
    User,
)
from dialcues_core.ports import ExecutionQuery, ReminderQuery
from dialcues_core.validation import SEARCH_SEPARATOR, fold


class PeeweeTransactions:
    """Transactions on the bound database (SQLite writers take the lock up front)."""

    def __init__(self, db: pw.Database):
        self.db = db
        self._sqlite = isinstance(db, pw.SqliteDatabase)
        self._writer = threading.Lock()

    def atomic(self) -> AbstractContextManager[object]:
        """Return a transaction; on SQLite an outermost one is ``BEGIN IMMEDIATE``.

        On SQLite this process's threads also take turns on a lock first (see
        :class:`_SqliteWriteTurn`).
        """
        if self._sqlite and not self.db.in_transaction():
            return _SqliteWriteTurn(self.db, self._writer)
        return self.db.atomic()

    def ping(self) -> bool:
        """Tell whether the database answers ``SELECT 1``."""
        try:
            self.db.execute_sql("SELECT 1").fetchone()
            return True
        except (pw.DatabaseError, StorageUnavailable):
            return False


class _SqliteWriteTurn:
    """An outermost SQLite transaction (``BEGIN IMMEDIATE``), entered one thread at a time.

    SQLite has one writer. Threads of one process racing for it wait in SQLite's busy
    handler, which sleeps 1, 2, 5, 10 … ms between tries while the database may sit idle:
    measured (32 creates in flight), 8 offloader threads took 458 µs per reminder without
    this lock and 215 µs with it. Queuing on a lock hands the database over the moment it is
    free; other processes still meet SQLite's busy timeout. Waiting longer than that timeout
    raises "database is locked", as SQLite would.
    """

    TIMEOUT_S = 10.0

    def __init__(self, db: pw.Database, lock: threading.Lock):
        self.db = db
        self.lock = lock
        self.txn: Any = None

    def __enter__(self) -> object:
        if not self.lock.acquire(timeout=self.TIMEOUT_S):
            raise StorageUnavailable(detail="database is locked (this process waited its turn)")
        try:
            self.txn = self.db.atomic("IMMEDIATE")
            return self.txn.__enter__()
        except BaseException:
            self.lock.release()
            raise

    def __exit__(self, *exc: Any) -> Any:
        try:
            return self.txn.__exit__(*exc)
        finally:
            self.lock.release()


# ----------------------------------------------------------------------------- organizations
class PeeweeOrganizationRepository:
    """Organizations in the ``organizations`` table."""

    def add(self, org: Organization) -> None:
        """Store a new organization."""
        OrganizationRow.create(id=org.id, name=org.name, created_at=org.created_at)

    def get(self, org_id: str) -> Organization | None:
        """Return the organization or None."""
        row = OrganizationRow.get_or_none(OrganizationRow.id == org_id)
        return _organization(row) if row else None

    def exists_any(self) -> bool:
        """Tell whether any organization exists."""
        return OrganizationRow.select().exists()

    def set_provider(self, org_id: str, settings: ProviderSettings) -> None:
        """Replace the organization's provider settings."""
        delays = settings.retry_delays
        OrganizationRow.update(
            provider=settings.provider.value,
            provider_api_key=settings.api_key,
            provider_assistant_id=settings.assistant_id,
            provider_webhook_secret=settings.webhook_secret,
            provider_base_url=settings.base_url,
            provider_concurrency=settings.concurrency,
            provider_retry_delays=",".join(map(str, delays)) if delays is not None else None,
        ).where(OrganizationRow.id == org_id).execute()


def _delays(text: str | None) -> tuple[int, ...] | None:
    return tuple(int(d) for d in text.split(",") if d) if text is not None else None


def _organization(row: Any) -> Organization:
    provider = None
    if row.provider:
        provider = ProviderSettings(
            provider=Provider(row.provider),
            api_key=row.provider_api_key,
            assistant_id=row.provider_assistant_id,
            webhook_secret=row.provider_webhook_secret,
            base_url=row.provider_base_url,
            concurrency=row.provider_concurrency,
            retry_delays=_delays(row.provider_retry_delays),
        )
    return Organization(row.id, row.name, row.created_at, provider)


# ----------------------------------------------------------------------------- users and keys
class PeeweeUserRepository:
    """Users in the ``users`` table."""

    def add(self, user: User) -> None:
        """Store a new user; the e-mail is unique within the organization."""
        try:
            with UserRow._meta.database.atomic():
                UserRow.create(
                    id=user.id,
                    organization=user.organization_id,
                    email=user.email,
                    name=user.name,
                    created_at=user.created_at,
                )
        except pw.IntegrityError as exc:
            raise AlreadyExists(
                "A user with this e-mail already exists in the organization.", {"field": "email"}
            ) from exc

    def get(self, user_id: str) -> User | None:
        """Return the user or None."""
        row = UserRow.get_or_none(UserRow.id == user_id)
        return _user(row) if row else None


def _user(row: Any) -> User:
    return User(row.id, row.organization_id, row.email, row.name, row.created_at)


class PeeweeApiKeyRepository:
    """API keys in the ``api_keys`` table."""

    def add(self, key: ApiKey) -> None:
        """Store a new key."""
        ApiKeyRow.create(
            id=key.id,
            user=key.user_id,
            organization_id=key.organization_id,
            name=key.name,
            prefix=key.prefix,
            last4=key.last4,
            key_hash=key.key_hash,
            scopes=",".join(key.scopes),
            created_at=key.created_at,
            expires_at=key.expires_at,
        )

    def find_by_hash(self, key_hash: str) -> tuple[ApiKey, User] | None:
        """Return the key with this hash and its user, or None."""
        query = (
            ApiKeyRow.select(ApiKeyRow, UserRow).join(UserRow).where(ApiKeyRow.key_hash == key_hash)
        )
        row = query.first()
        return (_api_key(row), _user(row.user)) if row else None

    def get(self, key_id: str) -> ApiKey | None:
        """Return the key or None."""
        row = ApiKeyRow.get_or_none(ApiKeyRow.id == key_id)
        return _api_key(row) if row else None

    def list_for_user(self, user_id: str) -> list[ApiKey]:
        """Return the user's keys, newest first."""
        rows = ApiKeyRow.select().where(ApiKeyRow.user == user_id)
        return [_api_key(r) for r in rows.order_by(ApiKeyRow.created_at.desc(), ApiKeyRow.id)]

    def revoke(self, key_id: str, at: datetime) -> None:
        """Mark the key revoked (the first revocation time is kept)."""
        ApiKeyRow.update(revoked_at=at).where(
            (ApiKeyRow.id == key_id) & ApiKeyRow.revoked_at.is_null()
        ).execute()

    def touch(self, last_used: dict[str, datetime]) -> None:
        """Record ``last_used_at`` for many keys in one transaction."""
        with ApiKeyRow._meta.database.atomic():
            for key_id, at in last_used.items():
                ApiKeyRow.update(last_used_at=at).where(ApiKeyRow.id == key_id).execute()


def _api_key(row: Any) -> ApiKey:
    return ApiKey(
        id=row.id,
        user_id=row.user_id,
        organization_id=row.organization_id,
        name=row.name,
        prefix=row.prefix,
        last4=row.last4,
        key_hash=row.key_hash,
        scopes=tuple(s for s in row.scopes.split(",") if s),
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


# ----------------------------------------------------------------------------- lines
class PeeweeLineRepository:
    """Outbound lines in the ``outbound_lines`` table."""

    def add(self, line: OutboundLine) -> None:
        """Store a new line; a default line makes the others non-default."""
        with LineRow._meta.database.atomic():
            if line.is_default:
                LineRow.update(is_default=False).where(
                    LineRow.organization == line.organization_id
                ).execute()
            LineRow.create(
                id=line.id,
                organization=line.organization_id,
                provider=line.provider.value,
                provider_line_id=line.provider_line_id,
                phone_number=line.phone_number,
                label=line.label,
                is_default=line.is_default,
                created_at=line.created_at,
            )

    def get(self, org_id: str, line_id: str) -> OutboundLine | None:
        """Return the organization's line or None (never a temporary line)."""
        row = LineRow.get_or_none(
            (LineRow.id == line_id) & (LineRow.organization == org_id) & _LASTING
        )
        return _line(row) if row else None

    def list_for_org(self, org_id: str) -> list[OutboundLine]:
        """Return the organization's lines, oldest first (temporary lines left out)."""
        rows = LineRow.select().where((LineRow.organization == org_id) & _LASTING)
        return [_line(r) for r in rows.order_by(LineRow.created_at, LineRow.id)]

    def default_for(self, org_id: str) -> OutboundLine | None:
        """Return the default line, else the oldest line, else None (never a temporary line)."""
        row = _DEFAULT_LINE.first(org_id)
        return _line(SimpleNamespace(**row)) if row else None

    def remove(self, org_id: str, line_id: str) -> bool:
        """Delete the organization's line; its reminders fall back to the default at dial time."""
        with LineRow._meta.database.atomic():
            deleted = (
                LineRow.delete()
                .where((LineRow.id == line_id) & (LineRow.organization == org_id) & _LASTING)
                .execute()
            )
            if deleted:
                ReminderRow.update(line_id=None).where(
                    (ReminderRow.line_id == line_id) & (ReminderRow.organization_id == org_id)
                ).execute()
        return bool(deleted)

    def set_default(self, org_id: str, line_id: str) -> bool:
        """Make the line the organization's only default; tell whether it exists."""
        with LineRow._meta.database.atomic():
            if self.get(org_id, line_id) is None:
                return False
            LineRow.update(is_default=(LineRow.id == line_id)).where(
                LineRow.organization == org_id
            ).execute()
        return True


_LASTING = LineRow.temporary == False  # noqa: E712 (SQL, not Python)
"""Lines other than the smoke flow's temporary one (the only lines callers can see or pick)."""

_DEFAULT_LINE = PreparedSelect(
    lambda org_id: (
        LineRow.select()
        .where((LineRow.organization == org_id) & _LASTING)
        .order_by(LineRow.is_default.desc(), LineRow.created_at, LineRow.id)
        .limit(1)
    ),
    arity=1,
)


def _line(row: Any) -> OutboundLine:
    return OutboundLine(
        id=row.id,
        organization_id=row.organization_id,
        provider=Provider(row.provider),
        phone_number=row.phone_number,
        label=row.label,
        is_default=bool(row.is_default),
        created_at=row.created_at,
        provider_line_id=row.provider_line_id,
    )


# ----------------------------------------------------------------------------- reminders
_INSERT_REMINDER = PreparedInsert(ReminderRow)
_REMINDER_SORTS: dict[str, tuple[Any, ...]] = {
    "scheduled_at_asc": (ReminderRow.scheduled_at.asc(), ReminderRow.id.asc()),
    "scheduled_at_desc": (ReminderRow.scheduled_at.desc(), ReminderRow.id.desc()),
    "updated_at_desc": (ReminderRow.updated_at.desc(), ReminderRow.id.desc()),
}


_REMINDER_BY_ID = PreparedSelect(
    lambda reminder_id, user_id: (
        ReminderRow.select(ReminderRow, LineRow.label)
        .join(LineRow, pw.JOIN.LEFT_OUTER, on=(ReminderRow.line_id == LineRow.id))
        .where((ReminderRow.id == reminder_id) & (ReminderRow.user_id == user_id))
    ),
    arity=2,
)


class PeeweeReminderRepository:
    """Reminders in the ``reminders`` table, always read through their owner."""

    def add(self, reminder: Reminder) -> Reminder:
        """Store a new reminder and return it with its id."""
        values = reminder_values(reminder)
        new_id = _INSERT_REMINDER.execute(values)  # prepared: the hot path of POST /reminders
        return _replace_id(reminder, new_id)

    def get(self, user_id: str, reminder_id: int) -> Reminder | None:
        """Return the user's reminder or None (prepared: the hot path of GetReminder)."""
        row = _REMINDER_BY_ID.first(reminder_id, user_id)
        if row is None:
            return None
        row["line_label"] = row.pop("label")
        return reminder_from_row(SimpleNamespace(**row))

    def get_for_update(self, user_id: str, reminder_id: int) -> Reminder | None:
        """Return the user's reminder, its row locked until the transaction ends."""
        query = ReminderRow.select().where(
            (ReminderRow.id == reminder_id) & (ReminderRow.user_id == user_id)
        )
        if isinstance(ReminderRow._meta.database.obj, pw.PostgresqlDatabase):
            query = query.for_update()
        row = query.first()
        if row is None:
            return None
        return self.get(user_id, reminder_id)

    def save(self, reminder: Reminder) -> None:
        """Write every field of an existing reminder."""
        values = reminder_values(reminder)
        ReminderRow.update(**values).where(ReminderRow.id == reminder.id).execute()

    def delete(self, user_id: str, reminder_id: int) -> None:
        """Delete the user's reminder."""
        ReminderRow.delete().where(
            (ReminderRow.id == reminder_id) & (ReminderRow.user_id == user_id)
        ).execute()

    def list(self, user_id: str, query: ReminderQuery) -> Page[Reminder]:
        """Return one page of the user's reminders, filtered and sorted."""
        where = ReminderRow.user_id == user_id
        if query.status is not None:
            where &= ReminderRow.status == query.status.value
        if query.date_from is not None:
            where &= ReminderRow.scheduled_at >= query.date_from
        if query.date_to is not None:
            where &= ReminderRow.scheduled_at < query.date_to
        if query.search:
            where &= _contains(ReminderRow.search_text, fold(query.search))
        total = ReminderRow.select().where(where).count()
        order = _REMINDER_SORTS[query.sort]
        # Deferred join: page through the covering index first, then read only the page's rows.
        page_ids = (
            ReminderRow.select(ReminderRow.id)
            .where(where)
            .order_by(*order)
            .paginate(query.page, query.page_size)
        )
        rows = self._select().where(ReminderRow.id.in_(page_ids)).order_by(*order)
        items = [reminder_from_row(r) for r in rows] if total else []
        return Page(items, total, query.page, query.page_size)

    @staticmethod
    def _select() -> Any:
        # .objects(): put the joined ``line_label`` on the reminder row itself (peewee would
        # otherwise attach it to a nested ``row.linerow`` and the label would read as None).
        return (
            ReminderRow.select(ReminderRow, LineRow.label.alias("line_label"))
            .join(LineRow, pw.JOIN.LEFT_OUTER, on=(ReminderRow.line_id == LineRow.id))
            .objects()
        )


def _contains(column: pw.Field, needle: str) -> pw.Expression:
    """Return ``needle in column`` as SQL (``instr`` on SQLite, ``strpos`` on PostgreSQL)."""
    if isinstance(ReminderRow._meta.database.obj, pw.PostgresqlDatabase):
        return pw.fn.STRPOS(column, needle) > 0
    return pw.fn.INSTR(column, needle) > 0


def reminder_values(r: Reminder) -> dict[str, Any]:
    """Return the column values of a reminder (``due_at`` derived from its status)."""
    rule = r.recurrence
    due_at = None
    if r.status is ReminderStatus.SCHEDULED:
        due_at = r.next_attempt_at or r.scheduled_at
    return {
        "user_id": r.user_id,
        "organization_id": r.organization_id,
        "title": r.title,
        "message": r.message,
        "phone_number": r.phone_number,
        "scheduled_at": r.scheduled_at,
        "timezone": r.timezone,
        "local_time": r.local_time.isoformat(timespec="seconds"),
        "status": r.status.value,
        "line_id": r.line_id,
        "recurrence_kind": rule.kind.value if rule else None,
        "interval_days": rule.interval_days if rule else None,
        "weekdays": ",".join(map(str, rule.weekdays)) if rule and rule.weekdays else None,
        "cron": rule.cron if rule else None,
        "recurrence_end_at": rule.end_at if rule else None,
        "recurrence_end_local": _local_text(rule.end_local) if rule else None,
        "retry_count": r.retry_count,
        "next_attempt_at": r.next_attempt_at,
        "last_execution_id": r.last_execution_id,
        "due_at": due_at,
        "search_text": f"{fold(r.title)}{SEARCH_SEPARATOR}{fold(r.message)}",
        "created_at": r.created_at,
        "updated_at": r.updated_at,
    }


def _local_text(local: datetime | None) -> str | None:
    return local.isoformat(timespec="seconds") if local is not None else None


def _local_or_none(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def reminder_from_row(row: Any) -> Reminder:
    """Map a reminder row (optionally carrying ``line_label``) to the domain object."""
    local = datetime.fromisoformat(row.local_time)
    rule = None
    if row.recurrence_kind:
        rule = RecurrenceRule(
            kind=RecurrenceKind(row.recurrence_kind),
            anchor=local,
            zone=row.timezone,
            interval_days=row.interval_days,
            weekdays=tuple(int(d) for d in row.weekdays.split(",")) if row.weekdays else (),
            cron=row.cron,
            end_at=row.recurrence_end_at,
            end_local=_local_or_none(row.recurrence_end_local),
        )
    return Reminder(
        id=row.id,
        user_id=row.user_id,
        organization_id=row.organization_id,
        title=row.title,
        message=row.message,
        phone_number=row.phone_number,
        scheduled_at=row.scheduled_at,
        timezone=row.timezone,
        local_time=local,
        status=ReminderStatus(row.status),
        line_id=row.line_id,
        line_label=getattr(row, "line_label", None),
        recurrence=rule,
        retry_count=row.retry_count,
        next_attempt_at=row.next_attempt_at,
        last_execution_id=row.last_execution_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _replace_id(reminder: Reminder, new_id: int) -> Reminder:
    from dataclasses import replace

    return replace(reminder, id=new_id)


# ----------------------------------------------------------------------------- executions
class PeeweeExecutionRepository:
    """Executions in the ``executions`` table, always read through their owner."""

    def get(self, user_id: str, execution_id: int) -> Execution | None:
        """Return the user's execution or None."""
        row = ExecutionRow.get_or_none(
            (ExecutionRow.id == execution_id) & (ExecutionRow.user_id == user_id)
        )
        return execution_from_row(row) if row else None

    def list(self, user_id: str, query: ExecutionQuery) -> Page[Execution]:
        """Return one page of the user's executions, newest first."""
        where = ExecutionRow.user_id == user_id
        if query.status is not None:
            where &= ExecutionRow.status == query.status.value
        if query.reminder_id is not None:
            where &= ExecutionRow.reminder_id == query.reminder_id
        if query.date_from is not None:
            where &= ExecutionRow.executed_at >= query.date_from
        if query.date_to is not None:
            where &= ExecutionRow.executed_at < query.date_to
        total = ExecutionRow.select().where(where).count()
        rows = (
            ExecutionRow.select()
            .where(where)
            .order_by(ExecutionRow.id.desc())
            .paginate(query.page, query.page_size)
        )
        items = [execution_from_row(r) for r in rows] if total else []
        return Page(items, total, query.page, query.page_size)


def execution_from_row(row: Any) -> Execution:
    """Map an execution row to the domain object."""
    return Execution(
        id=row.id,
        user_id=row.user_id,
        organization_id=row.organization_id,
        reminder_id=row.reminder_id,
        reminder_title=row.reminder_title,
        status=ExecutionStatus(row.status),
        attempt=row.attempt,
        call_id=row.call_id,
        line_id=row.line_id,
        to=row.to_number,
        scheduled_for=row.scheduled_for,
        executed_at=row.executed_at,
        ended_at=row.ended_at,
        ended_reason=row.ended_reason,
        duration_s=row.duration_s,
        cost=row.cost,
        error_message=row.error_message,
    )
