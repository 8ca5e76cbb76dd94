"""The repository ports' behaviour suite, run on every implementation (SQLite file, PostgreSQL).

Every test talks to the repositories ``Dialcues.open`` wires (``dc.accounts.repos`` and
``dc.reminders.repos``), so what passes here is what the use cases get. Rows the ports cannot
write (executions) are inserted through the row classes. Times are fixed literals around
2026-03-25; nothing reads the system clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from support.platform import Tenant, make_tenant, settings_for

from dialcues_core import Dialcues
from dialcues_core.accounts.model import (
    ApiKey,
    Organization,
    OutboundLine,
    Provider,
    ProviderSettings,
    User,
)
from dialcues_core.accounts.ports import LineRepository
from dialcues_core.accounts.service import AccountRepositories
from dialcues_core.adapters.peewee import database
from dialcues_core.adapters.peewee.tables import ExecutionRow, SchemaVersionRow
from dialcues_core.calls.model import Execution, ExecutionStatus
from dialcues_core.calls.ports import ExecutionQuery, ExecutionRepository
from dialcues_core.errors import AlreadyExists
from dialcues_core.kernel.ports import Transactions
from dialcues_core.reminders.model import RecurrenceKind, RecurrenceRule, Reminder, ReminderStatus
from dialcues_core.reminders.ports import ReminderQuery, ReminderRepository
from dialcues_core.testing import FakeClock

START = datetime(2026, 1, 1, tzinfo=UTC)
AT = datetime(2026, 3, 25, 13, 0, tzinfo=UTC)  # 09:00 in New York
LOCAL = datetime(2026, 3, 25, 9, 0)


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture
def dc(any_url: str) -> Iterator[Dialcues]:
    """The platform on each backend in turn, migrated, on a fake clock."""
    platform = Dialcues.open(settings=settings_for(any_url), clock=FakeClock(START))
    yield platform
    platform.close()


@pytest.fixture
def accounts(dc: Dialcues) -> AccountRepositories:
    """The account-side repositories as wired."""
    return dc.accounts.repos


@dataclass(frozen=True)
class Repos:
    """The reminder-side repositories as wired, and the execution repository."""

    transactions: Transactions
    reminders: ReminderRepository
    lines: LineRepository
    executions: ExecutionRepository


@pytest.fixture
def repos(dc: Dialcues) -> Repos:
    """The reminder-side repositories as wired, and the execution repository."""
    wired = dc.reminders.repos
    return Repos(wired.transactions, wired.reminders, wired.lines, dc.executions.executions)


@pytest.fixture
def alice(dc: Dialcues) -> Tenant:
    """An organization with a simulated default line labelled ``Main``, and its user."""
    return make_tenant(dc)


@pytest.fixture
def bob(dc: Dialcues) -> Tenant:
    """Another organization, with its own line and user."""
    return make_tenant(dc)


# ----------------------------------------------------------------------------- builders
def an_org(org_id: str = "org_1", **changes: Any) -> Organization:
    """An organization without provider settings."""
    return replace(Organization(org_id, "Acme", AT), **changes)


def a_user(org_id: str, user_id: str = "usr_1", email: str = "dev@example.com") -> User:
    """A user of ``org_id``."""
    return User(user_id, org_id, email, "Jane", AT)


def vapi_settings(**changes: Any) -> ProviderSettings:
    """Vapi provider settings with every field set away from its default."""
    base = ProviderSettings(
        provider=Provider.VAPI,
        api_key="vapi-secret-key",
        assistant_id="asst_1",
        webhook_secret="whsec_1",
        base_url="https://vapi.example.test",
        concurrency=3,
    )
    return replace(base, **changes)


def a_key(user: User, key_id: str = "key_1", **changes: Any) -> ApiKey:
    """An API key of ``user``, its hash derived from its id."""
    base = ApiKey(
        id=key_id,
        user_id=user.id,
        organization_id=user.organization_id,
        name="ci",
        prefix="dc_live_ab",
        last4="wxyz",
        key_hash=f"{key_id:0>64}",
        scopes=("reminders:read", "reminders:write"),
        created_at=AT,
        expires_at=AT + timedelta(days=30),
    )
    return replace(base, **changes)


def a_line(org_id: str, line_id: str, minutes: int = 0, **changes: Any) -> OutboundLine:
    """A non-default simulated line of ``org_id`` created ``minutes`` after ``AT``."""
    base = OutboundLine(
        id=line_id,
        organization_id=org_id,
        provider=Provider.SIMULATED,
        phone_number="+14155550101",
        label=line_id.title(),
        is_default=False,
        created_at=AT + timedelta(minutes=minutes),
    )
    return replace(base, **changes)


def a_reminder(t: Tenant, **changes: Any) -> Reminder:
    """A scheduled one-off reminder of the tenant's user on its line (id not yet assigned)."""
    base = Reminder(
        id=0,
        user_id=t.user.id,
        organization_id=t.org.id,
        title="Stand-up",
        message="Time for stand-up",
        phone_number="+14155552671",
        scheduled_at=AT,
        timezone="America/New_York",
        local_time=LOCAL,
        status=ReminderStatus.SCHEDULED,
        line_id=t.line.id,
        line_label=t.line.label,
        recurrence=None,
        retry_count=0,
        next_attempt_at=None,
        last_execution_id=None,
        created_at=START,
        updated_at=START,
    )
    return replace(base, **changes)


