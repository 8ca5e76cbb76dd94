"""``dialcues numbers search|hold|extend-hold|drop-hold|assign|release|list`` and
``dialcues orgs set-carrier`` (``telephony.md`` §1.5, §2, §6.6).

The CLI acts as the operator: every command calls the core's operator use case (``*_for``: an
organization id, no user, so a hold taken here records none) with the wire-shaped request of
``/numbers``; the core validates every field and answers the contract's errors. ``--json``
prints the REST objects (a list for ``search`` and ``list``).

``assign --wait`` runs the provisioner's steps in this process (no ``serve`` or ``worker`` need
be running) until the number is ``active`` or ``failed``: it exits 0 when active, 1 when
failed or still pending after ``--timeout`` seconds, printing the number either way.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

from dialcues_cli.main import emit, open_core
from dialcues_core import Dialcues
from dialcues_core.adapters.peewee.webhooks import PeeweeOutboxStore
from dialcues_core.config import Settings
from dialcues_core.numbers.carrier_settings import CARRIER_FIELD_NAMES, masked
from dialcues_core.numbers.model import NumberRecord, NumberStatus
from dialcues_core.numbers.provisioning import Provisioning
from dialcues_core.numbers.rendering import number_payload, offer_payload
from dialcues_core.webhooks.outbox import Outbox

Common = Callable[[argparse.ArgumentParser], argparse.ArgumentParser]
Json = Mapping[str, Any]

SETTLED: Final = frozenset({NumberStatus.ACTIVE, NumberStatus.FAILED})
"""Where an assign ends: the line exists, or a step failed."""
WAIT_SECONDS: Final = 120.0
POLL_SECONDS: Final = 0.2
"""How often ``assign --wait`` looks for due steps: short, as an operator is watching."""
_SEARCH_FLAGS: Final = ("country", "npa", "nxx", "locality", "region", "rate_center")
_CARRIER_FLAGS: Final = CARRIER_FIELD_NAMES


# ----------------------------------------------------------------------------- grammar
def add_commands(commands: Any, common: Common) -> None:
    """Register ``numbers search|hold|extend-hold|drop-hold|assign|release|list``."""
    sub = commands.add_parser("numbers", help="the organization's phone numbers").add_subparsers(
        dest="action", required=True
    )
    _search(common(sub.add_parser("search", help="the carrier's available local numbers")))
    for name, handler, help_text in (
        ("hold", numbers_hold, "hold a number for 30 minutes"),
        ("extend-hold", numbers_extend_hold, "extend a hold once"),
        ("drop-hold", numbers_drop_hold, "drop a hold (the number is free again)"),
        ("release", numbers_release, "release a number the organization owns"),
    ):
        _one_number(common(sub.add_parser(name, help=help_text))).set_defaults(handler=handler)
    assign = _one_number(common(sub.add_parser("assign", help="order a held number")))
    assign.add_argument("--label", help="the new line's label")
    assign.add_argument("--default", action="store_true", help="make the line the default")
    assign.add_argument("--wait", action="store_true", help="return once active or failed")
    assign.add_argument("--timeout", type=float, default=WAIT_SECONDS, metavar="SECONDS")
    assign.set_defaults(handler=numbers_assign)
    listing = common(sub.add_parser("list", help="the organization's records, newest first"))
    listing.add_argument("--org", required=True)
    listing.set_defaults(handler=numbers_list)


def _search(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--org", required=True)
    parser.add_argument("--country", required=True, metavar="CC")
    parser.add_argument("--npa", metavar="N", help="NANP area code")
    parser.add_argument("--nxx", metavar="N", help="NANP exchange (needs --npa)")
    parser.add_argument("--locality", metavar="L")
    parser.add_argument("--region", metavar="R")
    parser.add_argument("--rate-center", metavar="RC")
    parser.add_argument("--features", metavar="a,b", help="of voice, sms, mms (default voice)")
    parser.add_argument("--limit", metavar="N", help="1-100 (default 20)")
    parser.set_defaults(handler=numbers_search)


def _one_number(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--org", required=True)
    parser.add_argument("number", metavar="NUMBER", help="E.164, e.g. +14155550142")
    return parser


def add_org_commands(sub: Any, common: Common) -> None:
    """Register ``orgs set-carrier`` on the ``orgs`` subparsers."""
    carrier = common(sub.add_parser("set-carrier", help="set the organization's carrier"))
    carrier.add_argument("--org", required=True)
    carrier.add_argument("--carrier", required=True, metavar="simulated|telnyx")
    carrier.add_argument("--api-key", metavar="KEY", help="write-only; printed masked")
    carrier.add_argument("--public-key", metavar="BASE64", help="the webhook signing key")
    carrier.add_argument("--messaging-profile-id", metavar="ID")
    carrier.add_argument("--base-url", metavar="URL", help="default https://api.telnyx.com/v2")
    carrier.add_argument("--ten-dlc-campaign-id", metavar="ID")
    carrier.add_argument("--rcs-agent-id", metavar="ID")
    carrier.add_argument("--help-text", metavar="T", help="20-320 characters; {org}: its name")
    carrier.add_argument("--opt-out-text", metavar="T")
    carrier.add_argument("--opt-in-text", metavar="T")
    carrier.set_defaults(handler=orgs_set_carrier)


# ----------------------------------------------------------------------------- handlers
def orgs_set_carrier(args: argparse.Namespace, settings: Settings) -> int:
    """Set an organization's carrier; print it masked, with the webhook URL to set."""
    with _core(settings) as dc:
        stored = dc.numbers.set_carrier(args.org, _given(args, _CARRIER_FLAGS))
        shown = masked(stored, args.org, dc.settings.public_url)
    settled = [f"organization {args.org} now uses the {shown['carrier']} carrier"]
    skip = ("carrier", "webhook_url")
    settled += [f"  {k}: {v}" for k, v in shown.items() if v is not None and k not in skip]
    settled.append(f"webhook URL (set it at the carrier): {shown['webhook_url']}")
    return emit(args, shown, "\n".join(settled))


