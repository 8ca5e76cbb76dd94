"""The peewee row classes, bound to the database through :data:`database_proxy`.

Instants are stored as integer milliseconds since the Unix epoch (UTC) on every backend: one
representation, exact comparisons, compact indexes. A reminder's local wall-clock anchor is
stored as ISO text beside its zone.

Every row class is in this one module (past 400 lines) because :data:`ALL_TABLES`, the
foreign keys between capabilities and the migrations test read them together; each capability's
repository module imports only the rows it writes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import peewee as pw

from dialcues_core.kernel.scopes import ALL_SCOPES, ALL_SCOPES_MARK

database_proxy = pw.DatabaseProxy()

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_ms(instant: datetime) -> int:
    """Return the aware ``instant`` as integer milliseconds since the epoch."""
    delta = instant - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def from_ms(ms: int) -> datetime:
    """Return the aware UTC instant of ``ms`` milliseconds since the epoch."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).replace(microsecond=(ms % 1000) * 1000)


def as_instant(value: Any) -> datetime | None:
    """A ``MIN``/``MAX`` of an instant column: peewee converts it through the column's field
    already on some queries and not on others, so accept both forms."""
    if value is None or isinstance(value, datetime):
        return value
    return from_ms(int(value))


class InstantField(pw.BigIntegerField):
    """An aware UTC datetime stored as epoch milliseconds."""

    def db_value(self, value: Any) -> Any:
        """Convert an aware datetime to milliseconds (ints pass through)."""
        if isinstance(value, datetime):
            return to_ms(value)
        return value

    def python_value(self, value: Any) -> Any:
        """Convert milliseconds to an aware UTC datetime."""
        return from_ms(value) if value is not None else None


class NeverReusedIdField(pw.BigAutoField):
    """An integer id the database never hands out twice, even after its row is deleted.

    PostgreSQL's ``BIGSERIAL`` never reuses a value; SQLite's ``INTEGER PRIMARY KEY`` gives the
    next row ``max(id) + 1``, so deleting the newest row frees its id. ``AUTOINCREMENT`` makes
    SQLite remember the highest id ever given (in ``sqlite_sequence``). Tables created before
    migration v6 are rebuilt with it by that migration.
    """

    def ddl(self, ctx: Any) -> Any:
        """Add ``AUTOINCREMENT`` where the column is SQLite's rowid alias (``INTEGER``).

        The type is the one the executing database maps ``BIGAUTO`` to: ``INTEGER`` on SQLite
        only (``BIGSERIAL`` on PostgreSQL, which stays as it is).
        """
        node = super().ddl(ctx)
        field_types = ctx.state.field_types or {}
        if field_types.get(self.field_type) == "INTEGER":
            return pw.NodeList((node, pw.SQL("AUTOINCREMENT")))
        return node


class BaseRow(pw.Model):
    """Base of every row class."""

    class Meta:
        database = database_proxy
        legacy_table_names = False


class SchemaVersionRow(BaseRow):
    """The schema version the migrations reached."""

    version = pw.IntegerField()

    class Meta:
        table_name = "schema_version"


