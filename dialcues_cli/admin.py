"""Administration commands: organizations, users, API keys, outbound lines, migrate."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from dialcues_cli import lines as line_commands
from dialcues_cli import numbers, policy
from dialcues_cli.main import emit, open_core
from dialcues_cli.render import jsonable
from dialcues_core.adapters.peewee import database
from dialcues_core.config import Settings

Common = Callable[[argparse.ArgumentParser], argparse.ArgumentParser]


def add_commands(commands: Any, common: Common) -> None:
    """Register ``migrate``, ``orgs``, ``users``, ``keys`` and ``lines``."""
    common(commands.add_parser("migrate", help="apply schema migrations")).set_defaults(
        handler=migrate
    )
    _orgs(
        commands.add_parser("orgs", help="organizations").add_subparsers(
            dest="action", required=True
        ),
        common,
    )
    _users(
        commands.add_parser("users", help="users").add_subparsers(dest="action", required=True),
        common,
    )
    _keys(
        commands.add_parser("keys", help="API keys").add_subparsers(dest="action", required=True),
        common,
    )
    _lines(
        commands.add_parser("lines", help="lines: add, set a route, ring").add_subparsers(
            dest="action", required=True
        ),
        common,
    )
    workers = commands.add_parser("workers", help="dispatching processes (heartbeats)")
    listing = common(workers.add_subparsers(dest="action", required=True).add_parser("list"))
    listing.set_defaults(handler=workers_list)


def migrate(args: argparse.Namespace, settings: Settings) -> int:
    """Apply pending migrations (and follow a tzdata update); print the version reached."""
    dc = open_core(settings)
    version = database.current_version(dc.db)
    never = dc.reminders.count_never_inside()
    return emit(
        args,
        {"version": version, "reminders_never_inside": never},
        f"schema version {version}; {never} scheduled reminders never inside the calling window",
    )


# ----------------------------------------------------------------------------- orgs
def _orgs(sub: Any, common: Common) -> None:
    create = common(sub.add_parser("create", help="create an organization"))
    create.add_argument("--name", required=True)
    create.set_defaults(handler=orgs_create)
    provider = common(sub.add_parser("set-provider", help="set the voice-provider account"))
    provider.add_argument("--org", required=True)
    provider.add_argument("--provider", required=True, choices=["vapi"])
    provider.add_argument("--api-key", required=True)
    provider.add_argument("--assistant-id", help="optional: used by no call (inbound routes)")
    provider.add_argument("--webhook-secret", required=True)
    provider.add_argument("--base-url")
    provider.add_argument("--concurrency", type=int)
    provider.add_argument("--retry-delays")
    provider.add_argument("--model", help="PROVIDER:MODEL (default openai:gpt-4.1-mini)")
    provider.add_argument("--voice", help="a Vapi voice object as JSON (default: Vapi's)")
    provider.add_argument("--transcriber", help="a Vapi transcriber object as JSON")
    provider.add_argument(
        "--telnyx-credential-id", metavar="ID", help="the Vapi credential of the Telnyx API key"
    )
    provider.set_defaults(handler=orgs_set_provider)
    policy.add_org_commands(sub, common)
    numbers.add_org_commands(sub, common)


def orgs_create(args: argparse.Namespace, settings: Settings) -> int:
    """Create an organization."""
    org = open_core(settings).accounts.create_organization(args.name)
    return emit(args, org, f"organization {org.id} ({org.name})")


def orgs_set_provider(args: argparse.Namespace, settings: Settings) -> int:
    """Set an organization's provider settings; secrets are printed masked."""
    fields = {
        "provider": args.provider,
        "api_key": args.api_key,
        "assistant_id": args.assistant_id,
        "webhook_secret": args.webhook_secret,
        "base_url": args.base_url,
        "concurrency": args.concurrency,
        "retry_delays": args.retry_delays,
        "model": args.model,
        "voice": args.voice,
        "transcriber": args.transcriber,
        "telnyx_credential_id": args.telnyx_credential_id,
    }
    org = open_core(settings).accounts.set_provider(args.org, fields)
    assert org.provider is not None
    return emit(args, org.provider.masked(), f"organization {org.id} now calls through vapi")