def add_reminders(repos: Repos, t: Tenant, *titles: str) -> list[Reminder]:
    """Store one reminder per title, an hour apart from ``AT`` on; return them in order."""
    return [
        repos.reminders.add(a_reminder(t, title=title, scheduled_at=AT + timedelta(hours=i)))
        for i, title in enumerate(titles)
    ]


def add_execution(t: Tenant, **columns: Any) -> int:
    """Insert a completed execution row of the tenant's user; return its id."""
    values: dict[str, Any] = {
        "user_id": t.user.id,
        "organization_id": t.org.id,
        "reminder_id": None,
        "reminder_title": None,
        "status": "completed",
        "attempt": 1,
        "line_id": t.line.id,
        "to_number": "+14155552671",
        "scheduled_for": AT,
        "executed_at": AT,
        "created_at": START,
    }
    values.update(columns)
    return int(ExecutionRow.insert(**values).execute())


def titles(repos: Repos, t: Tenant, **query: Any) -> list[str]:
    """The titles of one page of the tenant's reminders."""
    page = repos.reminders.list(t.user.id, ReminderQuery(**query))
    return [r.title for r in page.items]


def execution_ids(repos: Repos, t: Tenant, **query: Any) -> list[int]:
    """The ids of one page of the tenant's executions."""
    page = repos.executions.list(t.user.id, ExecutionQuery(**query))
    return [e.id for e in page.items]


# ----------------------------------------------------------------------------- organizations
def test_organization_reads_back_as_stored(accounts: AccountRepositories) -> None:
    org = an_org(created_at=datetime(2026, 3, 25, 13, 0, 0, 412_000, tzinfo=UTC))
    accounts.organizations.add(org)

    assert accounts.organizations.get(org.id) == org


def test_organization_created_at_reads_back_as_aware_utc_with_milliseconds(
    accounts: AccountRepositories,
) -> None:
    paris = timezone(timedelta(hours=1))
    accounts.organizations.add(
        an_org(created_at=datetime(2026, 3, 25, 14, 0, 0, 412_000, tzinfo=paris))
    )

    got = accounts.organizations.get("org_1")

    assert got is not None
    assert got.created_at.utcoffset() == timedelta(0)
    assert got.created_at.isoformat() == "2026-03-25T13:00:00.412000+00:00"


def test_organization_created_at_drops_sub_millisecond_digits(
    accounts: AccountRepositories,
) -> None:
    accounts.organizations.add(
        an_org(created_at=datetime(2026, 3, 25, 13, 0, 0, 412_987, tzinfo=UTC))
    )

    got = accounts.organizations.get("org_1")

    assert got is not None
    assert got.created_at == datetime(2026, 3, 25, 13, 0, 0, 412_000, tzinfo=UTC)


def test_unknown_organization_is_none(accounts: AccountRepositories) -> None:
    assert accounts.organizations.get("org_missing") is None


def test_provider_settings_without_retry_delays_read_back_as_none(
    accounts: AccountRepositories,
) -> None:
    accounts.organizations.add(an_org())
    accounts.organizations.set_provider("org_1", vapi_settings(retry_delays=None))

    got = accounts.organizations.get("org_1")

    assert got is not None
    assert got.provider == vapi_settings(retry_delays=None)


def test_provider_settings_with_retry_delays_read_back_as_a_tuple(
    accounts: AccountRepositories,
) -> None:
    accounts.organizations.add(an_org())
    accounts.organizations.set_provider("org_1", vapi_settings(retry_delays=(300, 900)))

    got = accounts.organizations.get("org_1")

    assert got is not None
    assert got.provider == vapi_settings(retry_delays=(300, 900))


def test_set_provider_replaces_the_previous_settings(accounts: AccountRepositories) -> None:
    accounts.organizations.add(an_org())
    accounts.organizations.set_provider("org_1", vapi_settings(retry_delays=(300, 900)))
    accounts.organizations.set_provider("org_1", vapi_settings(api_key="rotated", concurrency=1))

    got = accounts.organizations.get("org_1")

    assert got is not None
    assert got.provider == vapi_settings(api_key="rotated", concurrency=1)


def test_set_provider_leaves_other_organizations_alone(accounts: AccountRepositories) -> None:
    accounts.organizations.add(an_org("org_1"))
    accounts.organizations.add(an_org("org_2"))
    accounts.organizations.set_provider("org_1", vapi_settings())

    other = accounts.organizations.get("org_2")

    assert other is not None
    assert other.provider is None


def test_exists_any_is_false_on_an_empty_database(accounts: AccountRepositories) -> None:
    assert accounts.organizations.exists_any() is False


def test_exists_any_is_true_once_an_organization_is_stored(
    accounts: AccountRepositories,
) -> None:
    accounts.organizations.add(an_org())

    assert accounts.organizations.exists_any() is True


# ----------------------------------------------------------------------------- users
def test_user_reads_back_as_stored(accounts: AccountRepositories) -> None:
    accounts.organizations.add(an_org())
    user = a_user("org_1")
    accounts.users.add(user)

    assert accounts.users.get(user.id) == user