class OrganizationRow(BaseRow):
    """An organization and its provider settings (secrets never leave the core)."""

    id = pw.CharField(primary_key=True, max_length=40)
    name = pw.CharField(max_length=255)
    created_at = InstantField()
    provider = pw.CharField(max_length=20, null=True)
    provider_api_key = pw.TextField(null=True)
    provider_assistant_id = pw.CharField(max_length=255, null=True)
    provider_webhook_secret = pw.TextField(null=True)
    provider_base_url = pw.CharField(max_length=500, null=True)
    provider_concurrency = pw.IntegerField(null=True)
    provider_retry_delays = pw.CharField(max_length=255, null=True)
    provider_model = pw.CharField(max_length=255, null=True)
    """``PROVIDER:MODEL`` of the calls' assistant (null: ``openai:gpt-4.1-mini``); v11."""
    provider_voice = pw.TextField(null=True)
    """The assistant's Vapi ``voice`` object as JSON (null: Vapi's default); v11."""
    provider_transcriber = pw.TextField(null=True)
    """The assistant's Vapi ``transcriber`` object as JSON (null: Vapi's default); v11."""
    provider_telnyx_credential_id = pw.CharField(max_length=255, null=True)
    """The Vapi credential holding the organization's Telnyx key (imports need it); v12."""
    carrier = pw.CharField(max_length=20, null=True)
    """``simulated`` (null: the same) or ``telnyx``; the ``carrier_…`` columns are its settings."""
    carrier_api_key = pw.TextField(null=True)
    carrier_public_key = pw.CharField(max_length=64, null=True)
    carrier_messaging_profile_id = pw.CharField(max_length=255, null=True)
    carrier_base_url = pw.CharField(max_length=500, null=True)
    carrier_ten_dlc_campaign_id = pw.CharField(max_length=255, null=True)
    carrier_rcs_agent_id = pw.CharField(max_length=255, null=True)
    carrier_help_text = pw.TextField(null=True)
    carrier_opt_out_text = pw.TextField(null=True)
    carrier_opt_in_text = pw.TextField(null=True)

    class Meta:
        table_name = "organizations"


class UserRow(BaseRow):
    """A user in one organization."""

    id = pw.CharField(primary_key=True, max_length=40)
    organization = pw.ForeignKeyField(OrganizationRow, column_name="organization_id")
    email = pw.CharField(max_length=320)
    name = pw.CharField(max_length=255)
    created_at = InstantField()

    class Meta:
        table_name = "users"
        indexes = ((("organization", "email"), True),)


class ApiKeyRow(BaseRow):
    """An API key, stored only as its SHA-256 hash."""

    id = pw.CharField(primary_key=True, max_length=40)
    user = pw.ForeignKeyField(UserRow, column_name="user_id")
    organization_id = pw.CharField(max_length=40)
    name = pw.CharField(max_length=255, null=True)
    prefix = pw.CharField(max_length=20)
    last4 = pw.CharField(max_length=4)
    key_hash = pw.CharField(max_length=64, unique=True)
    scopes = pw.CharField(max_length=500)
    created_at = InstantField()
    last_used_at = InstantField(null=True)
    expires_at = InstantField(null=True)
    revoked_at = InstantField(null=True)

    class Meta:
        table_name = "api_keys"


class LineRow(BaseRow):
    """An outbound line."""

    id = pw.CharField(primary_key=True, max_length=40)
    organization = pw.ForeignKeyField(OrganizationRow, column_name="organization_id")
    provider = pw.CharField(max_length=20)
    provider_line_id = pw.CharField(max_length=255, null=True)
    phone_number = pw.CharField(max_length=16)
    label = pw.CharField(max_length=255, null=True)
    is_default = pw.BooleanField(default=False)
    created_at = InstantField()
    temporary = pw.BooleanField(default=False)
    """The agent smoke flow's line: used only by its own reminder, never listed or picked."""
    features = pw.CharField(max_length=32, default="voice", constraints=[pw.SQL("DEFAULT 'voice'")])
    """Comma-separated, sorted: ``mms``, ``sms``, ``voice`` (v12)."""
    carrier = pw.CharField(max_length=20, null=True)
    """The carrier its messages go through (null: it sends none)."""
    number_id = pw.CharField(max_length=40, null=True)
    """The number record that created it (``num_…``), if an assign did."""
    route = pw.TextField(null=True)
    """Its inbound route as JSON (null: it refuses inbound calls)."""

    class Meta:
        table_name = "outbound_lines"


