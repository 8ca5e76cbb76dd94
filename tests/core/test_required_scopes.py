"""``requires`` and ``check_scope``: a use case states its scope once, the edges ask it first."""

from __future__ import annotations

import inspect

import pytest
from support.platform import Tenant

from dialcues_core import Dialcues
from dialcues_core.accounts.model import Principal
from dialcues_core.errors import InsufficientScope
from dialcues_core.kernel.scopes import (
    ALL_SCOPES,
    check_scope,
    recording_scopes,
    required_scope,
    requires,
)


class Things:
    """Use cases of a toy service, one sync and one async."""

    @requires("reminders:read")
    def read(self, principal: Principal, value: int) -> int:
        """Return ``value``."""
        return value

    @requires("reminders:write")
    async def write(self, principal: Principal, value: int) -> int:
        """Return ``value``."""
        return value

    def free(self, principal: Principal) -> str:
        """Need no scope."""
        return "ok"


def narrow(tenant: Tenant, *scopes: str) -> Principal:
    """The tenant's user acting with exactly ``scopes``."""
    return Principal(tenant.user, None, frozenset(scopes))


def test_a_decorated_use_case_checks_and_records_its_scope(tenant: Tenant) -> None:
    things = Things()
    with recording_scopes() as required:
        assert things.read(narrow(tenant, "reminders:read"), value=3) == 3
    assert required == ["reminders:read"]
    with pytest.raises(InsufficientScope) as caught:
        things.read(narrow(tenant, "reminders:write"), 1)
    assert caught.value.details == {"scope": "reminders:read"}


async def test_an_async_use_case_stays_a_coroutine_and_checks_first(tenant: Tenant) -> None:
    things = Things()
    assert inspect.iscoroutinefunction(Things.write)
    assert await things.write(narrow(tenant, "reminders:write"), 2) == 2
    with pytest.raises(InsufficientScope):
        await things.write(narrow(tenant, "reminders:read"), 2)


def test_check_scope_reads_the_rule_of_a_bound_or_plain_method(tenant: Tenant) -> None:
    things, reader = Things(), narrow(tenant, "reminders:read")
    assert (required_scope(things.write), required_scope(Things.read)) == (
        "reminders:write",
        "reminders:read",
    )
    check_scope(reader, things.read)
    check_scope(reader, things.free)  # no rule: nothing to refuse
    with pytest.raises(InsufficientScope):
        check_scope(reader, things.write)


def test_every_scoped_use_case_of_the_platform_states_its_scope(dc: Dialcues) -> None:
    use_cases = {
        dc.reminders.create: "reminders:write",
        dc.reminders.get: "reminders:read",
        dc.reminders.list: "reminders:read",
        dc.reminders.update: "reminders:write",
        dc.reminders.delete: "reminders:write",
        dc.executions.get: "executions:read",
        dc.executions.list: "executions:read",
        dc.accounts.lines_of: "lines:read",
        dc.calls.place: "calls:write",
        dc.smoke.run: "reminders:write",
        dc.usage.list: "usage:read",
        dc.webhooks.create: "webhooks:manage",
        dc.webhooks.get: "webhooks:manage",
        dc.webhooks.list: "webhooks:manage",
        dc.webhooks.deliveries: "webhooks:manage",
        dc.webhooks.update: "webhooks:manage",
        dc.webhooks.delete: "webhooks:manage",
        dc.webhooks.rotate_secret: "webhooks:manage",
        dc.policies.get: "policy:read",
        dc.audit.list: "audit:read",
        dc.suppressions.list: "suppressions:read",
        dc.suppressions.get: "suppressions:read",
        dc.suppressions.add: "suppressions:write",
        dc.suppressions.remove: "suppressions:write",
        dc.consents.list: "consents:read",
        dc.consents.get: "consents:read",
        dc.consents.create: "consents:write",
        dc.consents.revoke: "consents:write",
        dc.numbers.search: "numbers:read",
        dc.numbers.list: "numbers:read",
        dc.numbers.get: "numbers:read",
        dc.numbers.hold: "numbers:write",
        dc.numbers.extend: "numbers:write",
        dc.numbers.drop_hold: "numbers:write",
        dc.numbers.assign: "numbers:write",
        dc.numbers.release: "numbers:write",
        dc.lines.get: "lines:read",
        dc.lines.update: "lines:write",
        dc.inbound.answer: "calls:write",
        dc.messages.send: "messages:write",
        dc.messages.get: "messages:read",
        dc.messages.list: "messages:read",
        dc.message_templates.create: "templates:write",
        dc.message_templates.update: "templates:write",
        dc.message_templates.archive: "templates:write",
        dc.message_templates.get: "messages:read",
        dc.message_templates.list: "messages:read",
        dc.message_templates.versions: "messages:read",
        dc.message_templates.version: "messages:read",
    }
    assert {use_case: required_scope(use_case) for use_case in use_cases} == use_cases
    assert set(use_cases.values()) == set(ALL_SCOPES)
