"""Message templates and their versions, messages, and applied carrier events (the caller's
transaction)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import peewee as pw

from dialcues_core.adapters.peewee.prepared import PreparedInsert, PreparedSelect
from dialcues_core.adapters.peewee.tables import (
    CarrierEventRow,
    ExecutionRow,
    MessageRow,
    MessageTemplateRow,
    MessageTemplateVersionRow,
    ReminderRow,
    as_instant,
    to_ms,
)
from dialcues_core.messages.fields import fallback_from_json
from dialcues_core.messages.model import (
    Message,
    MessageCost,
    MessageStatus,
    MessageTemplate,
    TemplateVersion,
)
from dialcues_core.messages.ports import FallbackTarget, MessageQuery, TemplateQuery

_LIVE = (MessageStatus.QUEUED.value, MessageStatus.SENDING.value)
_M, _T, _V = MessageRow, MessageTemplateRow, MessageTemplateVersionRow
# prepared: the hot paths of POST /messages and of carrier webhooks (see prepared.py)
_INSERT_MESSAGE = PreparedInsert(MessageRow)
_MESSAGE_BY_ID = PreparedSelect(lambda message_id: _M.select().where(_M.id == message_id), 1)
_MESSAGE_BY_ID_LOCKED = PreparedSelect(
    lambda message_id: _M.select().where(_M.id == message_id).for_update(), 1
)
_BY_CARRIER_ID = PreparedSelect(
    lambda carrier_id, org: (
        _M.select()
        .where(
            (_M.carrier_message_id == carrier_id)
            & (_M.organization_id == org)
            & (_M.direction == "outbound")
        )
        .limit(1)
    ),
    2,
)
_BY_CARRIER_ID_LOCKED = PreparedSelect(
    lambda carrier_id, org: (
        _M.select()
        .where(
            (_M.carrier_message_id == carrier_id)
            & (_M.organization_id == org)
            & (_M.direction == "outbound")
        )
        .limit(1)
        .for_update()
    ),
    2,
)
_TEMPLATE = PreparedSelect(
    lambda template_id, org: _T.select().where(
        (_T.id == template_id) & (_T.organization_id == org)
    ),
    2,
)
_VERSION = PreparedSelect(
    lambda template_id, version: _V.select().where(
        (_V.template_id == template_id) & (_V.version == version)
    ),
    2,
)
_FIXED = ("id", "organization_id", "user_id", "direction", "created_at")
"""Columns a message never changes (``save_message`` leaves them)."""
_UPDATE_SQL: dict[type, tuple[str, list[pw.Field]]] = {}


def _update_statement(db: pw.Database) -> tuple[str, list[pw.Field]]:
    """``UPDATE messages SET <every mutable column>, lease_until = NULL WHERE id = ?``, built
    once per backend."""
    found = _UPDATE_SQL.get(type(db))
    if found is None:
        names = [n for n in _message_columns_names() if n not in _FIXED]
        fields = [MessageRow._meta.fields[n] for n in names]
        sets = ", ".join(f'"{f.column_name}" = {db.param}' for f in fields)
        sql = f'UPDATE "messages" SET {sets}, "lease_until" = NULL WHERE "id" = {db.param}'
        found = _UPDATE_SQL[type(db)] = (sql, fields)
    return found


class PeeweeMessageStore:
    """The ``message_templates``, ``message_template_versions``, ``messages`` and
    ``carrier_events`` tables."""

    def __init__(self, db: pw.Database):
        self.db = db
        self.pg = isinstance(db, pw.PostgresqlDatabase)

    # ------------------------------------------------------------------ templates
    def lock_templates(self, organization_id: str) -> None:
        """Serialize the organization's template writes (PostgreSQL; SQLite has one writer)."""
        if self.pg:
            key = int.from_bytes(hashlib.sha256(b"tpl:" + organization_id.encode()).digest()[:8])
            self.db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (key - 2**63,))

    def add_template(self, template: MessageTemplate) -> None:
        """Store a new template and its first version."""
        MessageTemplateRow.insert(**_template_columns(template)).execute()
        self.add_version(template.content)

    def add_version(self, version: TemplateVersion) -> None:
        """Store a new version."""
        MessageTemplateVersionRow.insert(
            template_id=version.template_id,
            version=version.version,
            body=version.body,
            channels=",".join(version.channels),
            purpose=version.purpose,
            opt_out_footer=version.opt_out_footer,
            variables=",".join(version.variables),
            content_hash=version.content_hash,
            created_at=version.created_at,
        ).execute()

    def save_template(self, template: MessageTemplate) -> None:
        """Write a template's name, description, current version and times."""
        columns = _template_columns(template)
        columns.pop("id")
        MessageTemplateRow.update(**columns).where(MessageTemplateRow.id == template.id).execute()

    def get_template(self, organization_id: str, template_id: str) -> MessageTemplate | None:
        """The organization's template with its current version."""
        found = _TEMPLATE.first(template_id, organization_id)
        if found is None:
            return None
        row = SimpleNamespace(**found)
        content = self.get_version(row.id, row.version)
        return _template(row, content) if content is not None else None

    def get_version(self, template_id: str, version: int) -> TemplateVersion | None:
        """One version of a template."""
        found = _VERSION.first(template_id, version)
        return _version(SimpleNamespace(**found)) if found is not None else None

    def name_taken(self, organization_id: str, name: str, other_than: str | None) -> bool:
        """Whether another unarchived template of the organization has the name."""
        query = MessageTemplateRow.select().where(
            MessageTemplateRow.organization_id == organization_id,
            MessageTemplateRow.name == name,
            MessageTemplateRow.archived_at.is_null(),
        )
        if other_than is not None:
            query = query.where(MessageTemplateRow.id != other_than)
        return bool(query.exists())

    def list_templates(self, query: TemplateQuery) -> tuple[list[MessageTemplate], int]:
        """One page, newest first, and the total."""
        t, v = MessageTemplateRow, MessageTemplateVersionRow
        select = (
            t.select(t, v)
            .join(v, on=((v.template_id == t.id) & (v.version == t.version)), attr="current")
            .where(t.organization_id == query.organization_id)
        )
        select = select.where(
            t.archived_at.is_null(False) if query.archived else t.archived_at.is_null()
        )
        if query.purpose:
            select = select.where(v.purpose == query.purpose)
        if query.channel:
            select = select.where(
                (v.channels == query.channel)
                | v.channels.startswith(query.channel + ",")
                | v.channels.endswith("," + query.channel)
                | v.channels.contains("," + query.channel + ",")
            )
        total = select.count()
        rows = (
            select.order_by(t.created_at.desc(), t.id.desc())
            .offset(query.offset)
            .limit(query.limit)
        )
        return [_template(row, _joined_version(row)) for row in rows], total

    def list_versions(
        self, template_id: str, offset: int, limit: int
    ) -> tuple[list[TemplateVersion], int]:
        """One page of versions, newest first, and the total."""
        v = MessageTemplateVersionRow
        select = v.select().where(v.template_id == template_id)
        total = select.count()
        rows = select.order_by(v.version.desc()).offset(offset).limit(limit)
        return [_version(row) for row in rows], total

    # ------------------------------------------------------------------ messages
    def add_message(self, message: Message, fallback_key: str | None = None) -> None:
        """Store a new message."""
        _INSERT_MESSAGE.insert({**_message_columns(message), "fallback_key": fallback_key})

    def fallback_exists(self, fallback_key: str) -> bool:
        """Whether a fallback message exists for that occurrence."""
        return bool(MessageRow.select().where(MessageRow.fallback_key == fallback_key).exists())

    def get_message(self, message_id: str, for_update: bool = False) -> Message | None:
        """A message by id (locked for this transaction when asked, on PostgreSQL)."""
        statement = _MESSAGE_BY_ID_LOCKED if for_update and self.pg else _MESSAGE_BY_ID
        found = statement.first(message_id)
        return _message(SimpleNamespace(**found)) if found is not None else None

    def by_carrier_id(
        self, organization_id: str, carrier_message_id: str, for_update: bool = False
    ) -> Message | None:
        """The organization's message the carrier knows by that id."""
        statement = _BY_CARRIER_ID_LOCKED if for_update and self.pg else _BY_CARRIER_ID
        found = statement.first(carrier_message_id, organization_id)
        return _message(SimpleNamespace(**found)) if found is not None else None

    def save_message(self, message: Message) -> None:
        """Write every mutable field (and drop the lease)."""
        sql, fields = _update_statement(self.db)
        columns = _message_columns(message)
        params = [f.db_value(columns[f.name]) for f in fields]
        self.db.execute_sql(sql, [*params, message.id])

    def queued_to(self, organization_id: str, number: str) -> list[Message]:
        """The organization's ``queued`` messages to a number."""
        query = MessageRow.select().where(
            MessageRow.organization_id == organization_id,
            MessageRow.to_number == number,
            MessageRow.status == MessageStatus.QUEUED.value,
        )
        if self.pg:  # a row a hand-off holds is read again once it commits (then not queued)
            query = query.for_update()
        return [_message(row) for row in query]

    def list_messages(self, query: MessageQuery) -> tuple[list[Message], int]:
        """One page, newest first, and the total."""
        m = MessageRow
        select = m.select().where(m.organization_id == query.organization_id)
        if query.user_id is not None:
            select = select.where(m.user_id.is_null() | (m.user_id == query.user_id))
        for column, value in (
            (m.direction, query.direction),
            (m.status, query.status),
            (m.channel, query.channel),
            (m.to_number, query.to),
            (m.from_number, query.from_number),
            (m.template_id, query.template_id),
            (m.execution_id, query.execution_id),
        ):
            if value is not None:
                select = select.where(column == value)
        if query.date_from is not None:
            select = select.where(m.created_at >= query.date_from)
        if query.date_to is not None:
            select = select.where(m.created_at < query.date_to)
        total = select.count()
        rows = (
            select.order_by(m.created_at.desc(), m.id.desc())
            .offset(query.offset)
            .limit(query.limit)
        )
        return [_message(row) for row in rows], total

    def due(self, now: datetime, limit: int) -> list[str]:
        """Ids of queued or sending messages due now with no live lease, soonest first."""
        rows = (
            MessageRow.select(MessageRow.id)
            .where(
                MessageRow.due_at <= now,
                MessageRow.status.in_(_LIVE),
                MessageRow.lease_until.is_null() | (MessageRow.lease_until < now),
            )
            .order_by(MessageRow.due_at)
            .limit(limit)
        )
        return [r.id for r in rows]

    def lease(self, message_id: str, now: datetime, until: datetime) -> Message | None:
        """Take a due message's lease (one winner)."""
        taken = (
            MessageRow.update(lease_until=until)
            .where(
                MessageRow.id == message_id,
                MessageRow.due_at.is_null(False),
                MessageRow.status.in_(_LIVE),
                MessageRow.lease_until.is_null() | (MessageRow.lease_until < now),
            )
            .execute()
        )
        return self.get_message(message_id) if taken else None

    def next_due(self) -> datetime | None:
        """When the soonest live message is due."""
        return as_instant(
            MessageRow.select(pw.fn.MIN(MessageRow.due_at))
            .where(MessageRow.status.in_(_LIVE))
            .scalar()
        )

    def fallback_targets(self, reminder_ids: list[int]) -> dict[int, FallbackTarget]:
        """The reminders among these with a fallback."""
        rows = ReminderRow.select(
            ReminderRow.id,
            ReminderRow.user_id,
            ReminderRow.organization_id,
            ReminderRow.fallback,
            ReminderRow.title,
            ReminderRow.message,
            ReminderRow.timezone,
        ).where(ReminderRow.id.in_(reminder_ids), ReminderRow.fallback.is_null(False))
        found: dict[int, FallbackTarget] = {}
        for row in rows:
            fallback = fallback_from_json(json.loads(row.fallback or "null"))
            if fallback is not None:
                found[row.id] = FallbackTarget(
                    row.id,
                    row.user_id,
                    row.organization_id,
                    fallback,
                    row.title,
                    row.message,
                    row.timezone,
                )
        return found

    def set_execution_fallback(self, execution_id: int, message_id: str) -> None:
        """Point an execution at its fallback message."""
        ExecutionRow.update(fallback_message_id=message_id).where(
            ExecutionRow.id == execution_id
        ).execute()

    # ------------------------------------------------------------------ carrier events
    def first_time(self, event_id: str, organization_id: str, now: datetime) -> bool:
        """Record a carrier event id; False when it is known already."""
        mark = "%s" if self.pg else "?"
        cursor = self.db.execute_sql(
            "INSERT INTO carrier_events (id, organization_id, received_at)"
            f" VALUES ({mark}, {mark}, {mark}) ON CONFLICT (id) DO NOTHING",
            (event_id, organization_id, to_ms(now)),
        )
        return bool(cursor.rowcount == 1)

    def forget_events(self, before: datetime, limit: int) -> int:
        """Delete event ids recorded before ``before``, ``limit`` at a time."""
        ids = [
            r.id
            for r in CarrierEventRow.select(CarrierEventRow.id)
            .where(CarrierEventRow.received_at < before)
            .limit(limit)
        ]
        if not ids:
            return 0
        return int(CarrierEventRow.delete().where(CarrierEventRow.id.in_(ids)).execute())