class ReminderRow(BaseRow):
    """A reminder. ``due_at`` is set only while it waits to be dialed (the dispatcher's scan)."""

    id = NeverReusedIdField()
    user_id = pw.CharField(max_length=40)
    organization_id = pw.CharField(max_length=40)
    title = pw.CharField(max_length=255)
    message = pw.TextField()
    phone_number = pw.CharField(max_length=16)
    scheduled_at = InstantField()
    timezone = pw.CharField(max_length=64)
    local_time = pw.CharField(max_length=19)
    status = pw.CharField(max_length=16)
    line_id = pw.CharField(max_length=40, null=True)
    recurrence_kind = pw.CharField(max_length=16, null=True)
    interval_days = pw.IntegerField(null=True)
    weekdays = pw.CharField(max_length=20, null=True)
    cron = pw.CharField(max_length=255, null=True)
    recurrence_end_at = InstantField(null=True)
    recurrence_end_local = pw.CharField(max_length=19, null=True)
    retry_count = pw.IntegerField(default=0)
    next_attempt_at = InstantField(null=True)
    last_execution_id = pw.BigIntegerField(null=True)
    due_at = InstantField(null=True, index=True)
    search_text = pw.TextField()
    created_at = InstantField()
    updated_at = InstantField()
    purpose = pw.CharField(
        max_length=16, default="informational", constraints=[pw.SQL("DEFAULT 'informational'")]
    )
    calling_window = pw.TextField(null=True)
    """The reminder's own window (JSON: hours, a profile or a bypass), else the organization's."""
    max_lateness_seconds = pw.IntegerField(null=True)
    retry_policy = pw.TextField(null=True)
    number_zones = pw.TextField(null=True)
    fallback = pw.TextField(null=True)
    """The SMS fallback (``telephony.md`` §4.6) as JSON, or null."""
    """The zones of the number when it was set (``geo:``/``any:`` then names)."""

    class Meta:
        table_name = "reminders"
        indexes = (
            (("user_id", "scheduled_at", "id"), False),
            (("user_id", "status", "scheduled_at", "id"), False),
            (("user_id", "updated_at", "id"), False),
            # Lets a search scan one user's index range instead of the table's rows.
            (("user_id", "search_text"), False),
        )


class ExecutionRow(BaseRow):
    """One call attempt. ``reminder_id`` is kept (no foreign key) after its reminder is deleted.

    ``lease_until`` is set while a worker owns the attempt (``in_progress``); ``due_at`` while
    it waits ``queued`` (a call placed now, or a create the provider throttled).
    """

    id = NeverReusedIdField()
    user_id = pw.CharField(max_length=40)
    organization_id = pw.CharField(max_length=40)
    reminder_id = pw.BigIntegerField(null=True, index=True)
    reminder_title = pw.CharField(max_length=255, null=True)
    status = pw.CharField(max_length=16)
    attempt = pw.IntegerField(default=1)
    call_id = pw.CharField(max_length=100, null=True, index=True)
    line_id = pw.CharField(max_length=40, null=True)
    to_number = pw.CharField(max_length=16)
    message = pw.TextField(null=True)
    scheduled_for = InstantField()
    executed_at = InstantField(null=True)
    ended_at = InstantField(null=True)
    ended_reason = pw.CharField(max_length=255, null=True)
    duration_s = pw.IntegerField(null=True)
    cost = pw.DoubleField(null=True)
    error_message = pw.TextField(null=True)
    lease_until = InstantField(null=True)
    due_at = InstantField(null=True, index=True)
    occurrence_at = InstantField(null=True)
    created_at = InstantField()
    purpose = pw.CharField(
        max_length=16, default="informational", constraints=[pw.SQL("DEFAULT 'informational'")]
    )
    skip_reason = pw.CharField(max_length=32, null=True)
    calling_window = pw.TextField(null=True)
    """A call placed now: its own window (a bypass), else the organization's."""
    timezone = pw.CharField(max_length=64, null=True)
    """A call placed now: the ``timezone`` it was given (the recipient's location)."""
    confirmation = pw.CharField(max_length=16, null=True)
    confirmed_at = InstantField(null=True)
    actions = pw.TextField(null=True)
    """The in-call actions (JSON list; each keeps its tool call's id and answer); null: none."""
    direction = pw.CharField(
        max_length=8, default="outbound", constraints=[pw.SQL("DEFAULT 'outbound'")]
    )
    from_number = pw.CharField(max_length=16, null=True)
    """Outbound: the line's number; inbound: the caller (null when withheld)."""
    route = pw.TextField(null=True)
    """Inbound: the route applied (JSON; null until an ``external`` call is decided)."""
    answer_by = InstantField(null=True)
    """Inbound on an ``external`` route: when the line's fallback applies."""
    fallback_message_id = pw.CharField(max_length=40, null=True)
    """The reminder's SMS fallback this attempt's outcome triggered (``telephony.md`` §4.6)."""

    class Meta:
        table_name = "executions"
        indexes = (
            (("user_id", "id"), False),
            (("status", "lease_until"), False),
            # the frequency caps count one organization's attempts to one number
            (("organization_id", "to_number", "executed_at"), False),
        )