def numbers_search(args: argparse.Namespace, settings: Settings) -> int:
    """Print the carrier's available numbers no other organization claims, by number."""
    with _core(settings) as dc:
        found = dc.numbers.search_for(args.org, _search_params(args))
    shown = [offer_payload(o) for o in found]
    return emit(args, shown, "\n".join(_offer_line(o) for o in shown) or "no numbers found")


def numbers_hold(args: argparse.Namespace, settings: Settings) -> int:
    """Hold a number; print the hold (or the organization's own, unchanged)."""
    with _core(settings) as dc:
        record, created = dc.numbers.hold_for(args.org, {"number": args.number}).run()
        shown = number_payload(record, dc.clock.now())
    prefix = "" if created else "already held: "
    return emit(args, shown, prefix + _number_line(shown))


def numbers_extend_hold(args: argparse.Namespace, settings: Settings) -> int:
    """Extend the organization's hold once; print the number with its new expiry."""
    with _core(settings) as dc:
        record = dc.numbers.extend_for(args.org, args.number).run()
        return _emit_number(args, dc, record)


def numbers_drop_hold(args: argparse.Namespace, settings: Settings) -> int:
    """Drop the organization's hold; print the number, now released."""
    with _core(settings) as dc:
        return _emit_number(args, dc, dc.numbers.drop_hold_for(args.org, args.number))


def numbers_assign(args: argparse.Namespace, settings: Settings) -> int:
    """Assign a held number (``ordering``); with ``--wait``, provision it here until settled."""
    body: dict[str, Any] = {"label": args.label} if args.label is not None else {}
    if args.default:
        body["default"] = True
    with _core(settings) as dc:
        record = dc.numbers.assign_for(args.org, args.number, body or None)
        if not args.wait:
            return _emit_number(args, dc, record)
        record = _provision(dc, args.org, args.number, args.timeout)
        _emit_number(args, dc, record)
    return 0 if record.status is NumberStatus.ACTIVE else _unsettled(record, args.timeout)


def numbers_release(args: argparse.Namespace, settings: Settings) -> int:
    """Release a number the organization owns: its line goes now, the carrier's after."""
    with _core(settings) as dc:
        return _emit_number(args, dc, dc.numbers.release_for(args.org, args.number))


