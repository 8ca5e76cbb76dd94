"""The ``dialcues`` command: administration, ``migrate``, ``serve`` and ``worker``.

This package is the process-level composition root: it reads the settings, opens the core and
starts the facades (REST, gRPC) and the dispatcher. Exit status 0 on success; 2 with a
one-line message (carrying the contract's code) on bad arguments or a typed error.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from dialcues_cli import render
from dialcues_core import Dialcues
from dialcues_core.config import Settings, deprecation_warnings
from dialcues_core.errors import DialcuesError

Command = Callable[[argparse.Namespace, Settings], int]
log = logging.getLogger("dialcues")


class _Parser(argparse.ArgumentParser):
    """An argument parser that exits 2 with one line instead of a usage dump."""

    def error(self, message: str) -> Any:
        """Print one line and exit 2."""
        sys.stderr.write(f"dialcues: validation_error: {message}\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    """Return the full command-line grammar of ``configuration.md``."""
    parser = _Parser(prog="dialcues", description="Phone people when they asked to be reminded.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    from dialcues_cli import (
        admin,
        clients,
        consent,
        deprecations,
        messages,
        numbers,
        policy,
        processes,
    )

    processes.add_commands(commands, _common)
    admin.add_commands(commands, _common)
    clients.add_commands(commands, _common)
    policy.add_commands(commands, _common)
    consent.add_commands(commands, _common)
    numbers.add_commands(commands, _common)
    messages.add_commands(commands, _common)
    deprecations.add_commands(commands, _common)
    return parser


def _common(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
    sub.add_argument("--database-url", help="sqlite:///PATH or postgresql://user@host:port/db")
    sub.add_argument("--json", action="store_true", help="print machine-readable JSON")
    return sub


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``dialcues`` command; return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env(os.environ).replace(database_url=args.database_url)
        configure_logging(settings)
        for warning in deprecation_warnings(os.environ):
            log.warning(warning)
        handler: Command = args.handler
        return handler(args, settings)
    except DialcuesError as exc:
        sys.stderr.write(f"dialcues: {exc.code}: {_one_line(exc)}\n")
        return 2
    except KeyboardInterrupt:
        return 130


def configure_logging(settings: Settings) -> None:
    """Send logs to stderr at ``DIALCUES_LOG_LEVEL`` (every command, so warnings are seen)."""
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )


def _one_line(exc: DialcuesError) -> str:
    fields = (exc.details or {}).get("fields") if exc.details else None
    if fields:
        return "; ".join(f"{name} {problem}" for name, problem in fields.items())
    return exc.message


def open_core(settings: Settings) -> Dialcues:
    """Open (and migrate) the database the settings name."""
    return Dialcues.open(settings=settings)


def emit(args: argparse.Namespace, value: Any, human: str) -> int:
    """Print ``value`` as JSON with ``--json``, else the human line; return 0."""
    if args.json:
        print(json.dumps(render.jsonable(value), indent=2, sort_keys=True))
    else:
        print(human)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