class OAuthClientRow(BaseRow):
    """An OAuth client of one user, its secret stored only as its SHA-256 hash."""

    id = pw.CharField(primary_key=True, max_length=40)
    user = pw.ForeignKeyField(UserRow, column_name="user_id")
    organization_id = pw.CharField(max_length=40)
    name = pw.CharField(max_length=255, null=True)
    secret_hash = pw.CharField(max_length=64)
    scopes = pw.CharField(max_length=500)
    created_at = InstantField()
    revoked_at = InstantField(null=True)

    class Meta:
        table_name = "oauth_clients"


class AccessTokenRow(BaseRow):
    """An OAuth access token, stored only as its SHA-256 hash."""

    token_hash = pw.CharField(primary_key=True, max_length=64)
    client = pw.ForeignKeyField(OAuthClientRow, column_name="client_id", on_delete="CASCADE")
    scopes = pw.CharField(max_length=500)
    created_at = InstantField()
    expires_at = InstantField()

    class Meta:
        table_name = "oauth_access_tokens"
        indexes = ((("client", "expires_at"), False),)


class WebhookSubscriptionRow(BaseRow):
    """A user's webhook subscription: where to POST which events, and the signing secrets.

    Secrets are kept in clear: signing needs them (they are shown to their owner only once).
    ``previous_secret`` signs beside ``secret`` until ``previous_expires_at`` (rotation).
    ``failing_since`` is the first failed attempt since the last success (auto-disable).
    """

    id = pw.CharField(primary_key=True, max_length=40)
    user_id = pw.CharField(max_length=40)
    organization_id = pw.CharField(max_length=40)
    url = pw.CharField(max_length=2048)
    events = pw.CharField(max_length=255)
    enabled = pw.BooleanField(default=True)
    disabled_reason = pw.CharField(max_length=40, null=True)
    secret = pw.CharField(max_length=100)
    previous_secret = pw.CharField(max_length=100, null=True)
    previous_expires_at = InstantField(null=True)
    failing_since = InstantField(null=True)
    last_success_at = InstantField(null=True)
    created_at = InstantField()
    updated_at = InstantField()

    class Meta:
        table_name = "webhook_subscriptions"
        indexes = ((("user_id", "created_at", "id"), False),)


class WebhookOutboxRow(BaseRow):
    """One message for one subscription: written in the transaction of the change it reports.

    ``status`` is ``pending`` (``next_attempt_at`` set), ``delivered`` or ``failed`` (given
    up, or the receiver answered 410). A claimed message carries ``lease_until``; ``attempts``
    counts the attempts begun, so the attempt number is ``attempts`` after a claim.
    """

    id = NeverReusedIdField()
    message_id = pw.CharField(max_length=40, unique=True)
    subscription_id = pw.CharField(max_length=40, index=True)
    event_type = pw.CharField(max_length=40)
    body = pw.TextField()
    status = pw.CharField(max_length=16)
    attempts = pw.IntegerField(default=0)
    next_attempt_at = InstantField(null=True)
    lease_until = InstantField(null=True)
    created_at = InstantField()

    class Meta:
        table_name = "webhook_outbox"
        indexes = ((("status", "next_attempt_at"), False),)


