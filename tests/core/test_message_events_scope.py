"""Subscribing to message events needs ``messages:read`` (``telephony.md`` §6.3): their payload
is the message — its recipient and text — which only that scope reads. ``message.received``
is the spec's case; ``message.sent``/``delivered``/``failed`` follow it (the organization's
keyword replies reach every subscription of the organization that lists them)."""

from __future__ import annotations

import dataclasses

import pytest

from dialcues_core import Dialcues
from dialcues_core.errors import InsufficientScope

HOOKS = "https://93.184.215.14/hooks"


@pytest.mark.parametrize(
    "event", ["message.sent", "message.delivered", "message.failed", "message.received"]
)
def test_listing_a_message_event_needs_messages_read(dc: Dialcues, event: str) -> None:
    org = dc.accounts.create_organization("Acme")
    user = dc.accounts.create_user(org.id, "jane@example.com", "Jane")
    full = dc.as_user(user.id)
    narrow = dataclasses.replace(full, scopes=frozenset({"webhooks:manage", "messages:write"}))

    with pytest.raises(InsufficientScope) as refused:
        dc.webhooks.create(narrow, {"url": HOOKS, "events": [event]})
    assert refused.value.details == {"scope": "messages:read"}
    assert dc.webhooks.create(full, {"url": HOOKS, "events": [event]}) is not None
