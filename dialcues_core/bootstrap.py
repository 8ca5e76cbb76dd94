"""The composition root and the embedding API: :class:`Dialcues`.

A host app needs no server::

    from dialcues_core import Dialcues

    dc = Dialcues.open("sqlite:///reminders.db")
    org = dc.accounts.create_organization("Acme")
    user = dc.accounts.create_user(org.id, "dev@example.com", "Jane")
    dc.accounts.add_line(org.id, "simulated", "+14155550100", label="Main")
    me = dc.as_user(user.id)
    reminder = dc.reminders.create(me, {"title": "Stand-up", "message": "Time for stand-up",
        "phone_number": "+14155552671", "timezone": "Europe/London",
        "scheduled_at": "2030-03-25T09:00:00"})
    dc.close()

Everything here is synchronous. One process holds one database (the row classes are bound
through a single proxy).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import peewee as pw

from dialcues_core.accounts.authn import Authenticator
from dialcues_core.accounts.model import Principal, Provider
from dialcues_core.accounts.oauth import AccessTokens, OAuth, OAuthRepositories
from dialcues_core.accounts.service import AccountRepositories, Accounts
from dialcues_core.adapters.clock import SystemClock
from dialcues_core.adapters.peewee import database
from dialcues_core.adapters.peewee.accounts import (
    PeeweeApiKeyRepository,
    PeeweeLineRepository,
    PeeweeOrganizationRepository,
    PeeweeUserRepository,
)
from dialcues_core.adapters.peewee.audit import PeeweeAuditStore
from dialcues_core.adapters.peewee.calling import PeeweePolicyStore
from dialcues_core.adapters.peewee.calls import PeeweeCallRepository, PeeweeSmokeStore
from dialcues_core.adapters.peewee.consent import PeeweeConsentStore
from dialcues_core.adapters.peewee.dispatch import PeeweeDispatchStore
from dialcues_core.adapters.peewee.executions import PeeweeExecutionRepository
from dialcues_core.adapters.peewee.idempotency import PeeweeIdempotencyStore
from dialcues_core.adapters.peewee.inbound import PeeweeInboundStore
from dialcues_core.adapters.peewee.messages import PeeweeMessageStore
from dialcues_core.adapters.peewee.numbers import PeeweeNumberStore
from dialcues_core.adapters.peewee.oauth import (
    PeeweeAccessTokenRepository,
    PeeweeOAuthClientRepository,
)
from dialcues_core.adapters.peewee.operations import PeeweeOperationsStore, follow_tzdata
from dialcues_core.adapters.peewee.reminders import PeeweeReminderRepository
from dialcues_core.adapters.peewee.transactions import PeeweeTransactions
from dialcues_core.adapters.peewee.usage import PeeweeUsageRepository
from dialcues_core.adapters.peewee.webhooks import PeeweeOutboxStore, PeeweeWebhookRepository
from dialcues_core.adapters.providers.carriers import CarrierAdapters
from dialcues_core.adapters.providers.vapi.events import VapiMessageReader
from dialcues_core.adapters.providers.vapi.inbound import VapiRingReader
from dialcues_core.adapters.providers.vapi.tools import VapiToolReader
from dialcues_core.audit.service import AuditTrail
from dialcues_core.calling.service import CallingPolicies
from dialcues_core.calls.actions import ToolCall
from dialcues_core.calls.executions import Executions
from dialcues_core.calls.model import Execution
from dialcues_core.calls.ports import CallEvent, Dialer, MessageReader
from dialcues_core.calls.service import CallRepositories, Calls
from dialcues_core.config import Settings
from dialcues_core.consent.service import Consents, OptOuts, Suppressions
from dialcues_core.deprecations import REGISTRY, Deprecation, removed_event_types
from dialcues_core.dispatch.attempts import Attempts
from dialcues_core.dispatch.dispatcher import Dispatcher
from dialcues_core.dispatch.in_call import InCall
from dialcues_core.dispatch.provider_events import ProviderEvents
from dialcues_core.errors import StorageUnavailable
from dialcues_core.inbound.answering import Answering
from dialcues_core.inbound.lines import Lines
from dialcues_core.inbound.model import Answer
from dialcues_core.inbound.service import InboundCalls
from dialcues_core.inbound.simulated import ring_simulated
from dialcues_core.kernel.ports import Clock
from dialcues_core.kernel.scopes import ALL_SCOPES
from dialcues_core.messages.deps import MessageDeps
from dialcues_core.messages.fallback import Fallbacks
from dialcues_core.messages.sender import MessageSender, Sending
from dialcues_core.messages.service import Messages
from dialcues_core.messages.template_service import MessageTemplates
from dialcues_core.messages.texts import Texts
from dialcues_core.numbers.carrier_events import CarrierEvents
from dialcues_core.numbers.provisioner import Provisioner
from dialcues_core.numbers.provisioning import Provisioning
from dialcues_core.numbers.service import NumberDeps, Numbers
from dialcues_core.offload import LoopThread, Offloader
from dialcues_core.operations.heartbeat import Heartbeat
from dialcues_core.operations.model import HealthReport
from dialcues_core.operations.service import Operations
from dialcues_core.platform.admission import Admission
from dialcues_core.platform.idempotency import Idempotency
from dialcues_core.platform.ratelimit import RateLimiter, build_limiter
from dialcues_core.platform.smoke import Smoke, SmokeRepositories
from dialcues_core.platform.usage import UsageLog
from dialcues_core.reminders.service import ReminderRepositories, Reminders
from dialcues_core.webhooks.delivery import Deliveries
from dialcues_core.webhooks.outbox import Outbox
from dialcues_core.webhooks.subscriptions import Webhooks

if TYPE_CHECKING:
    from dialcues_core.adapters.http.webhook_sender import WebhookDeliverer

EMBEDDED_KEY_ID = "embedded"


@dataclass
class Dialcues:
    """Everything the platform does, wired to one database."""

    settings: Settings
    clock: Clock
    db: pw.Database
    transactions: PeeweeTransactions
    accounts: Accounts
    authenticator: Authenticator
    oauth: OAuth
    reminders: Reminders
    executions: Executions
    usage: UsageLog
    limiter: RateLimiter | None
    admission: Admission
    """Identify, charge and refuse every public request; observers see each outcome."""
    """This process's rate limiter (None when ``DIALCUES_RATE_LIMITS=off``)."""
    calls: Calls
    smoke: Smoke
    idempotency: Idempotency
    webhooks: Webhooks
    operations: Operations
    provider_events: ProviderEvents
    """Providers' server messages (``POST /api/providers/<provider>/events``)."""
    audit: AuditTrail
    """The audit trail (``GET /audit/events``)."""
    policies: CallingPolicies
    """Organizations' calling policies (read by users, changed by operators)."""
    suppressions: Suppressions
    """Organizations' suppression lists (``/suppressions``)."""
    consents: Consents
    """Organizations' consent records (``/consents``)."""
    numbers: Numbers
    """Organizations' numbers: search, hold, assign, release (``/numbers``)."""
    carrier_loop: LoopThread
    """The event loop the carrier adapters run on (the number use cases are synchronous)."""
    carriers: CarrierAdapters
    carrier_events: CarrierEvents
    """Carriers' webhooks (``POST /api/providers/telnyx/events/{organization_id}``)."""
    lines: Lines
    """Lines as the public API manages them (``GET``/``PATCH /lines/{id}``)."""
    inbound: InboundCalls
    """Inbound calls: rings, their executions, ``POST /calls/inbound/answer``."""
    message_templates: MessageTemplates
    """Organizations' message templates (``/message-templates``)."""
    messages: Messages
    """Text messages: send, read, list, inject inbound texts (``/messages``)."""
    message_deps: MessageDeps
    fallbacks: Fallbacks
    """Reminders' SMS fallbacks: checked when written, sent when an occurrence ends unreached."""
    silenced_events: frozenset[str] = frozenset()
    """Event types the deprecation registry marks removed: never written to the outbox."""

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        settings: Settings | None = None,
        clock: Clock | None = None,
        migrate: bool = True,
        deprecations: tuple[Deprecation, ...] = REGISTRY,
    ) -> Dialcues:
        """Open (and by default migrate) the database at ``url`` and wire the use cases.

        ``deprecations`` is the deprecation registry (production's by default): the event
        types it marks ``removed`` are no longer sent to webhooks. The edges take theirs as
        well (``create_app``, ``start_grpc``).
        """
        settings = settings or Settings()
        if url is not None:
            settings = settings.replace(database_url=url)
        clock = clock or SystemClock()
        db = database.open_database(settings.database_url)
        database.bind(db)
        if migrate:
            database.migrate(db)
            follow_tzdata(db, clock.now())
        return cls.wire(settings, clock, db, removed_event_types(deprecations))

    @classmethod
    def wire(
        cls,
        settings: Settings,
        clock: Clock,
        db: pw.Database,
        silenced_events: frozenset[str] = frozenset(),
    ) -> Dialcues:
        """Build the use cases over an already bound database (``silenced_events``: event
        types never written to the outbox)."""
        transactions = PeeweeTransactions(db)
        api_keys = PeeweeApiKeyRepository()
        lines = PeeweeLineRepository()
        tokens = AccessTokens(PeeweeAccessTokenRepository(), clock, settings.key_cache_seconds)
        authenticator = Authenticator(
            api_keys, transactions, clock, settings.key_cache_seconds, tokens=tokens
        )
        oauth_repos = OAuthRepositories(
            transactions,
            PeeweeUserRepository(),
            PeeweeOAuthClientRepository(),
            PeeweeAccessTokenRepository(),
        )
        accounts = Accounts(
            AccountRepositories(
                transactions,
                PeeweeOrganizationRepository(),
                PeeweeUserRepository(),
                api_keys,
                lines,
            ),
            clock,
            authenticator,
        )
        repos = ReminderRepositories(transactions, PeeweeReminderRepository(), lines)
        executions = PeeweeExecutionRepository()
        audit = AuditTrail(PeeweeAuditStore(), clock)
        policies = CallingPolicies(PeeweePolicyStore(), transactions, clock, settings, audit)
        accounts.on_organization_created.append(policies.name_caller)
        consent = PeeweeConsentStore(db)
        opt_outs_outbox = Outbox(PeeweeOutboxStore(db), clock, silenced_events)
        opt_outs = OptOuts(consent, clock, audit, opt_outs_outbox)
        reminders = Reminders(repos, clock, policies, audit, consent)
        readers: dict[str, MessageReader] = {"vapi": VapiMessageReader()}
        carriers = CarrierAdapters(clock, settings)
        carrier_loop = LoopThread()
        number_deps = NumberDeps(
            PeeweeNumberStore(db),
            transactions,
            clock,
            carriers,
            carrier_loop,
            PeeweeOrganizationRepository(),
            lines,
            settings.max_holds_per_org,
            reminders.listeners,  # an assign wakes whoever a reminder change wakes
        )
        line_routes = Lines(lines, transactions, clock, settings.key_cache_seconds)
        inbound = InboundCalls(
            line_routes,
            PeeweeInboundStore(db),
            PeeweeOrganizationRepository(),
            policies,
            Outbox(PeeweeOutboxStore(db), clock, silenced_events),
            transactions,
            clock,
        )
        limiter = build_limiter(settings.rate_limits, clock)
        usage = UsageLog(PeeweeUsageRepository(), transactions)
        admission = Admission(authenticator, limiter)
        admission.observers.append(usage.observe)
        numbers = Numbers(number_deps)
        message_deps = MessageDeps(
            PeeweeMessageStore(db),
            number_deps.store,
            lines,
            PeeweeOrganizationRepository(),
            consent,
            opt_outs,
            policies,
            opt_outs_outbox,  # shared: an SMS STOP's suppression events join its block
            transactions,
            clock,
            settings,
            carriers,
            carrier_loop,
            reminders.listeners,  # a queued message wakes whoever a reminder change wakes
        )
        texts = Texts(message_deps)
        fallbacks = Fallbacks(message_deps)
        reminders.fallbacks = fallbacks
        return cls(
            message_templates=MessageTemplates(message_deps),
            messages=Messages(message_deps, texts),
            message_deps=message_deps,
            fallbacks=fallbacks,
            carrier_events=CarrierEvents(numbers, texts),
            lines=line_routes,
            inbound=inbound,
            numbers=numbers,
            carrier_loop=carrier_loop,
            carriers=carriers,
            audit=audit,
            policies=policies,
            suppressions=Suppressions(consent, transactions, clock, opt_outs),
            consents=Consents(consent, transactions, clock, opt_outs),
            settings=settings,
            clock=clock,
            db=db,
            transactions=transactions,
            accounts=accounts,
            authenticator=authenticator,
            oauth=OAuth(oauth_repos, clock, tokens),
            reminders=reminders,
            idempotency=Idempotency(
                PeeweeIdempotencyStore(), transactions, clock, reminders.listeners
            ),
            executions=Executions(executions),
            provider_events=ProviderEvents(
                _attempts(settings, clock, db, transactions, fallbacks, silenced_events),
                readers,
                {"vapi": VapiToolReader()},
            ),
            webhooks=Webhooks(
                PeeweeWebhookRepository(), transactions, clock, settings.webhooks_allow_private
            ),
            usage=usage,
            operations=Operations(PeeweeOperationsStore(), transactions, clock),
            limiter=limiter,
            admission=admission,
            calls=Calls(
                CallRepositories(transactions, PeeweeCallRepository(), lines),
                clock,
                policies,
                reminders.listeners,  # a queued call wakes whoever a reminder change wakes
                audit,
                consent,
            ),
            smoke=Smoke(
                SmokeRepositories(
                    transactions, lines, repos.reminders, executions, PeeweeSmokeStore()
                ),
                clock,
                reminders.listeners,
            ),
            silenced_events=silenced_events,
        )

    def attempts(self) -> Attempts:
        """Return the dispatcher's synchronous use cases over this database (with the outbox)."""
        return _attempts(
            self.settings,
            self.clock,
            self.db,
            self.transactions,
            self.fallbacks,
            self.silenced_events,
        )

    def deliverer(self, offloader: Offloader) -> WebhookDeliverer:
        """Build the webhook deliverer (run it beside the dispatcher; stop it with ``stop``)."""
        from dialcues_core.adapters.http.webhook_sender import WebhookDeliverer

        deliveries = Deliveries(
            PeeweeOutboxStore(self.db),
            self.transactions,
            self.clock,
            self.settings.webhook_retry_schedule,
        )
        allow = self.settings.webhooks_allow_private
        return WebhookDeliverer(deliveries, offloader.run, self.clock, allow)

    def dispatcher(self, offloader: Offloader) -> Dispatcher:
        """Build a dispatcher with the simulated and Vapi dialers, woken by reminder changes."""
        from dialcues_core.adapters.providers.simulated.voice import SimulatedDialer
        from dialcues_core.adapters.providers.vapi.voice import VapiDialer

        dialers: dict[Provider, Dialer] = {}
        from dialcues_core.adapters.http.predial import HttpPredialHook

        hook = HttpPredialHook(self.clock, self.settings.webhooks_allow_private)
        dispatcher = Dispatcher(
            self.attempts(), dialers, offloader.run, self.settings, self.clock, predial=hook
        )
        in_call = InCall(dispatcher.attempts)

        async def person(execution_id: int, call: ToolCall, via: str) -> object:
            return await offloader.run(in_call.act, execution_id, call, via)

        dialers[Provider.SIMULATED] = SimulatedDialer(
            dispatcher.on_event, self.settings.simulated_delay, person=person
        )
        dialers[Provider.VAPI] = VapiDialer(self.settings.public_url)
        self.reminders.listeners.append(dispatcher.wake)
        return dispatcher

    def answering(self, offloader: Offloader) -> Answering:
        """The asynchronous side of inbound calls (one per event loop; see ``Answering``)."""

        async def deliver_now() -> None:
            await self.deliverer(offloader).deliver_once()

        return Answering(
            self.inbound,
            {"vapi": VapiRingReader()},
            offloader.run,
            self.clock,
            self.settings.public_url,
            deliver_now,
        )

    def ring_line(
        self, organization_id: str, line_id: str, caller: str
    ) -> tuple[Answer, Execution | None]:
        """Ring a line as a caller would (``dialcues lines ring``); return the answer and the
        ended inbound execution (None: the line has no route, nothing was recorded)."""
        attempts = self.attempts()

        def finish(execution_id: int, event: CallEvent) -> object:
            return attempts.apply_events([(execution_id, event)])

        ring = (organization_id, line_id, caller)
        delay = self.settings.simulated_delay
        return ring_simulated(self.inbound, finish, self.clock, delay, ring)

    def provisioner(self, offloader: Offloader) -> Provisioner:
        """Build the number provisioner (run it beside the dispatcher), woken by assigns."""
        outbox = Outbox(PeeweeOutboxStore(self.db), self.clock, self.silenced_events)
        provisioning = Provisioning(self.numbers.deps, outbox)
        provisioner = Provisioner(provisioning, offloader.run, self.clock)
        self.reminders.listeners.append(provisioner.wake)
        return provisioner

    def message_sender(self, offloader: Offloader) -> MessageSender:
        """Build the message sender (run it beside the dispatcher), woken when a message is
        queued."""
        sender = MessageSender(Sending(self.message_deps, Texts(self.message_deps)), offloader.run)
        self.message_deps.listeners.append(sender.wake)
        return sender

    def heartbeat(self, offloader: Offloader, claims: Callable[[], datetime | None]) -> Heartbeat:
        """Build this process's heartbeat (its database watchdog too; see ``operations``)."""
        exit_after = self.settings.db_failure_exit_seconds
        return Heartbeat(self.operations, offloader.run, self.clock, claims, exit_after)

    def flush_key_usage(self) -> int:
        """Write the pending ``last_used_at`` times of API keys; return how many."""
        return self.authenticator.flush_usage()

    def sweep_idempotency_keys(self) -> int:
        """Delete idempotency keys past their 24 hours; return how many."""
        return self.idempotency.sweep()

    def offloader(self, threads: int = 8) -> Offloader:
        """Return a thread pool for asyncio callers; it closes its threads' connections."""
        return Offloader(threads, on_thread_exit=self._close_connection)

    def _close_connection(self) -> None:
        if not self.db.is_closed():
            self.db.close()

    def as_user(self, user_id: str) -> Principal:
        """Return a principal acting as the user with every scope (for host apps)."""
        user = self.accounts.get_user(user_id)
        return Principal(user, EMBEDDED_KEY_ID, frozenset(ALL_SCOPES))

    def authenticate(self, raw_key: str | None) -> Principal:
        """Return the principal an API key or access token acts as (see :class:`Authenticator`)."""
        return self.authenticator.authenticate(raw_key)

    def whoami(self, principal: Principal) -> Mapping[str, object]:
        """Return the ``/me`` facts of a principal."""
        return {
            "user": principal.user,
            "organization_id": principal.organization_id,
            "api_key_id": principal.api_key_id,
            "client_id": principal.client_id,
        }

    def ping(self) -> bool:
        """Tell whether the database answers."""
        return self.transactions.ping()

    def health(self) -> HealthReport:
        """Return the health report of ``GET /health`` (dispatchers' heartbeats, backlog)."""
        database = self.ping()
        try:
            return self.operations.health(database)
        except StorageUnavailable:
            return self.operations.health(False)

    def close(self) -> None:
        """Write pending key usage and usage events; close this thread's database connection."""
        try:
            self.authenticator.flush_usage()
            self.usage.flush()
        finally:
            self._close_carriers()
            if not self.db.is_closed():
                self.db.close()

    def _close_carriers(self) -> None:
        """Close the carriers' HTTP sessions on their loop, then stop it."""
        with contextlib.suppress(Exception):  # best effort: the process is ending
            self.carrier_loop.run(self.carriers.close(), timeout=5)
        self.carrier_loop.stop()


def _attempts(
    settings: Settings,
    clock: Clock,
    db: pw.Database,
    transactions: PeeweeTransactions,
    fallbacks: Fallbacks | None = None,
    silenced_events: frozenset[str] = frozenset(),
) -> Attempts:
    """Build the dispatcher's use cases, writing webhook events through the outbox."""
    outbox = Outbox(PeeweeOutboxStore(db), clock, silenced_events)
    opt_outs = OptOuts(PeeweeConsentStore(db), clock, AuditTrail(PeeweeAuditStore(), clock), outbox)
    return Attempts(
        PeeweeDispatchStore(db), transactions, clock, settings, outbox, opt_outs, fallbacks
    )


__all__ = ["Dialcues"]