# ----------------------------------------------------------------------------- users
def _users(sub: Any, common: Common) -> None:
    create = common(sub.add_parser("create", help="create a user"))
    create.add_argument("--org", required=True)
    create.add_argument("--email", required=True)
    create.add_argument("--name", required=True)
    create.set_defaults(handler=users_create)


def users_create(args: argparse.Namespace, settings: Settings) -> int:
    """Create a user in an organization."""
    user = open_core(settings).accounts.create_user(args.org, args.email, args.name)
    return emit(args, user, f"user {user.id} ({user.email})")


# ----------------------------------------------------------------------------- keys
def _keys(sub: Any, common: Common) -> None:
    create = common(sub.add_parser("create", help="create an API key (shown once)"))
    create.add_argument("--user", required=True)
    create.add_argument("--name")
    create.add_argument("--expires-at", help="RFC 3339 with an offset")
    create.add_argument("--scopes", help="comma-separated; default: all")
    create.set_defaults(handler=keys_create)
    listing = common(sub.add_parser("list", help="list a user's keys"))
    listing.add_argument("--user", required=True)
    listing.set_defaults(handler=keys_list)
    revoke = common(sub.add_parser("revoke", help="revoke a key"))
    revoke.add_argument("key_id")
    revoke.set_defaults(handler=keys_revoke)


def keys_create(args: argparse.Namespace, settings: Settings) -> int:
    """Create an API key and print it once."""
    scopes = args.scopes.split(",") if args.scopes is not None else None
    issued = open_core(settings).accounts.create_api_key(
        args.user, name=args.name, expires_at=args.expires_at, scopes=scopes
    )
    return emit(args, issued, f"{issued.raw}\n(key {issued.key.id}; shown once, store it now)")


def keys_list(args: argparse.Namespace, settings: Settings) -> int:
    """List a user's keys (prefix and last 4 only)."""
    found = open_core(settings).accounts.list_api_keys(args.user)
    lines = [
        f"{k.id}  {k.prefix}…{k.last4}  created {k.created_at:%Y-%m-%d}"
        + ("  revoked" if k.revoked_at else "")
        for k in found
    ]
    return emit(args, found, "\n".join(lines) or "no keys")


def keys_revoke(args: argparse.Namespace, settings: Settings) -> int:
    """Revoke a key."""
    key = open_core(settings).accounts.revoke_api_key(args.key_id)
    return emit(args, key, f"key {key.id} revoked")


# ----------------------------------------------------------------------------- lines
def _lines(sub: Any, common: Common) -> None:
    add = common(sub.add_parser("add", help="add an outbound line"))
    add.add_argument("--org", required=True)
    add.add_argument("--provider", required=True, choices=["simulated", "vapi"])
    add.add_argument("--number", required=True)
    add.add_argument("--provider-line-id")
    add.add_argument("--label")
    add.add_argument("--default", action="store_true")
    add.add_argument("--features", metavar="voice,sms,mms", help="what it can do (default voice)")
    add.add_argument("--carrier", choices=["simulated", "telnyx"], help="the carrier of its texts")
    add.set_defaults(handler=lines_add)
    line_commands.add_commands(sub, common)


def lines_add(args: argparse.Namespace, settings: Settings) -> int:
    """Add an outbound line to an organization (``--features`` comma-separated)."""
    features: dict[str, Any] = (
        {"features": tuple(args.features.split(","))} if args.features else {}
    )
    line = open_core(settings).accounts.add_line(
        args.org,
        args.provider,
        args.number,
        args.provider_line_id,
        args.label,
        args.default,
        carrier=args.carrier,
        **features,
    )
    return emit(args, line, f"line {line.id} ({line.phone_number}, {line.provider.value})")


# ----------------------------------------------------------------------------- workers
def workers_list(args: argparse.Namespace, settings: Settings) -> int:
    """Print every dispatching process seen in the last day (host, pid, heartbeat, claims)."""
    dc = open_core(settings)
    now = dc.clock.now()
    found = [{**jsonable(w), "alive": w.alive(now)} for w in dc.operations.workers()]
    lines = [
        f"{w['id']}  {'alive' if w['alive'] else 'gone '}  {w['host']} pid {w['pid']}"
        f"  last seen {w['last_seen_at']}  last claim {w['last_claim_at'] or '-'}"
        for w in found
    ]
    return emit(args, found, "\n".join(lines) or "no dispatching process has been seen")