# ----------------------------------------------------------------------------- mapping
def _template_columns(t: MessageTemplate) -> dict[str, Any]:
    return {
        "id": t.id,
        "organization_id": t.organization_id,
        "name": t.name,
        "description": t.description,
        "version": t.content.version,
        "created_at": t.created_at,
        "updated_at": t.updated_at,
        "archived_at": t.archived_at,
    }


def _template(row: Any, content: TemplateVersion) -> MessageTemplate:
    return MessageTemplate(
        id=row.id,
        organization_id=row.organization_id,
        name=row.name,
        description=row.description,
        created_at=row.created_at,
        updated_at=row.updated_at,
        archived_at=row.archived_at,
        content=content,
    )


def _joined_version(row: Any) -> TemplateVersion:
    """The current version joined onto a template row (``attr="current"``)."""
    return _version(row.current)


def _version(row: Any) -> TemplateVersion:
    return TemplateVersion(
        template_id=row.template_id,
        version=row.version,
        body=row.body,
        channels=tuple(c for c in row.channels.split(",") if c),
        purpose=row.purpose,
        opt_out_footer=bool(row.opt_out_footer),
        variables=tuple(v for v in row.variables.split(",") if v),
        content_hash=row.content_hash,
        created_at=row.created_at,
    )


def _message_columns_names() -> list[str]:
    """The columns :func:`_message_columns` writes, in its order."""
    return list(_message_columns(_PROBE))