class WebhookDeliveryRow(BaseRow):
    """One delivery attempt of one message (the delivery log)."""

    id = NeverReusedIdField()
    subscription_id = pw.CharField(max_length=40)
    message_id = pw.CharField(max_length=40)
    event_type = pw.CharField(max_length=40)
    attempt = pw.IntegerField()
    status_code = pw.IntegerField(null=True)
    latency_ms = pw.IntegerField()
    error = pw.TextField(null=True)
    attempted_at = InstantField()

    class Meta:
        table_name = "webhook_deliveries"
        indexes = ((("subscription_id", "id"), False),)


class IdempotencyRow(BaseRow):
    """A claimed idempotency key of a user; ``status`` is null until its reply is stored.

    ``lease_until`` is the claim's end (and its holder's token); ``body`` the stored reply;
    ``scopes`` (comma-separated) those the use case required, demanded again on a replay.
    """

    user_id = pw.CharField(max_length=40)
    key = pw.CharField(max_length=255)
    fingerprint = pw.CharField(max_length=64)
    lease_until = InstantField()
    status = pw.IntegerField(null=True)
    body = pw.BlobField(null=True)
    content_type = pw.CharField(max_length=255, null=True)
    scopes = pw.TextField(null=True)
    created_at = InstantField(index=True)

    class Meta:
        table_name = "idempotency_keys"
        primary_key = pw.CompositeKey("user_id", "key")


class UsageEventRow(BaseRow):
    """One answered public request (REST or gRPC), written in batches (``usage.UsageLog``)."""

    id = NeverReusedIdField()
    occurred_at = InstantField()
    request_id = pw.CharField(max_length=128, null=True)
    api_key_id = pw.CharField(max_length=64, null=True)
    client_id = pw.CharField(max_length=64, null=True)
    user_id = pw.CharField(max_length=40, null=True)
    organization_id = pw.CharField(max_length=40, null=True)
    method = pw.CharField(max_length=8)
    route = pw.CharField(max_length=255, null=True)
    status = pw.IntegerField()
    code = pw.CharField(max_length=64, null=True)
    latency_ms = pw.DoubleField()
    idempotent_replay = pw.BooleanField(default=False)
    deprecated = pw.BooleanField(default=False, constraints=[pw.SQL("DEFAULT FALSE")])
    """The request used an entry of the deprecation registry."""

    class Meta:
        table_name = "usage_events"
        indexes = ((("user_id", "occurred_at", "id"), False),)


class WorkerRow(BaseRow):
    """A dispatching process's heartbeat: who it is and when it last reached the database."""

    id = pw.CharField(max_length=64, primary_key=True)
    host = pw.CharField(max_length=255)
    pid = pw.IntegerField()
    started_at = InstantField()
    last_seen_at = InstantField(index=True)
    last_claim_at = InstantField(null=True)
    stopped_at = InstantField(null=True)

    class Meta:
        table_name = "workers"


class TzdataRow(BaseRow):
    """The time-zone rules the stored instants were computed with: one row per zone."""

    name = pw.CharField(max_length=64, primary_key=True)
    version = pw.CharField(max_length=16)
    tzif = pw.BlobField()

    class Meta:
        table_name = "tzdata_zones"


