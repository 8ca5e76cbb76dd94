"""``dialcues orgs set-policy|get-policy`` and ``dialcues audit list`` (responsible-calling §19).

``set-policy`` translates its flags into the wire-shaped change the core takes (the shapes of
``GET /policy``) and changes only the fields they name; the core validates every value and
writes one ``policy.updated`` audit event with the ``--actor`` as an ``admin``. A flag whose
text is not a number is handed to the core as written, so that its refusal names the field
with the contract's sentence. A pre-dial secret created or rotated is printed this once.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from dialcues_cli.main import emit, open_core
from dialcues_core import Dialcues
from dialcues_core.audit.model import Actor
from dialcues_core.audit.rendering import audit_event_to_json
from dialcues_core.calling.service import PolicyView
from dialcues_core.calling.windows import hhmm
from dialcues_core.config import Settings
from dialcues_core.errors import ValidationFailed

Common = Callable[[argparse.ArgumentParser], argparse.ArgumentParser]
Current = Callable[[], PolicyView]


def add_org_commands(sub: Any, common: Common) -> None:
    """Register ``orgs set-policy`` and ``orgs get-policy`` on the ``orgs`` subparsers."""
    setting = common(sub.add_parser("set-policy", help="change an organization's calling policy"))
    setting.add_argument("--org", required=True)
    _window_flags(setting)
    _call_flags(setting)
    setting.add_argument("--reset", metavar="FIELD[,FIELD]", help="back to the platform default")
    setting.add_argument("--actor", default="cli", help="who to name in the audit trail")
    setting.set_defaults(handler=orgs_set_policy)
    getting = common(sub.add_parser("get-policy", help="print an organization's calling policy"))
    getting.add_argument("--org", required=True)
    getting.set_defaults(handler=orgs_get_policy)


def add_commands(commands: Any, common: Common) -> None:
    """Register ``audit list``."""
    sub = commands.add_parser("audit", help="the audit trail").add_subparsers(
        dest="action", required=True
    )
    listing = common(sub.add_parser("list", help="an organization's audit events, newest first"))
    listing.add_argument("--org", required=True)
    listing.add_argument("--action", dest="audit_action", metavar="ACTION")
    listing.set_defaults(handler=audit_list)


def _window_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--window", metavar="HH:MM-HH:MM|PROFILE")
    parser.add_argument("--window-days", metavar="D,D", help="weekdays 0-6, 0 = Sunday")
    parser.add_argument("--window-basis", metavar="strictest|reminder_zone")
    parser.add_argument("--blocked-dates", metavar="YYYY-MM-DD,…|none")
    _switch_flag(parser, "--allow-window-bypass")
    parser.add_argument("--max-lateness", metavar="SECONDS")
    parser.add_argument("--retry-policy", metavar="JSON")
    parser.add_argument("--cap-24h", metavar="N|off")
    parser.add_argument("--cap-30d", metavar="N|off")


def _call_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--caller-name", metavar="TEXT")
    parser.add_argument("--callback-number", metavar="E164|none")
    _switch_flag(parser, "--ai-disclosure")
    parser.add_argument("--opening-template", metavar="TEXT|default")
    parser.add_argument("--snooze-default", metavar="MINUTES")
    _switch_flag(parser, "--require-consent-informational")
    parser.add_argument("--predial-url", metavar="URL|none")
    parser.add_argument("--predial-timeout-ms", metavar="N")
    parser.add_argument("--predial-failure", metavar="allow|skip")
    parser.add_argument("--rotate-predial-secret", action="store_true")


def _switch_flag(parser: argparse.ArgumentParser, flag: str) -> None:
    """A boolean flag: ``on`` or ``off``; written alone it means ``on``."""
    parser.add_argument(flag, nargs="?", const="on", choices=("on", "off"), metavar="on|off")


# ----------------------------------------------------------------------------- handlers
def orgs_set_policy(args: argparse.Namespace, settings: Settings) -> int:
    """Change the fields the flags name; print the policy (and a new pre-dial secret)."""
    dc = open_core(settings)
    changes = policy_changes(args, _current(dc, args.org))
    reset = [name.strip() for name in args.reset.split(",")] if args.reset else []
    view = dc.policies.update(
        args.org,
        changes,
        actor=Actor("admin", args.actor),
        reset=reset,
        rotate_predial_secret=args.rotate_predial_secret,
    )
    shown = view.to_json()
    human = summary(view)
    if view.predial_secret is not None:
        shown["predial_secret"] = view.predial_secret
        human += f"\npredial secret {view.predial_secret}\n(shown once: store it now)"
    return emit(args, shown, human)


def orgs_get_policy(args: argparse.Namespace, settings: Settings) -> int:
    """Print an organization's calling policy."""
    view = open_core(settings).policies.get_for(args.org)
    return emit(args, view.to_json(), summary(view))