def test_unknown_user_is_none(accounts: AccountRepositories) -> None:
    assert accounts.users.get("usr_missing") is None


def test_duplicate_email_in_the_same_organization_is_already_exists(
    accounts: AccountRepositories,
) -> None:
    accounts.organizations.add(an_org())
    accounts.users.add(a_user("org_1", "usr_1", "dev@example.com"))

    with pytest.raises(AlreadyExists):
        accounts.users.add(a_user("org_1", "usr_2", "dev@example.com"))


def test_same_email_in_another_organization_is_a_different_user(
    accounts: AccountRepositories,
) -> None:
    accounts.organizations.add(an_org("org_1"))
    accounts.organizations.add(an_org("org_2"))
    accounts.users.add(a_user("org_1", "usr_1", "dev@example.com"))
    accounts.users.add(a_user("org_2", "usr_2", "dev@example.com"))

    assert accounts.users.get("usr_2") == a_user("org_2", "usr_2", "dev@example.com")


def test_rejected_duplicate_user_leaves_the_surrounding_transaction_usable(
    accounts: AccountRepositories,
) -> None:
    accounts.organizations.add(an_org())
    accounts.users.add(a_user("org_1", "usr_1", "dev@example.com"))

    with accounts.transactions.atomic():
        with pytest.raises(AlreadyExists):
            accounts.users.add(a_user("org_1", "usr_2", "dev@example.com"))
        accounts.users.add(a_user("org_1", "usr_3", "ops@example.com"))

    assert accounts.users.get("usr_3") is not None


# ----------------------------------------------------------------------------- api keys
@pytest.fixture
def owner(accounts: AccountRepositories) -> User:
    """A stored user (of ``org_1``) to own keys."""
    accounts.organizations.add(an_org())
    user = a_user("org_1")
    accounts.users.add(user)
    return user


def test_api_key_reads_back_as_stored(accounts: AccountRepositories, owner: User) -> None:
    key = a_key(owner)
    accounts.api_keys.add(key)

    assert accounts.api_keys.get(key.id) == key


def test_find_by_hash_returns_the_key_and_its_user(
    accounts: AccountRepositories, owner: User
) -> None:
    key = a_key(owner)
    accounts.api_keys.add(key)

    assert accounts.api_keys.find_by_hash(key.key_hash) == (key, owner)


def test_find_by_unknown_hash_is_none(accounts: AccountRepositories, owner: User) -> None:
    accounts.api_keys.add(a_key(owner))

    assert accounts.api_keys.find_by_hash("f" * 64) is None


def test_list_for_user_returns_newest_key_first(accounts: AccountRepositories, owner: User) -> None:
    for key_id, minutes in (("key_b", 5), ("key_a", 0), ("key_c", 10)):
        accounts.api_keys.add(a_key(owner, key_id, created_at=AT + timedelta(minutes=minutes)))

    listed = accounts.api_keys.list_for_user(owner.id)

    assert [k.id for k in listed] == ["key_c", "key_b", "key_a"]


def test_list_for_user_leaves_out_other_users_keys(
    accounts: AccountRepositories, owner: User
) -> None:
    other = a_user("org_1", "usr_2", "ops@example.com")
    accounts.users.add(other)
    accounts.api_keys.add(a_key(owner, "key_mine"))
    accounts.api_keys.add(a_key(other, "key_theirs"))

    assert [k.id for k in accounts.api_keys.list_for_user(owner.id)] == ["key_mine"]


def test_revoke_records_the_revocation_time(accounts: AccountRepositories, owner: User) -> None:
    accounts.api_keys.add(a_key(owner))
    accounts.api_keys.revoke("key_1", AT + timedelta(hours=1))

    got = accounts.api_keys.get("key_1")

    assert got is not None
    assert got.revoked_at == AT + timedelta(hours=1)


def test_revoking_twice_keeps_the_first_revocation_time(
    accounts: AccountRepositories, owner: User
) -> None:
    accounts.api_keys.add(a_key(owner))
    accounts.api_keys.revoke("key_1", AT + timedelta(hours=1))
    accounts.api_keys.revoke("key_1", AT + timedelta(hours=2))

    got = accounts.api_keys.get("key_1")

    assert got is not None
    assert got.revoked_at == AT + timedelta(hours=1)


def test_touch_writes_last_used_at_of_each_key_given(
    accounts: AccountRepositories, owner: User
) -> None:
    for key_id in ("key_1", "key_2", "key_3"):
        accounts.api_keys.add(a_key(owner, key_id))
    used = {
        "key_1": datetime(2026, 3, 25, 14, 0, 0, 1_000, tzinfo=UTC),
        "key_2": datetime(2026, 3, 25, 15, 30, tzinfo=UTC),
    }

    accounts.api_keys.touch(used)

    last_used = {k.id: k.last_used_at for k in accounts.api_keys.list_for_user(owner.id)}
    assert last_used == {**used, "key_3": None}