class CallingPolicyRow(BaseRow):
    """An organization's calling policy; a null inheritable field follows the settings."""

    organization_id = pw.CharField(max_length=40, primary_key=True)
    calling_window = pw.TextField(null=True)
    window_basis = pw.CharField(max_length=16)
    blocked_dates = pw.TextField()
    allow_window_bypass = pw.BooleanField()
    max_lateness_seconds = pw.IntegerField(null=True)
    retry_policy = pw.TextField(null=True)
    frequency_caps = pw.TextField(null=True)
    caller_name = pw.CharField(max_length=100, null=True)
    callback_number = pw.CharField(max_length=16, null=True)
    ai_disclosure = pw.BooleanField()
    opening_template = pw.TextField(null=True)
    snooze_default_minutes = pw.IntegerField()
    require_consent_for_informational = pw.BooleanField()
    predial_url = pw.CharField(max_length=2048, null=True)
    predial_timeout_ms = pw.IntegerField(null=True)
    predial_on_failure = pw.CharField(max_length=8, null=True)
    predial_secret = pw.CharField(max_length=100, null=True)
    predial_previous_secret = pw.CharField(max_length=100, null=True)
    predial_previous_expires_at = InstantField(null=True)
    updated_at = InstantField()

    class Meta:
        table_name = "calling_policies"


class AuditEventRow(BaseRow):
    """One audited change (kept at least five years; nothing deletes them)."""

    id = pw.CharField(max_length=40, primary_key=True)
    organization_id = pw.CharField(max_length=40)
    occurred_at = InstantField()
    action = pw.CharField(max_length=40)
    actor_type = pw.CharField(max_length=20)
    actor_id = pw.CharField(max_length=100, null=True)
    actor_user_id = pw.CharField(max_length=40, null=True)
    subject_type = pw.CharField(max_length=20)
    subject_id = pw.CharField(max_length=100)
    detail = pw.TextField()
    request_id = pw.CharField(max_length=100, null=True)

    class Meta:
        table_name = "audit_events"
        indexes = ((("organization_id", "occurred_at", "id"), False),)


class SuppressionRow(BaseRow):
    """One number on an organization's suppression list (never deleted; ``removed_at`` ends
    it). At most one active entry per (organization, number): a partial unique index."""

    id = pw.CharField(max_length=40, primary_key=True)
    organization_id = pw.CharField(max_length=40)
    phone_number = pw.CharField(max_length=16)
    reason = pw.CharField(max_length=32)
    source_type = pw.CharField(max_length=20)
    source_id = pw.CharField(max_length=100, null=True)
    source_user_id = pw.CharField(max_length=40, null=True)
    source_external_id = pw.CharField(max_length=255, null=True)
    note = pw.TextField(null=True)
    created_at = InstantField()
    removed_at = InstantField(null=True)
    removed_by = pw.TextField(null=True)
    """The actor (JSON) who removed it."""
    removal_consent_id = pw.CharField(max_length=40, null=True)

    class Meta:
        table_name = "suppressions"
        indexes = ((("organization_id", "created_at", "id"), False),)


SuppressionRow.add_index(
    pw.ModelIndex(
        SuppressionRow,
        (SuppressionRow.organization_id, SuppressionRow.phone_number),
        unique=True,
        where=SuppressionRow.removed_at.is_null(),
        name="suppressions_one_active",
    )
)


class ConsentRow(BaseRow):
    """One consent record (evidence: never deleted; ``revoked_at`` ends it)."""

    id = pw.CharField(max_length=40, primary_key=True)
    organization_id = pw.CharField(max_length=40)
    phone_number = pw.CharField(max_length=16)
    type = pw.CharField(max_length=20)
    purpose = pw.CharField(max_length=16)
    source = pw.CharField(max_length=20)
    text = pw.TextField()
    captured_at = InstantField()
    evidence = pw.TextField(null=True)
    created_at = InstantField()
    created_by = pw.TextField()
    revoked_at = InstantField(null=True)
    revocation = pw.TextField(null=True)

    class Meta:
        table_name = "consents"
        indexes = (
            (("organization_id", "phone_number", "revoked_at"), False),
            (("organization_id", "captured_at", "id"), False),
        )