def audit_list(args: argparse.Namespace, settings: Settings) -> int:
    """Print every audit event of an organization (``--action``: one action), newest first."""
    dc = open_core(settings)
    dc.accounts.get_organization(args.org)  # an unknown organization is not_found
    params = {"page_size": "100"}
    if args.audit_action is not None:
        params["action"] = args.audit_action
    events: list[dict[str, Any]] = []
    page = 1
    while True:  # every page: an operator asked for the trail, not its first screen
        found = dc.audit.list_for(args.org, {**params, "page": str(page)})
        events.extend(audit_event_to_json(event) for event in found.items)
        if page >= found.total_pages:
            break
        page += 1
    return emit(args, events, "\n".join(_event_line(e) for e in events) or "no audit events")


def _current(dc: Dialcues, org_id: str) -> Current:
    """The organization's policy, read at most once and only when a flag needs it."""
    read: list[PolicyView] = []

    def current() -> PolicyView:
        if not read:
            read.append(dc.policies.get_for(org_id))
        return read[0]

    return current


# ----------------------------------------------------------------------------- flags → change
def policy_changes(args: argparse.Namespace, current: Current) -> dict[str, Any]:
    """The wire-shaped ``changes`` the flags ask for; raise ``validation_error`` on bad text."""
    changes: dict[str, Any] = {}
    problems: dict[str, str] = {}
    _plain(args, changes, problems)
    _window(args, current, changes, problems)
    _caps(args, current, changes)
    _predial(args, changes, problems)
    if problems:
        raise ValidationFailed(problems)
    return changes


def _plain(args: argparse.Namespace, changes: dict[str, Any], problems: dict[str, str]) -> None:
    """The flags that map one to one on a field."""
    simple: dict[str, tuple[str, Callable[[str], Any]]] = {
        "window_basis": ("window_basis", str),
        "blocked_dates": ("blocked_dates", _dates),
        "allow_window_bypass": ("allow_window_bypass", _switch),
        "max_lateness": ("max_lateness_seconds", _number),
        "caller_name": ("caller_name", str),
        "callback_number": ("callback_number", _none_or_text),
        "ai_disclosure": ("ai_disclosure", _switch),
        "opening_template": ("opening_template", _default_or_text),
        "snooze_default": ("snooze_default_minutes", _number),
        "require_consent_informational": ("require_consent_for_informational", _switch),
    }
    for flag, (field, convert) in simple.items():
        text = getattr(args, flag)
        if text is not None:
            changes[field] = convert(text)
    if args.retry_policy is not None:
        try:
            changes["retry_policy"] = json.loads(args.retry_policy)
        except json.JSONDecodeError as exc:
            problems["retry_policy"] = f"must be JSON ({exc.msg})"


