"""``dialcues clients``: create, list and revoke OAuth clients (client-credentials grant).

``clients create`` prints the client's id and secret — the secret this once, never again;
``list`` and ``revoke`` print the stored client, which holds no secret at all.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from dialcues_cli import render
from dialcues_cli.main import emit, open_core
from dialcues_core.accounts.oauth import OAuthClient
from dialcues_core.config import Settings

Common = Callable[[argparse.ArgumentParser], argparse.ArgumentParser]


def add_commands(commands: Any, common: Common) -> None:
    """Register ``clients create|list|revoke``."""
    sub = commands.add_parser("clients", help="OAuth clients").add_subparsers(
        dest="action", required=True
    )
    create = common(sub.add_parser("create", help="create an OAuth client (secret shown once)"))
    create.add_argument("--user", required=True)
    create.add_argument("--name")
    create.add_argument("--scopes", help="comma-separated; default: all")
    create.set_defaults(handler=clients_create)
    listing = common(sub.add_parser("list", help="list a user's OAuth clients"))
    listing.add_argument("--user", required=True)
    listing.set_defaults(handler=clients_list)
    revoke = common(sub.add_parser("revoke", help="revoke an OAuth client and its tokens"))
    revoke.add_argument("client_id")
    revoke.set_defaults(handler=clients_revoke)


def clients_create(args: argparse.Namespace, settings: Settings) -> int:
    """Create a client and print its secret once."""
    scopes = args.scopes.split(",") if args.scopes is not None else None
    issued = open_core(settings).oauth.create_client(args.user, name=args.name, scopes=scopes)
    shown = {**client_facts(issued.client), "client_secret": issued.client_secret}
    human = (
        f"client_id {issued.client_id}\nclient_secret {issued.client_secret}\n"
        "(the secret is shown once: store it now)"
    )
    return emit(args, shown, human)


def clients_list(args: argparse.Namespace, settings: Settings) -> int:
    """List a user's clients (never their secrets)."""
    found = open_core(settings).oauth.list_clients(args.user)
    lines = [
        f"{c.id}  {c.name or '-'}  {' '.join(c.scopes)}  created {c.created_at:%Y-%m-%d}"
        + ("  revoked" if c.revoked_at else "")
        for c in found
    ]
    return emit(args, [client_facts(c) for c in found], "\n".join(lines) or "no clients")


def clients_revoke(args: argparse.Namespace, settings: Settings) -> int:
    """Revoke a client; its secret and tokens stop working."""
    client = open_core(settings).oauth.revoke_client(args.client_id)
    return emit(args, client_facts(client), f"client {client.id} revoked")


def client_facts(client: OAuthClient) -> dict[str, Any]:
    """Return what may be printed of a stored client: everything but the secret's hash."""
    return {
        "client_id": client.id,
        "user_id": client.user_id,
        "organization_id": client.organization_id,
        "name": client.name,
        "scopes": list(client.scopes),
        "created_at": render.jsonable(client.created_at),
        "revoked_at": render.jsonable(client.revoked_at),
    }