class NumberRow(BaseRow):
    """One organization's record of one number (``num_…``): history kept, never deleted."""

    id = pw.CharField(primary_key=True, max_length=40)
    organization_id = pw.CharField(max_length=40)
    user_id = pw.CharField(max_length=40, null=True)
    phone_number = pw.CharField(max_length=16)
    status = pw.CharField(max_length=16)
    country = pw.CharField(max_length=2)
    locality = pw.CharField(max_length=64, null=True)
    region = pw.CharField(max_length=64, null=True)
    rate_center = pw.CharField(max_length=32, null=True)
    features = pw.CharField(max_length=32)
    carrier = pw.CharField(max_length=20)
    cost_monthly = pw.CharField(max_length=16, null=True)
    cost_upfront = pw.CharField(max_length=16, null=True)
    cost_currency = pw.CharField(max_length=3, null=True)
    hold_expires_at = InstantField(null=True)
    hold_extended = pw.BooleanField(default=False)
    line_id = pw.CharField(max_length=40, null=True)
    failure_step = pw.CharField(max_length=16, null=True)
    failure_code = pw.CharField(max_length=64, null=True)
    failure_message = pw.TextField(null=True)
    reservation_id = pw.CharField(max_length=100, null=True)
    order_reference = pw.CharField(max_length=40, null=True)
    carrier_order_id = pw.CharField(max_length=100, null=True)
    carrier_number_id = pw.CharField(max_length=100, null=True)
    order_attempted_at = InstantField(null=True)
    """When the last ``POST`` of the order was made (a lookup 30 s later may order again)."""
    provider_line_id = pw.CharField(max_length=255, null=True)
    assign_label = pw.CharField(max_length=255, null=True)
    assign_default = pw.BooleanField(default=False)
    step_due_at = InstantField(null=True, index=True)
    step_tries = pw.IntegerField(default=0)
    step_started_at = InstantField(null=True)
    lease_until = InstantField(null=True)
    created_at = InstantField()
    updated_at = InstantField()

    class Meta:
        table_name = "numbers"
        indexes = (
            (("organization_id", "created_at", "id"), False),
            (("organization_id", "phone_number"), False),
        )


class NumberClaimRow(BaseRow):
    """At most one live claim per number across organizations (``telephony.md`` §2.1):
    ``live_until`` is a hold's expiry, null while the number is owned."""

    phone_number = pw.CharField(primary_key=True, max_length=16)
    organization_id = pw.CharField(max_length=40)
    number_id = pw.CharField(max_length=40)
    live_until = InstantField(null=True)

    class Meta:
        table_name = "number_claims"


class MessageTemplateRow(BaseRow):
    """A message template (``tpl_…``): its name and state; the content is in its versions."""

    id = pw.CharField(primary_key=True, max_length=40)
    organization_id = pw.CharField(max_length=40)
    name = pw.CharField(max_length=64)
    description = pw.CharField(max_length=255, null=True)
    version = pw.IntegerField()
    created_at = InstantField()
    updated_at = InstantField()
    archived_at = InstantField(null=True)

    class Meta:
        table_name = "message_templates"
        indexes = ((("organization_id", "created_at", "id"), False),)


class MessageTemplateVersionRow(BaseRow):
    """One immutable version of a template's content."""

    template_id = pw.CharField(max_length=40)
    version = pw.IntegerField()
    body = pw.TextField()
    channels = pw.CharField(max_length=16)
    purpose = pw.CharField(max_length=16)
    opt_out_footer = pw.BooleanField()
    variables = pw.TextField()
    content_hash = pw.CharField(max_length=80)
    created_at = InstantField()

    class Meta:
        table_name = "message_template_versions"
        primary_key = pw.CompositeKey("template_id", "version")