def numbers_list(args: argparse.Namespace, settings: Settings) -> int:
    """Print every record of the organization, newest first."""
    with _core(settings) as dc:
        now = dc.clock.now()
        shown = [number_payload(r, now) for r in _every(dc, args.org)]
    return emit(args, shown, "\n".join(_number_line(n) for n in shown) or "no numbers")


# ----------------------------------------------------------------------------- helpers
@contextlib.contextmanager
def _core(settings: Settings) -> Iterator[Dialcues]:
    """The core, closed after: a carrier's HTTP session and loop end with the command."""
    dc = open_core(settings)
    try:
        yield dc
    finally:
        dc.close()


def _given(args: argparse.Namespace, names: tuple[str, ...]) -> dict[str, Any]:
    """The flags given, so that the core's defaults apply to the others."""
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def _search_params(args: argparse.Namespace) -> dict[str, Any]:
    """REST's ``GET /numbers/search`` parameters, as text (the core parses them)."""
    return _given(args, (*_SEARCH_FLAGS, "features", "limit"))


def _emit_number(args: argparse.Namespace, dc: Dialcues, record: NumberRecord) -> int:
    shown = number_payload(record, dc.clock.now())
    return emit(args, shown, _number_line(shown))


def _every(dc: Dialcues, org_id: str) -> list[NumberRecord]:
    """Every page of the listing: an operator asked for the list, not its first screen."""
    items: list[NumberRecord] = []
    page = 1
    while True:
        found = dc.numbers.list_for(org_id, {"page_size": "100", "page": str(page)})
        items.extend(found.items)
        if page >= found.total_pages:
            return items
        page += 1


def _provision(dc: Dialcues, org_id: str, number: str, timeout: float) -> NumberRecord:
    """Run the due provisioning steps here until the number settles or ``timeout`` passes.

    No provisioner need run beside this command (``serve``/``worker`` may be down): this
    process takes due steps like one, under the same 60 s lease, so a provisioner running
    elsewhere simply does the other half. Only due ids are advanced: ``advance`` on a record
    not yet due would hold its lease for nothing.
    """
    outbox = Outbox(PeeweeOutboxStore(dc.db), dc.clock)
    provisioning = Provisioning(dc.numbers.deps, outbox)
    deadline = time.monotonic() + timeout
    while True:
        for number_id in provisioning.due():
            provisioning.advance(number_id)
        record = dc.numbers.get_for(org_id, number)
        if record.status in SETTLED or time.monotonic() >= deadline:
            return record
        time.sleep(POLL_SECONDS)


def _unsettled(record: NumberRecord, timeout: float) -> int:
    """Say why ``assign --wait`` did not end ``active``; return the exit status 1."""
    if record.status is NumberStatus.FAILED:
        reason = record.failure.code if record.failure else "unknown"
        sys.stderr.write(f"dialcues: the assign of {record.number} failed ({reason})\n")
    else:
        sys.stderr.write(
            f"dialcues: {record.number} is still {record.status.value} after {timeout:g} s;"
            " `dialcues numbers list` shows it once done\n"
        )
    return 1


# ----------------------------------------------------------------------------- rendering
def _number_line(shown: Json) -> str:
    line = f"{shown['id']}  {shown['number']}  {shown['status']}"
    if shown["status"] == "held":
        extended = " (extended)" if shown["hold_extended"] else ""
        line += f"  until {shown['hold_expires_at']}{extended}"
    if shown["line_id"] is not None:
        line += f"  line {shown['line_id']}"
    failure = shown["failure"]
    if failure is not None:
        line += f"  {failure['step']} failed: {failure['code']} {failure['message']}".rstrip()
    return line + f"  {_place(shown)}  {','.join(shown['features'])}"


def _offer_line(shown: Json) -> str:
    cost = shown["cost"]
    price = f"{cost['monthly']}/month + {cost['upfront']} upfront {cost['currency']}"
    return f"{shown['number']}  {_place(shown)}  {','.join(shown['features'])}  {price}"


def _place(shown: Json) -> str:
    place = ", ".join(p for p in (shown["locality"], shown["region"]) if p) or shown["country"]
    return f"{place} ({shown['rate_center']})" if shown["rate_center"] else place