# ----------------------------------------------------------------------------- lines
@pytest.fixture
def org_ids(accounts: AccountRepositories) -> tuple[str, str]:
    """Two stored organizations without lines."""
    accounts.organizations.add(an_org("org_1"))
    accounts.organizations.add(an_org("org_2"))
    return "org_1", "org_2"


def defaults(accounts: AccountRepositories, org_id: str) -> list[str]:
    """The ids of the organization's lines marked default."""
    return [line.id for line in accounts.lines.list_for_org(org_id) if line.is_default]


def test_line_reads_back_as_stored(accounts: AccountRepositories, org_ids: tuple[str, str]) -> None:
    line = a_line(
        "org_1", "line_vapi", provider=Provider.VAPI, provider_line_id="pn_1", is_default=True
    )
    accounts.lines.add(line)

    assert accounts.lines.get("org_1", "line_vapi") == line


def test_line_without_label_reads_back_with_none(
    accounts: AccountRepositories, org_ids: tuple[str, str]
) -> None:
    accounts.lines.add(a_line("org_1", "line_a", label=None))

    got = accounts.lines.get("org_1", "line_a")

    assert got is not None
    assert got.label is None


def test_adding_a_default_line_makes_the_others_non_default(
    accounts: AccountRepositories, org_ids: tuple[str, str]
) -> None:
    accounts.lines.add(a_line("org_1", "line_a", 0, is_default=True))
    accounts.lines.add(a_line("org_1", "line_b", 1, is_default=True))

    assert defaults(accounts, "org_1") == ["line_b"]


def test_adding_a_default_line_leaves_other_organizations_defaults(
    accounts: AccountRepositories, org_ids: tuple[str, str]
) -> None:
    accounts.lines.add(a_line("org_2", "line_theirs", 0, is_default=True))
    accounts.lines.add(a_line("org_1", "line_mine", 1, is_default=True))

    assert defaults(accounts, "org_2") == ["line_theirs"]


def test_adding_a_non_default_line_keeps_the_default(
    accounts: AccountRepositories, org_ids: tuple[str, str]
) -> None:
    accounts.lines.add(a_line("org_1", "line_a", 0, is_default=True))
    accounts.lines.add(a_line("org_1", "line_b", 1))

    default = accounts.lines.default_for("org_1")

    assert default is not None
    assert default.id == "line_a"


def test_default_for_prefers_the_default_line_over_older_ones(
    accounts: AccountRepositories, org_ids: tuple[str, str]
) -> None:
    accounts.lines.add(a_line("org_1", "line_old", 0))
    accounts.lines.add(a_line("org_1", "line_new", 1, is_default=True))

    assert accounts.lines.default_for("org_1") == a_line("org_1", "line_new", 1, is_default=True)


def test_default_for_falls_back_to_the_oldest_line(
    accounts: AccountRepositories, org_ids: tuple[str, str]
) -> None:
    accounts.lines.add(a_line("org_1", "line_b", 5))
    accounts.lines.add(a_line("org_1", "line_a", 0))
    accounts.lines.add(a_line("org_1", "line_c", 9))

    assert accounts.lines.default_for("org_1") == a_line("org_1", "line_a", 0)


def test_default_for_an_organization_without_lines_is_none(
    accounts: AccountRepositories, org_ids: tuple[str, str]
) -> None:
    accounts.lines.add(a_line("org_2", "line_theirs", is_default=True))

    assert accounts.lines.default_for("org_1") is None


def test_list_for_org_returns_its_lines_oldest_first(
    accounts: AccountRepositories, org_ids: tuple[str, str]
) -> None:
    accounts.lines.add(a_line("org_1", "line_b", 5))
    accounts.lines.add(a_line("org_1", "line_a", 0))
    accounts.lines.add(a_line("org_2", "line_theirs", 1))

    assert [line.id for line in accounts.lines.list_for_org("org_1")] == ["line_a", "line_b"]


def test_another_organizations_line_is_none(
    accounts: AccountRepositories, org_ids: tuple[str, str]
) -> None:
    accounts.lines.add(a_line("org_2", "line_theirs"))

    assert accounts.lines.get("org_1", "line_theirs") is None


def test_remove_deletes_the_line(accounts: AccountRepositories, org_ids: tuple[str, str]) -> None:
    accounts.lines.add(a_line("org_1", "line_a"))

    assert accounts.lines.remove("org_1", "line_a") is True
    assert accounts.lines.get("org_1", "line_a") is None


def test_remove_of_an_unknown_line_is_false(
    accounts: AccountRepositories, org_ids: tuple[str, str]
) -> None:
    assert accounts.lines.remove("org_1", "line_missing") is False


def test_remove_of_another_organizations_line_keeps_it(
    accounts: AccountRepositories, org_ids: tuple[str, str]
) -> None:
    accounts.lines.add(a_line("org_2", "line_theirs"))

    assert accounts.lines.remove("org_1", "line_theirs") is False
    assert accounts.lines.get("org_2", "line_theirs") is not None


def test_remove_clears_the_line_of_reminders_fixed_on_it(
    dc: Dialcues, repos: Repos, alice: Tenant
) -> None:
    stored = repos.reminders.add(a_reminder(alice))

    dc.accounts.repos.lines.remove(alice.org.id, alice.line.id)

    got = repos.reminders.get(alice.user.id, stored.id)
    assert got is not None
    assert (got.line_id, got.line_label) == (None, None)


