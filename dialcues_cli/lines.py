"""``dialcues lines set-route`` and ``dialcues lines ring`` (``telephony.md`` §3.1, §3.5, §6.6).

The CLI acts as the operator: ``set-route`` calls the core's operator use case
(``lines.update_for``) with REST's ``PATCH /lines/{id}`` body ``{"route": <the JSON given>}``,
so the core validates the route and answers the contract's errors (``--route null`` clears it:
the line then refuses inbound calls). It prints the line, as ``lines add`` does.

``ring`` runs the core path of an inbound call on the line (``Dialcues.ring_line``: the route,
the inbound execution, its events, the ``external`` wait) and, after
``DIALCUES_SIMULATED_DELAY``, ends the call with the route's ended reason; it prints the ended
execution (``--json``: the REST execution object). A line without a route refuses the call and
records nothing: the command says so, prints ``null`` with ``--json``, and exits 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping
from typing import Any

from dialcues_cli.main import emit, open_core
from dialcues_core.accounts.model import OutboundLine
from dialcues_core.calls.model import Execution
from dialcues_core.calls.rendering import execution_payload
from dialcues_core.config import Settings
from dialcues_core.errors import ValidationFailed
from dialcues_core.inbound.model import Answer

Common = Callable[[argparse.ArgumentParser], argparse.ArgumentParser]


def add_commands(sub: Any, common: Common) -> None:
    """Register ``set-route`` and ``ring`` on the ``lines`` subparsers."""
    route = common(sub.add_parser("set-route", help="set how a line answers inbound calls"))
    route.add_argument("line_id", metavar="LINE_ID")
    route.add_argument("--org", required=True)
    route.add_argument(
        "--route",
        required=True,
        metavar="JSON",
        help='a route object, e.g. \'{"type": "reminders_readback"}\'; null clears it',
    )
    route.set_defaults(handler=lines_set_route)
    ring = common(sub.add_parser("ring", help="ring a line as a caller would (simulated call)"))
    ring.add_argument("line_id", metavar="LINE_ID")
    ring.add_argument("--org", required=True)
    ring.add_argument("--from", dest="caller", required=True, metavar="E164")
    ring.set_defaults(handler=lines_ring)


# ----------------------------------------------------------------------------- handlers
def lines_set_route(args: argparse.Namespace, settings: Settings) -> int:
    """Set (or, with ``null``, clear) a line's inbound route; print the line."""
    route = _json_route(args.route)
    dc = open_core(settings)
    try:
        line = dc.lines.update_for(args.org, args.line_id, {"route": route})
    finally:
        dc.close()
    return emit(args, line, _line_text(line))


def lines_ring(args: argparse.Namespace, settings: Settings) -> int:
    """Ring a line from ``--from``; print the ended inbound execution (exit 1: refused)."""
    dc = open_core(settings)
    try:
        answer, execution = dc.ring_line(args.org, args.line_id, args.caller)
    finally:
        dc.close()
    if execution is None:
        return _refused(args, answer)
    shown = execution_payload(execution)
    return emit(args, shown, _execution_text(execution, answer))


# ----------------------------------------------------------------------------- helpers
def _json_route(text: str) -> Any:
    """The ``--route`` value parsed as JSON (the core judges the route itself)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationFailed.one("route", f"must be JSON ({exc.msg})") from None


def _refused(args: argparse.Namespace, answer: Answer) -> int:
    """Say the line refused the call and nothing was recorded; return the exit status 1."""
    said = f'refused: "{answer.error}" (the line has no route); nothing recorded'
    if args.json:
        print("null")
        sys.stderr.write(f"dialcues: {said}\n")
    else:
        print(said)
    return 1


def _line_text(line: OutboundLine) -> str:
    if line.route is None:
        return f"line {line.id} ({line.phone_number}) has no route: it refuses inbound calls"
    return f"line {line.id} ({line.phone_number}) answers with {_route_text(line.route)}"


def _route_text(route: Mapping[str, Any]) -> str:
    return json.dumps(dict(route), sort_keys=True)


def _execution_text(execution: Execution, answer: Answer) -> str:
    route = _route_text(execution.route) if execution.route is not None else "no route"
    lines = [
        f"execution {execution.id} {execution.direction} {execution.status.value}"
        f"  from {execution.from_number or 'withheld'} to {execution.to}"
        f"  line {execution.line_id}  route {route}  ({execution.ended_reason or '-'})"
    ]
    said = answer.opening or answer.error
    if said:
        lines.append(f'the caller heard: "{said}"')
    return "\n".join(lines)