def _message_columns(m: Message) -> dict[str, Any]:
    return {
        "id": m.id,
        "organization_id": m.organization_id,
        "user_id": m.user_id,
        "direction": m.direction,
        "source": m.source,
        "channel": m.channel,
        "delivered_channel": m.delivered_channel,
        "status": m.status.value,
        "to_number": m.to,
        "from_number": m.from_number,
        "line_id": m.line_id,
        "template_id": m.template_id,
        "template_version": m.template_version,
        "content_hash": m.content_hash,
        "purpose": m.purpose,
        "text": m.text,
        "media_urls": json.dumps(list(m.media_urls)) if m.media_urls else None,
        "fallback_channel": m.fallback_channel,
        "execution_id": m.execution_id,
        "reminder_id": m.reminder_id,
        "segments": m.segments,
        "cost_amount": m.cost.amount if m.cost else None,
        "cost_currency": m.cost.currency if m.cost else None,
        "error_code": m.error_code,
        "carrier_error_code": m.carrier_error_code,
        "error_message": m.error_message,
        "carrier": m.carrier,
        "carrier_message_id": m.carrier_message_id,
        "timezone": m.timezone,
        "due_at": m.due_at,
        "handed_at": m.handed_at,
        "created_at": m.created_at,
        "sent_at": m.sent_at,
        "completed_at": m.completed_at,
        "updated_at": m.updated_at,
    }