def test_remove_of_another_organizations_line_keeps_its_reminders_line(
    dc: Dialcues, repos: Repos, alice: Tenant, bob: Tenant
) -> None:
    # Bob's organization asking to remove Alice's line must not touch Alice's data.
    stored = repos.reminders.add(a_reminder(alice))

    dc.accounts.repos.lines.remove(bob.org.id, alice.line.id)

    got = repos.reminders.get(alice.user.id, stored.id)
    assert got is not None
    assert got.line_id == alice.line.id


def test_set_default_makes_the_line_the_only_default(
    accounts: AccountRepositories, org_ids: tuple[str, str]
) -> None:
    accounts.lines.add(a_line("org_1", "line_a", 0, is_default=True))
    accounts.lines.add(a_line("org_1", "line_b", 1))

    assert accounts.lines.set_default("org_1", "line_b") is True
    assert defaults(accounts, "org_1") == ["line_b"]


def test_set_default_of_another_organizations_line_is_false_and_changes_nothing(
    accounts: AccountRepositories, org_ids: tuple[str, str]
) -> None:
    accounts.lines.add(a_line("org_1", "line_mine", 0, is_default=True))
    accounts.lines.add(a_line("org_2", "line_theirs", 1))

    assert accounts.lines.set_default("org_1", "line_theirs") is False
    assert (defaults(accounts, "org_1"), defaults(accounts, "org_2")) == (["line_mine"], [])


# ----------------------------------------------------------------------------- reminders
def test_add_assigns_distinct_ids(repos: Repos, alice: Tenant) -> None:
    first = repos.reminders.add(a_reminder(alice))
    second = repos.reminders.add(a_reminder(alice))

    assert first.id > 0
    assert second.id != first.id


def test_reminder_reads_back_equal_to_the_one_added(repos: Repos, alice: Tenant) -> None:
    stored = repos.reminders.add(
        a_reminder(
            alice,
            retry_count=2,
            next_attempt_at=AT + timedelta(minutes=5),
            last_execution_id=41,
            updated_at=START + timedelta(days=1),
        )
    )

    assert repos.reminders.get(alice.user.id, stored.id) == stored


RULES = {
    "daily until": RecurrenceRule(
        RecurrenceKind.DAILY, LOCAL, "America/New_York", end_at=AT + timedelta(days=30)
    ),
    "weekly": RecurrenceRule(RecurrenceKind.WEEKLY, LOCAL, "America/New_York"),
    "every 3 days": RecurrenceRule(
        RecurrenceKind.INTERVAL_DAYS, LOCAL, "America/New_York", interval_days=3
    ),
    "weekdays": RecurrenceRule(
        RecurrenceKind.WEEKDAYS, LOCAL, "America/New_York", weekdays=(0, 3, 6)
    ),
    "cron": RecurrenceRule(
        RecurrenceKind.CRON,
        LOCAL,
        "America/New_York",
        cron="0 9 * * 1-5",
        end_at=datetime(2026, 12, 31, 14, 0, tzinfo=UTC),
    ),
}


@pytest.mark.parametrize("rule", RULES.values(), ids=RULES.keys())
def test_recurrence_rule_reads_back_equal(
    repos: Repos, alice: Tenant, rule: RecurrenceRule
) -> None:
    stored = repos.reminders.add(a_reminder(alice, recurrence=rule))

    got = repos.reminders.get(alice.user.id, stored.id)

    assert got is not None
    assert got.recurrence == rule


def test_reminder_line_label_is_read_from_its_line(repos: Repos, alice: Tenant) -> None:
    stored = repos.reminders.add(a_reminder(alice, line_label=None))

    got = repos.reminders.get(alice.user.id, stored.id)

    assert got is not None
    assert got.line_label == "Main"


def test_reminder_without_a_line_has_no_line_label(repos: Repos, alice: Tenant) -> None:
    stored = repos.reminders.add(a_reminder(alice, line_id=None, line_label=None))

    got = repos.reminders.get(alice.user.id, stored.id)

    assert got is not None
    assert (got.line_id, got.line_label) == (None, None)


def test_another_users_reminder_is_none(repos: Repos, alice: Tenant, bob: Tenant) -> None:
    stored = repos.reminders.add(a_reminder(alice))

    assert repos.reminders.get(bob.user.id, stored.id) is None


def test_get_for_update_returns_the_users_reminder(repos: Repos, alice: Tenant) -> None:
    stored = repos.reminders.add(a_reminder(alice))

    with repos.transactions.atomic():
        got = repos.reminders.get_for_update(alice.user.id, stored.id)

    assert got == stored


def test_get_for_update_of_another_users_reminder_is_none(
    repos: Repos, alice: Tenant, bob: Tenant
) -> None:
    stored = repos.reminders.add(a_reminder(alice))

    with repos.transactions.atomic():
        got = repos.reminders.get_for_update(bob.user.id, stored.id)

    assert got is None


