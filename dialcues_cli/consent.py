"""``dialcues suppressions add|list|remove`` and ``dialcues consents add|list|revoke`` (§19).

Each command turns its flags into the wire-shaped request of ``/suppressions`` or ``/consents``
and calls the core's operator use case with the ``--actor`` as an ``admin`` (default ``cli``);
the core validates every field (every problem at once, named as the contract names it) and
writes the audit and webhook events. ``--json`` prints the REST objects.

``consents revoke`` finds the record by its id alone (``--org`` narrows it to one
organization).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from dialcues_cli.main import emit, open_core
from dialcues_core import Dialcues
from dialcues_core.audit.model import Actor
from dialcues_core.config import Settings
from dialcues_core.consent.rendering import consent_payload, suppression_payload
from dialcues_core.kernel.paging import Page

Common = Callable[[argparse.ArgumentParser], argparse.ArgumentParser]
T = TypeVar("T")


def add_commands(commands: Any, common: Common) -> None:
    """Register ``suppressions add|list|remove`` and ``consents add|list|revoke``."""
    _suppressions(
        commands.add_parser("suppressions", help="the suppression (opt-out) list").add_subparsers(
            dest="action", required=True
        ),
        common,
    )
    _consents(
        commands.add_parser("consents", help="consent records").add_subparsers(
            dest="action", required=True
        ),
        common,
    )


def _suppressions(sub: Any, common: Common) -> None:
    add = common(sub.add_parser("add", help="suppress a number (prints the active entry)"))
    add.add_argument("--org", required=True)
    add.add_argument("--number", required=True, metavar="E164")
    add.add_argument("--reason", help="opt_out_keypress, opt_out_voice, … (default: api)")
    add.add_argument("--note")
    add.add_argument("--external-id", help="your own reference, e.g. an SMS message id")
    _actor_flag(add)
    add.set_defaults(handler=suppressions_add)
    listing = common(sub.add_parser("list", help="an organization's entries, newest first"))
    listing.add_argument("--org", required=True)
    listing.add_argument("--status", metavar="active|removed|all", help="default: active")
    listing.set_defaults(handler=suppressions_list)
    remove = common(sub.add_parser("remove", help="remove an entry, with a newer consent"))
    remove.add_argument("--org", required=True)
    remove.add_argument("--number", required=True, metavar="E164")
    remove.add_argument("--consent-id", required=True, metavar="ID")
    _actor_flag(remove)
    remove.set_defaults(handler=suppressions_remove)


def _consents(sub: Any, common: Common) -> None:
    add = common(sub.add_parser("add", help="record a consent"))
    add.add_argument("--org", required=True)
    add.add_argument("--number", required=True, metavar="E164")
    add.add_argument("--type", required=True, metavar="express|express_written")
    add.add_argument("--purpose", required=True, metavar="informational|marketing")
    add.add_argument("--source", required=True, metavar="web_form|verbal|sms_keyword|api|import")
    add.add_argument("--text", required=True, help="the consent language the person saw or heard")
    add.add_argument("--captured-at", required=True, metavar="T", help="RFC 3339, with an offset")
    add.add_argument("--evidence-url", metavar="URL")
    add.add_argument("--evidence-ip", metavar="IP")
    add.add_argument("--evidence-user-agent", metavar="UA")
    _actor_flag(add)
    add.set_defaults(handler=consents_add)
    listing = common(sub.add_parser("list", help="an organization's records, newest first"))
    listing.add_argument("--org", required=True)
    listing.add_argument("--number", metavar="E164")
    listing.set_defaults(handler=consents_list)
    revoke = common(sub.add_parser("revoke", help="revoke a consent (suppresses its number)"))
    revoke.add_argument("consent_id")
    revoke.add_argument("--org", help="only a consent of this organization")
    revoke.add_argument("--note")
    _actor_flag(revoke)
    revoke.set_defaults(handler=consents_revoke)


def _actor_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--actor", default="cli", help="who to name in the audit trail")


# ----------------------------------------------------------------------------- handlers
def suppressions_add(args: argparse.Namespace, settings: Settings) -> int:
    """Suppress a number; print the new entry, or the active one unchanged."""
    actor = _admin(args.actor)
    dc = _open(settings, args.org)
    payload = _given(
        phone_number=args.number, reason=args.reason, note=args.note, external_id=args.external_id
    )
    entry, created = dc.suppressions.add_for(args.org, payload, actor)
    shown = suppression_payload(entry)
    human = _entry_line(shown) if created else f"already suppressed: {_entry_line(shown)}"
    return emit(args, shown, human)


def suppressions_list(args: argparse.Namespace, settings: Settings) -> int:
    """Print every entry of the organization with the status asked (default active)."""
    dc = _open(settings, args.org)
    params = _given(status=args.status)
    found = [suppression_payload(e) for e in _every(dc.suppressions.list_for, args.org, params)]
    return emit(args, found, "\n".join(_entry_line(e) for e in found) or "no suppressions")


def suppressions_remove(args: argparse.Namespace, settings: Settings) -> int:
    """Remove the number's active entry, given a newer active consent; print it."""
    actor = _admin(args.actor)
    dc = _open(settings, args.org)
    entry = dc.suppressions.remove_for(args.org, args.number, args.consent_id, actor)
    shown = suppression_payload(entry)
    return emit(args, shown, _entry_line(shown))


