"""The demo tenant ``dialcues serve`` creates on an empty database."""

from __future__ import annotations

from dataclasses import dataclass

from dialcues_core import Dialcues
from dialcues_core.audit.model import Actor
from dialcues_core.config import Settings

DEMO_LINE_NUMBER = "+14155550100"
DEMO_POLICY = {
    "caller_name": "Dialcues demo",
    "calling_window": {"start": "00:00", "end": "23:59"},
}
"""responsible-calling §20: the demo names itself and may call at any hour (a simulated line)."""
DEMO_ACTOR = Actor("admin", "demo")
"""Who the demo's ``policy.updated`` audit event names: the operator who ran ``serve``."""


@dataclass(frozen=True)
class DemoTenant:
    """What the demo created, with its raw key."""

    organization_id: str
    user_id: str
    line_id: str
    api_key: str

    def banner(self, settings: Settings) -> str:
        """Return the text printed at start: the key and a ready-to-paste curl line."""
        base = f"http://{settings.host}:{settings.rest_port}/api/public/v1"
        return (
            "\nDialcues demo ready (simulated line, no real calls).\n"
            f"  API key (shown once): {self.api_key}\n"
            f"  Try:  curl -s -H 'Authorization: Bearer {self.api_key}' {base}/me\n"
        )


def seed_demo(dc: Dialcues) -> DemoTenant:
    """Create a demo organization (with its calling policy), user, simulated line and API key."""
    org = dc.accounts.create_organization("Demo")
    dc.policies.update(org.id, DEMO_POLICY, actor=DEMO_ACTOR)
    user = dc.accounts.create_user(org.id, "demo@example.com", "Demo User")
    line = dc.accounts.add_line(org.id, "simulated", DEMO_LINE_NUMBER, label="Demo line")
    issued = dc.accounts.create_api_key(user.id, name="demo")
    return DemoTenant(org.id, user.id, line.id, issued.raw)