def test_save_writes_every_changed_field(dc: Dialcues, repos: Repos, alice: Tenant) -> None:
    other_line = dc.accounts.add_line(alice.org.id, "simulated", "+14155550199", label="Backup")
    stored = repos.reminders.add(a_reminder(alice))
    changed = replace(
        stored,
        title="Retro",
        message="Time for the retro",
        phone_number="+442071838750",
        scheduled_at=datetime(2026, 4, 1, 8, 30, tzinfo=UTC),
        timezone="Europe/London",
        local_time=datetime(2026, 4, 1, 9, 30),
        status=ReminderStatus.PAUSED,
        line_id=other_line.id,
        line_label="Backup",
        recurrence=RecurrenceRule(
            RecurrenceKind.WEEKDAYS, datetime(2026, 4, 1, 9, 30), "Europe/London", weekdays=(1,)
        ),
        retry_count=1,
        next_attempt_at=datetime(2026, 4, 1, 8, 35, tzinfo=UTC),
        last_execution_id=7,
        updated_at=START + timedelta(hours=3),
    )

    repos.reminders.save(changed)

    assert repos.reminders.get(alice.user.id, stored.id) == changed


def test_save_can_clear_the_recurrence(repos: Repos, alice: Tenant) -> None:
    stored = repos.reminders.add(a_reminder(alice, recurrence=RULES["cron"]))

    repos.reminders.save(replace(stored, recurrence=None))

    got = repos.reminders.get(alice.user.id, stored.id)
    assert got is not None
    assert got.recurrence is None


def test_delete_removes_the_reminder(repos: Repos, alice: Tenant) -> None:
    stored = repos.reminders.add(a_reminder(alice))

    repos.reminders.delete(alice.user.id, stored.id)

    assert repos.reminders.get(alice.user.id, stored.id) is None


def test_delete_by_another_user_keeps_the_reminder(
    repos: Repos, alice: Tenant, bob: Tenant
) -> None:
    stored = repos.reminders.add(a_reminder(alice))

    repos.reminders.delete(bob.user.id, stored.id)

    assert repos.reminders.get(alice.user.id, stored.id) == stored


# ---------------------------------------------------------------- reminders: listing
def test_list_returns_only_the_users_reminders(repos: Repos, alice: Tenant, bob: Tenant) -> None:
    add_reminders(repos, alice, "mine")
    add_reminders(repos, bob, "theirs")

    assert titles(repos, alice) == ["mine"]


def test_list_filters_by_status(repos: Repos, alice: Tenant) -> None:
    repos.reminders.add(a_reminder(alice, title="scheduled"))
    repos.reminders.add(a_reminder(alice, title="paused", status=ReminderStatus.PAUSED))
    repos.reminders.add(a_reminder(alice, title="failed", status=ReminderStatus.FAILED))

    assert titles(repos, alice, status=ReminderStatus.PAUSED) == ["paused"]


def test_list_date_from_is_inclusive_and_date_to_exclusive(repos: Repos, alice: Tenant) -> None:
    add_reminders(repos, alice, "13h", "14h", "15h", "16h")

    listed = titles(
        repos,
        alice,
        date_from=AT + timedelta(hours=1),
        date_to=AT + timedelta(hours=3),
    )

    assert listed == ["14h", "15h"]


def test_list_date_bounds_compare_instants_whatever_their_offset(
    repos: Repos, alice: Tenant
) -> None:
    add_reminders(repos, alice, "13h", "14h", "15h")
    new_york = timezone(timedelta(hours=-4))

    listed = titles(repos, alice, date_from=datetime(2026, 3, 25, 10, 0, tzinfo=new_york))

    assert listed == ["14h", "15h"]


@pytest.fixture
def tied(repos: Repos, alice: Tenant) -> list[Reminder]:
    """Three reminders: ``early``, then ``tie 1`` and ``tie 2`` at the same instants."""
    later = AT + timedelta(hours=1)
    return [
        repos.reminders.add(a_reminder(alice, title="early", updated_at=START)),
        repos.reminders.add(a_reminder(alice, title="tie 1", scheduled_at=later, updated_at=later)),
        repos.reminders.add(a_reminder(alice, title="tie 2", scheduled_at=later, updated_at=later)),
    ]


def test_list_sorts_by_scheduled_at_ascending_then_id_by_default(
    repos: Repos, alice: Tenant, tied: list[Reminder]
) -> None:
    assert titles(repos, alice) == ["early", "tie 1", "tie 2"]


def test_list_sorts_by_scheduled_at_descending_then_id_descending(
    repos: Repos, alice: Tenant, tied: list[Reminder]
) -> None:
    assert titles(repos, alice, sort="scheduled_at_desc") == ["tie 2", "tie 1", "early"]


def test_list_sorts_by_updated_at_descending_then_id_descending(
    repos: Repos, alice: Tenant
) -> None:
    later = START + timedelta(hours=1)
    repos.reminders.add(a_reminder(alice, title="tie 1", updated_at=later))
    repos.reminders.add(a_reminder(alice, title="latest", updated_at=later + timedelta(1)))
    repos.reminders.add(a_reminder(alice, title="tie 2", updated_at=later))
    repos.reminders.add(a_reminder(alice, title="oldest", updated_at=START))

    listed = titles(repos, alice, sort="updated_at_desc")

    assert listed == ["latest", "tie 2", "tie 1", "oldest"]