def consents_add(args: argparse.Namespace, settings: Settings) -> int:
    """Record a consent; print the record."""
    actor = _admin(args.actor)
    dc = _open(settings, args.org)
    evidence = _given(
        url=args.evidence_url, ip=args.evidence_ip, user_agent=args.evidence_user_agent
    )
    payload = {
        "phone_number": args.number,
        "type": args.type,
        "purpose": args.purpose,
        "source": args.source,
        "text": args.text,
        "captured_at": args.captured_at,
        **({"evidence": evidence} if evidence else {}),
    }
    shown = consent_payload(dc.consents.create_for(args.org, payload, actor))
    return emit(args, shown, _consent_line(shown))


def consents_list(args: argparse.Namespace, settings: Settings) -> int:
    """Print every consent record of the organization (``--number``: of one number)."""
    dc = _open(settings, args.org)
    params = _given(phone_number=args.number)
    found = [consent_payload(c) for c in _every(dc.consents.list_for, args.org, params)]
    return emit(args, found, "\n".join(_consent_line(c) for c in found) or "no consents")


def consents_revoke(args: argparse.Namespace, settings: Settings) -> int:
    """Revoke a consent (its number is suppressed, reason ``api``); print the record."""
    actor = _admin(args.actor)
    dc = open_core(settings)
    payload = _given(note=args.note) or None
    record = dc.consents.revoke_for(args.org, args.consent_id, payload, actor)
    shown = consent_payload(record)
    return emit(args, shown, _consent_line(shown))


def _open(settings: Settings, org_id: str) -> Dialcues:
    """The core, once the organization is known to exist (a listing of an unknown one is
    ``not_found``, not an empty page)."""
    dc = open_core(settings)
    dc.accounts.get_organization(org_id)
    return dc


def _admin(name: str) -> Actor:
    """The ``--actor`` as an ``admin`` (the core checks its length)."""
    return Actor("admin", name)


def _given(**values: str | None) -> dict[str, str]:
    """The values given, so that the core's defaults apply to the others."""
    return {name: value for name, value in values.items() if value is not None}


def _every(
    read: Callable[[str, Mapping[str, Any]], Page[T]], org_id: str, params: Mapping[str, str]
) -> list[T]:
    """Every page of a listing: an operator asked for the list, not its first screen."""
    items: list[T] = []
    page = 1
    while True:
        found = read(org_id, {**params, "page_size": "100", "page": str(page)})
        items.extend(found.items)
        if page >= found.total_pages:
            return items
        page += 1


# ----------------------------------------------------------------------------- rendering
def _entry_line(entry: Mapping[str, Any]) -> str:
    source = entry["source"]
    line = (
        f"{entry['id']}  {entry['phone_number']}  {entry['status']}  {entry['reason']}"
        f"  {source['type']}:{source['id'] if source['id'] is not None else '-'}"
        f"  created {entry['created_at']}"
    )
    if entry["removed_at"] is not None:
        line += f"  removed {entry['removed_at']} (consent {entry['removal_consent_id']})"
    return line


def _consent_line(record: Mapping[str, Any]) -> str:
    state = "active" if record["revoked_at"] is None else f"revoked {record['revoked_at']}"
    return (
        f"{record['id']}  {record['phone_number']}  {record['type']}  {record['purpose']}"
        f"  {record['source']}  captured {record['captured_at']}  {state}"
    )