def _window(
    args: argparse.Namespace,
    current: Current,
    changes: dict[str, Any],
    problems: dict[str, str],
) -> None:
    """``--window`` (hours of every day, or a profile) and ``--window-days``."""
    if args.window is None and args.window_days is None:
        return
    if args.window is not None:
        start, dash, end = args.window.partition("-")
        if not dash:
            if args.window_days is not None:
                problems["calling_window"] = "--window-days needs hours, not a profile"
                return
            changes["calling_window"] = {"profile": args.window.strip()}
            return
        window: dict[str, Any] = {"start": start.strip(), "end": end.strip()}
    else:
        hours = {h for h in current().effective.window.days if h is not None}
        if len(hours) != 1:
            problems["calling_window"] = (
                "--window-days needs --window HH:MM-HH:MM: the current window's hours differ by day"
            )
            return
        (same,) = hours
        window = {"start": hhmm(same.start), "end": hhmm(same.end)}
    if args.window_days is not None:
        window["days"] = [_number(day) for day in args.window_days.split(",")]
    changes["calling_window"] = window


def _caps(args: argparse.Namespace, current: Current, changes: dict[str, Any]) -> None:
    """``--cap-24h`` and ``--cap-30d``; the one not given keeps its current value."""
    if args.cap_24h is None and args.cap_30d is None:
        return
    caps = dict(current().effective.caps.to_json()) if None in (args.cap_24h, args.cap_30d) else {}
    for flag, key in (("cap_24h", "per_24h"), ("cap_30d", "per_30d")):
        text = getattr(args, flag)
        if text is not None:
            caps[key] = None if text.strip() == "off" else _number(text)
    changes["frequency_caps"] = caps


def _predial(args: argparse.Namespace, changes: dict[str, Any], problems: dict[str, str]) -> None:
    """``--predial-url``, ``--predial-timeout-ms``, ``--predial-failure``: merged over the hook."""
    hook: dict[str, Any] = {}
    if args.predial_url is not None:
        hook["url"] = args.predial_url.strip()
    if args.predial_timeout_ms is not None:
        hook["timeout_ms"] = _number(args.predial_timeout_ms)
    if args.predial_failure is not None:
        hook["on_failure"] = args.predial_failure.strip()
    if hook.get("url") == "none":
        if len(hook) > 1:
            problems["predial"] = "cannot be removed (--predial-url none) and changed at once"
            return
        changes["predial"] = None
    elif hook:
        changes["predial"] = hook


def _number(text: str) -> Any:
    """An integer, or the text itself for the core to refuse naming its field."""
    try:
        return int(text.strip())
    except ValueError:
        return text


def _switch(text: str) -> bool:
    return text == "on"


def _dates(text: str) -> list[str]:
    return [] if text.strip() == "none" else [d.strip() for d in text.split(",")]


def _none_or_text(text: str) -> str | None:
    return None if text.strip() == "none" else text


def _default_or_text(text: str) -> str | None:
    return None if text.strip() == "default" else text


# ----------------------------------------------------------------------------- rendering
def summary(view: PolicyView) -> str:
    """The policy for a person: one field a line, ``(inherited)`` where the platform decides."""
    body = view.to_json()
    shown = {
        **body,
        "calling_window": view.effective.window.label,
        "frequency_caps": ", ".join(
            f"{key} {'off' if limit is None else limit}"
            for key, limit in body["frequency_caps"].items()
        ),
        "opening_template": body["opening_template"] or "default",
    }
    skipped = {"organization_id", "inherited", "opening_preview", "updated_at"}
    lines = [f"calling policy of {body['organization_id']}"]
    for name, value in shown.items():
        if name not in skipped:
            mark = "  (inherited)" if name in body["inherited"] else ""
            lines.append(f"  {name}: {_text(value)}{mark}")
    lines.append(f"  opening: {body['opening_preview']}")
    lines.append(f"  updated_at: {body['updated_at'] or 'never'}")
    return "\n".join(lines)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if value is None or value == []:
        return "none"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _event_line(event: dict[str, Any]) -> str:
    actor, subject = event["actor"], event["subject"]
    return (
        f"{event['occurred_at']}  {event['action']}  {actor['type']}:{actor['id'] or '-'}"
        f"  {subject['type']} {subject['id']}  {json.dumps(event['detail'], sort_keys=True)}"
    )