def test_list_returns_the_requested_page_and_the_total(repos: Repos, alice: Tenant) -> None:
    add_reminders(repos, alice, "1", "2", "3", "4", "5")

    page = repos.reminders.list(alice.user.id, ReminderQuery(page=2, page_size=2))

    assert [r.title for r in page.items] == ["3", "4"]
    assert (page.total, page.page, page.page_size, page.total_pages) == (5, 2, 2, 3)


def test_list_page_past_the_end_is_empty_but_keeps_the_total(repos: Repos, alice: Tenant) -> None:
    add_reminders(repos, alice, "1", "2", "3", "4", "5")

    page = repos.reminders.list(alice.user.id, ReminderQuery(page=4, page_size=2))

    assert (page.items, page.total) == ([], 5)


def test_list_of_nothing_has_no_pages(repos: Repos, alice: Tenant) -> None:
    page = repos.reminders.list(alice.user.id, ReminderQuery())

    assert (page.items, page.total, page.total_pages) == ([], 0, 0)


def test_search_matches_the_title_ignoring_case_but_not_accents(
    repos: Repos, alice: Tenant
) -> None:
    add_reminders(repos, alice, "École du lac", "Ecole sans accent", "Gym")

    assert titles(repos, alice, search="école") == ["École du lac"]


def test_search_folds_sharp_s_like_str_casefold(repos: Repos, alice: Tenant) -> None:
    # "Straße".casefold() == "STRASSE".casefold() == "strasse": the contract's case-insensitive
    # match is Python's full case folding, on every backend.
    add_reminders(repos, alice, "Hauptstraße 5", "Hauptstrase 5")

    assert titles(repos, alice, search="STRASSE") == ["Hauptstraße 5"]


def test_search_matches_the_message(repos: Repos, alice: Tenant) -> None:
    repos.reminders.add(a_reminder(alice, title="A", message="Call the DENTIST"))
    repos.reminders.add(a_reminder(alice, title="B", message="Call mom"))

    assert titles(repos, alice, search="dentist") == ["A"]


def test_search_sees_a_saved_title(repos: Repos, alice: Tenant) -> None:
    stored = repos.reminders.add(a_reminder(alice, title="Old name"))
    repos.reminders.save(replace(stored, title="Renamed"))

    assert (titles(repos, alice, search="old"), titles(repos, alice, search="renamed")) == (
        [],
        ["Renamed"],
    )


def test_search_matches_within_title_or_message_not_across_them(
    repos: Repos, alice: Tenant
) -> None:
    # The contract: a substring of the title or of the message; "morning\ncall" is neither.
    repos.reminders.add(a_reminder(alice, title="Morning", message="call mom"))

    assert titles(repos, alice, search="morning\ncall") == []


def test_search_treats_percent_literally(repos: Repos, alice: Tenant) -> None:
    add_reminders(repos, alice, "50% off", "500 off", "plain")

    assert titles(repos, alice, search="0%") == ["50% off"]


def test_search_treats_underscore_literally(repos: Repos, alice: Tenant) -> None:
    add_reminders(repos, alice, "snake_case", "snakeXcase", "plain")

    assert titles(repos, alice, search="e_c") == ["snake_case"]


def test_search_combines_with_the_other_filters(repos: Repos, alice: Tenant) -> None:
    repos.reminders.add(a_reminder(alice, title="gym scheduled"))
    repos.reminders.add(a_reminder(alice, title="gym paused", status=ReminderStatus.PAUSED))
    repos.reminders.add(a_reminder(alice, title="yoga paused", status=ReminderStatus.PAUSED))

    assert titles(repos, alice, search="GYM", status=ReminderStatus.PAUSED) == ["gym paused"]


# ----------------------------------------------------------------------------- executions
def test_execution_reads_back_with_every_field(repos: Repos, alice: Tenant) -> None:
    executed = datetime(2026, 3, 25, 13, 0, 0, 412_000, tzinfo=UTC)
    execution_id = add_execution(
        alice,
        reminder_id=9,
        reminder_title="Stand-up",
        status="no_answer",
        attempt=2,
        call_id="call_1",
        executed_at=executed,
        ended_at=executed + timedelta(seconds=31),
        ended_reason="customer-did-not-answer",
        duration_s=31,
        cost=0.07,
        error_message=None,
    )

    assert repos.executions.get(alice.user.id, execution_id) == Execution(
        id=execution_id,
        user_id=alice.user.id,
        organization_id=alice.org.id,
        reminder_id=9,
        reminder_title="Stand-up",
        status=ExecutionStatus.NO_ANSWER,
        attempt=2,
        call_id="call_1",
        line_id=alice.line.id,
        to="+14155552671",
        scheduled_for=AT,
        executed_at=executed,
        ended_at=executed + timedelta(seconds=31),
        ended_reason="customer-did-not-answer",
        duration_s=31,
        cost=0.07,
        error_message=None,
        occurrence_at=AT,  # a row without one reads its scheduled_for
    )


def test_another_users_execution_is_none(repos: Repos, alice: Tenant, bob: Tenant) -> None:
    execution_id = add_execution(alice)

    assert repos.executions.get(bob.user.id, execution_id) is None


