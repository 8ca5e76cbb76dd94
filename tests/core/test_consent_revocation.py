"""A revocation decided on a stale read changes nothing (``responsible-calling.md`` §8):
``OptOuts.revoke`` reads the record again once it holds the number's lock, so a consent an
opt-out revoked meanwhile gets no second ``consent.revoked`` event with another reason."""

from __future__ import annotations

from support.platform import Tenant

from dialcues_core import Dialcues
from dialcues_core.audit.model import Actor
from dialcues_core.consent.model import Source

NUMBER = "+14155550123"


def test_a_revocation_racing_an_opt_out_is_recorded_once(dc: Dialcues, tenant: Tenant) -> None:
    org = tenant.org.id
    consent = dc.consents.create(
        tenant.principal,
        {
            "phone_number": NUMBER,
            "type": "express",
            "purpose": "informational",
            "source": "verbal",
            "text": "Yes, call me.",
            "captured_at": "2026-03-01T10:00:00Z",
        },
    )
    stale = dc.consents.get(tenant.principal, consent.id)  # read before the opt-out
    admin = Actor("admin", "ops")
    dc.suppressions.add_for(org, {"phone_number": NUMBER, "reason": "complaint"}, admin)
    opt_outs = dc.suppressions.opt_outs
    with dc.transactions.atomic(), opt_outs.outbox.collecting():
        revoked = opt_outs.revoke(stale, admin, "by mail")
    assert revoked.revocation is not None
    assert revoked.revocation.reason == "complaint"
    events = dc.audit.list_for(org, {"action": "consent.revoked"}).items
    assert [e.detail["reason"] for e in events] == ["complaint"]
    (entry,) = dc.suppressions.list_for(org, {}).items
    assert (entry.reason, entry.source) == ("complaint", Source("admin", "ops"))