def _message(row: Any) -> Message:
    cost = (
        MessageCost(row.cost_amount, row.cost_currency)
        if row.cost_amount is not None and row.cost_currency is not None
        else None
    )
    return Message(
        id=row.id,
        organization_id=row.organization_id,
        user_id=row.user_id,
        direction=row.direction,
        source=row.source,
        channel=row.channel,
        status=MessageStatus(row.status),
        to=row.to_number,
        from_number=row.from_number,
        line_id=row.line_id,
        text=row.text,
        purpose=row.purpose,
        created_at=row.created_at,
        updated_at=row.updated_at,
        template_id=row.template_id,
        template_version=row.template_version,
        content_hash=row.content_hash,
        media_urls=tuple(json.loads(row.media_urls)) if row.media_urls else (),
        fallback_channel=row.fallback_channel,
        delivered_channel=row.delivered_channel,
        execution_id=row.execution_id,
        reminder_id=row.reminder_id,
        segments=row.segments,
        cost=cost,
        error_code=row.error_code,
        carrier_error_code=row.carrier_error_code,
        error_message=row.error_message,
        sent_at=row.sent_at,
        completed_at=row.completed_at,
        carrier=row.carrier,
        carrier_message_id=row.carrier_message_id,
        timezone=row.timezone,
        due_at=row.due_at,
        handed_at=row.handed_at,
    )


_PROBE = Message(
    id="",
    organization_id="",
    user_id=None,
    direction="outbound",
    source=None,
    channel="sms",
    status=MessageStatus.QUEUED,
    to="",
    from_number=None,
    line_id=None,
    text="",
    purpose=None,
    created_at=datetime.min.replace(tzinfo=UTC),
    updated_at=datetime.min.replace(tzinfo=UTC),
)
"""A message whose column names :func:`_message_columns_names` reads."""