def test_execution_list_is_the_users_newest_first_by_id(
    repos: Repos, alice: Tenant, bob: Tenant
) -> None:
    # executed_at runs backwards so that only the id can explain the order
    first = add_execution(alice, executed_at=AT + timedelta(hours=2))
    add_execution(bob)
    second = add_execution(alice, executed_at=AT + timedelta(hours=1))
    third = add_execution(alice, executed_at=AT)

    assert execution_ids(repos, alice) == [third, second, first]


def test_execution_list_filters_by_status(repos: Repos, alice: Tenant) -> None:
    add_execution(alice, status="completed")
    busy = add_execution(alice, status="busy")

    assert execution_ids(repos, alice, status=ExecutionStatus.BUSY) == [busy]


def test_execution_list_filters_by_reminder(repos: Repos, alice: Tenant) -> None:
    of_one = add_execution(alice, reminder_id=1)
    add_execution(alice, reminder_id=2)
    add_execution(alice, reminder_id=None)

    assert execution_ids(repos, alice, reminder_id=1) == [of_one]


def test_execution_list_date_from_is_inclusive_and_date_to_exclusive_on_executed_at(
    repos: Repos, alice: Tenant
) -> None:
    ids = [add_execution(alice, executed_at=AT + timedelta(hours=h)) for h in range(4)]
    add_execution(alice, executed_at=None, status="queued")

    listed = execution_ids(
        repos, alice, date_from=AT + timedelta(hours=1), date_to=AT + timedelta(hours=3)
    )

    assert listed == [ids[2], ids[1]]


def test_execution_list_pages(repos: Repos, alice: Tenant) -> None:
    ids = [add_execution(alice) for _ in range(5)]

    page = repos.executions.list(alice.user.id, ExecutionQuery(page=2, page_size=2))

    assert ([e.id for e in page.items], page.total) == ([ids[2], ids[1]], 5)


def test_execution_keeps_its_reminder_id_and_title_after_the_reminder_is_deleted(
    repos: Repos, alice: Tenant
) -> None:
    reminder = repos.reminders.add(a_reminder(alice, title="Pills"))
    execution_id = add_execution(alice, reminder_id=reminder.id, reminder_title="Pills")

    repos.reminders.delete(alice.user.id, reminder.id)

    got = repos.executions.get(alice.user.id, execution_id)
    assert got is not None
    assert (got.reminder_id, got.reminder_title) == (reminder.id, "Pills")


# ----------------------------------------------------------------------------- migrations
def test_migrating_a_migrated_database_keeps_its_version(dc: Dialcues) -> None:
    before = database.current_version(dc.db)

    assert database.migrate(dc.db) == before == len(database.MIGRATIONS)


def test_migrating_a_migrated_database_records_no_new_version(dc: Dialcues) -> None:
    rows = SchemaVersionRow.select().count()

    database.migrate(dc.db)

    assert SchemaVersionRow.select().count() == rows


def test_migrating_a_migrated_database_keeps_its_data(
    dc: Dialcues, accounts: AccountRepositories
) -> None:
    accounts.organizations.add(an_org())

    database.migrate(dc.db)

    assert accounts.organizations.get("org_1") == an_org()


@pytest.fixture
def unmigrated(empty_url: str) -> Iterator[Dialcues]:
    """The platform bound to an empty database of each backend, not migrated."""
    platform = Dialcues.open(settings=settings_for(empty_url), migrate=False)
    yield platform
    platform.close()


def test_current_version_of_an_empty_database_is_zero(unmigrated: Dialcues) -> None:
    assert database.current_version(unmigrated.db) == 0


def test_migrate_brings_an_empty_database_to_the_latest_version(unmigrated: Dialcues) -> None:
    reached = database.migrate(unmigrated.db)

    assert reached == database.current_version(unmigrated.db) == len(database.MIGRATIONS)


# ----------------------------------------------------------------------------- transactions
def test_failure_inside_atomic_rolls_back_every_write(accounts: AccountRepositories) -> None:
    with pytest.raises(RuntimeError), accounts.transactions.atomic():
        accounts.organizations.add(an_org())
        accounts.users.add(a_user("org_1"))
        raise RuntimeError("boom")

    assert (accounts.organizations.get("org_1"), accounts.users.get("usr_1")) == (None, None)


def test_atomic_commits_every_write_when_the_block_succeeds(
    accounts: AccountRepositories,
) -> None:
    with accounts.transactions.atomic():
        accounts.organizations.add(an_org())
        accounts.users.add(a_user("org_1"))

    assert (accounts.organizations.get("org_1"), accounts.users.get("usr_1")) == (
        an_org(),
        a_user("org_1"),
    )


def test_failure_inside_a_nested_atomic_rolls_back_only_the_inner_block(
    accounts: AccountRepositories,
) -> None:
    with accounts.transactions.atomic():
        accounts.organizations.add(an_org())
        with pytest.raises(RuntimeError), accounts.transactions.atomic():
            accounts.users.add(a_user("org_1"))
            raise RuntimeError("boom")

    assert (accounts.organizations.get("org_1"), accounts.users.get("usr_1")) == (
        an_org(),
        None,
    )
