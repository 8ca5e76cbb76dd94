"""Building blocks of every suite: test settings and tenants (organization, user, line, key)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

from dialcues_core import Dialcues
from dialcues_core.accounts.model import Organization, OutboundLine, Principal, User
from dialcues_core.config import Settings


def settings_for(url: str, **changes: object) -> Settings:
    """Settings for tests: rate limits, the calling window and frequency caps off (as
    ``responsible-calling.md`` §19 asks of tests not about them), a fast simulated dialer."""
    base = Settings(
        database_url=url,
        rate_limits=None,
        simulated_delay=0.05,
        calling_window="off",
        frequency_caps=(None, None),
    )
    return base.replace(**changes)


@dataclass
class Tenant:
    """An organization with one user, one simulated default line and one API key."""

    org: Organization
    user: User
    line: OutboundLine
    api_key: str
    principal: Principal


TenantFactory = Callable[..., Tenant]
_emails = itertools.count(1)


def make_tenant(platform: Dialcues, org: Organization | None = None, email: str = "") -> Tenant:
    """Create a tenant (a new organization unless ``org`` is given)."""
    accounts = platform.accounts
    if org is None:
        org = accounts.create_organization("Acme")
        line = accounts.add_line(org.id, "simulated", "+14155550100", label="Main")
    else:
        line = accounts.list_lines(org.id)[0]
    email = email or f"user{next(_emails)}@example.com"
    user = accounts.create_user(org.id, email, "Jane")
    issued = accounts.create_api_key(user.id, name="test")
    return Tenant(org, user, line, issued.raw, platform.authenticate(issued.raw))
