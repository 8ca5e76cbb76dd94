"""``dialcues deprecations list``: the deprecation registry (``telephony.md`` §5).

Prints what the public API will stop doing and from when — the same registry as REST's
``GET /api/public/v1/deprecations`` and gRPC's ``DeprecationService.ListDeprecations`` —
one entry a line; ``--json`` prints their body (``policy`` and ``items``). Needs no
database.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from dialcues_cli.main import emit
from dialcues_core.config import Settings
from dialcues_core.deprecations import REGISTRY, Deprecation, listing

Common = Callable[[argparse.ArgumentParser], argparse.ArgumentParser]
NONE_LINE = "no deprecations: nothing in v1 is announced to stop working"


def add_commands(commands: Any, common: Common) -> None:
    """Register ``deprecations list`` (its ``--database-url`` is accepted and unused)."""
    sub = commands.add_parser("deprecations", help="the deprecation registry").add_subparsers(
        dest="action", required=True
    )
    shown = common(sub.add_parser("list", help="what the API will stop doing, and from when"))
    shown.set_defaults(handler=deprecations_list)


def deprecations_list(args: argparse.Namespace, settings: Settings) -> int:
    """Print the production registry."""
    return show(args, REGISTRY)


def show(args: argparse.Namespace, registry: tuple[Deprecation, ...]) -> int:
    """Print ``registry``: one line an entry, or with ``--json`` the listing body."""
    human = "\n".join(describe(entry) for entry in registry) or NONE_LINE
    return emit(args, listing(registry), human)


def describe(entry: Deprecation) -> str:
    """Return one entry as a line: id, kind, target, dates, replacement."""
    instead = f"use {entry.replacement}" if entry.replacement else "no replacement"
    removed = "  (removed)" if entry.removed else ""
    return (
        f"{entry.id}  {entry.kind}  {entry.target}  announced {entry.announced_at}"
        f"  sunset {entry.sunset_at}  {instead}{removed}"
    )