class MessageRow(BaseRow):
    """One text message (``msg_…``), outbound or inbound."""

    id = pw.CharField(primary_key=True, max_length=40)
    organization_id = pw.CharField(max_length=40)
    user_id = pw.CharField(max_length=40, null=True)
    direction = pw.CharField(max_length=8)
    source = pw.CharField(max_length=20, null=True)
    channel = pw.CharField(max_length=4)
    delivered_channel = pw.CharField(max_length=4, null=True)
    status = pw.CharField(max_length=12)
    to_number = pw.CharField(max_length=16)
    from_number = pw.CharField(max_length=16, null=True)
    line_id = pw.CharField(max_length=40, null=True)
    template_id = pw.CharField(max_length=40, null=True)
    template_version = pw.IntegerField(null=True)
    content_hash = pw.CharField(max_length=80, null=True)
    purpose = pw.CharField(max_length=16, null=True)
    text = pw.TextField()
    media_urls = pw.TextField(null=True)
    fallback_channel = pw.CharField(max_length=4, null=True)
    execution_id = pw.BigIntegerField(null=True)
    reminder_id = pw.BigIntegerField(null=True)
    fallback_key = pw.CharField(max_length=64, null=True)
    """``<reminder id>:<occurrence ms>`` for a reminder's fallback: once per occurrence."""
    segments = pw.IntegerField(null=True)
    cost_amount = pw.CharField(max_length=16, null=True)
    cost_currency = pw.CharField(max_length=3, null=True)
    error_code = pw.CharField(max_length=32, null=True)
    carrier_error_code = pw.CharField(max_length=32, null=True)
    error_message = pw.TextField(null=True)
    carrier = pw.CharField(max_length=20, null=True)
    carrier_message_id = pw.CharField(max_length=100, null=True)
    timezone = pw.CharField(max_length=64, null=True)
    due_at = InstantField(null=True, index=True)
    lease_until = InstantField(null=True)
    handed_at = InstantField(null=True)
    created_at = InstantField()
    sent_at = InstantField(null=True)
    completed_at = InstantField(null=True)
    updated_at = InstantField()

    class Meta:
        table_name = "messages"
        indexes = (
            (("organization_id", "created_at", "id"), False),
            (("organization_id", "to_number", "status"), False),
            (("carrier_message_id",), False),
            (("execution_id",), True),
            (("fallback_key",), True),
        )


class CarrierEventRow(BaseRow):
    """A carrier webhook applied once: its id, kept 7 days (duplicates change nothing)."""

    id = pw.CharField(primary_key=True, max_length=100)
    organization_id = pw.CharField(max_length=40)
    received_at = InstantField(index=True)

    class Meta:
        table_name = "carrier_events"


ExecutionRow.add_index(
    pw.ModelIndex(
        ExecutionRow,
        (ExecutionRow.call_id,),
        unique=True,
        where=ExecutionRow.direction == "inbound",
        name="executions_inbound_call",
    )
)


ALL_TABLES: list[type[BaseRow]] = [
    SchemaVersionRow,
    OrganizationRow,
    UserRow,
    ApiKeyRow,
    LineRow,
    ReminderRow,
    ExecutionRow,
    IdempotencyRow,
    UsageEventRow,
    OAuthClientRow,
    AccessTokenRow,
    WebhookSubscriptionRow,
    WebhookOutboxRow,
    WebhookDeliveryRow,
    WorkerRow,
    TzdataRow,
    CallingPolicyRow,
    AuditEventRow,
    SuppressionRow,
    ConsentRow,
    NumberRow,
    NumberClaimRow,
    MessageTemplateRow,
    MessageTemplateVersionRow,
    MessageRow,
    CarrierEventRow,
]
"""Every row class, in an order where each table comes after those it references. The schema
is made by the frozen migrations (``migrations/``), never from this list; a test checks that
creating these tables fresh gives the schema the migrations reach."""


def stored_scopes(scopes: tuple[str, ...], all_scopes: bool) -> str:
    """A credential's scopes as stored: the all-scopes mark, or the list comma-separated."""
    return ALL_SCOPES_MARK if all_scopes else ",".join(scopes)


def read_scopes(text: str) -> tuple[str, ...]:
    """A credential's stored scopes read back (the mark means every scope there is now)."""
    if text == ALL_SCOPES_MARK:
        return ALL_SCOPES
    return tuple(s for s in text.split(",") if s)
