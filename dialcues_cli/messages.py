"""``dialcues messages receive`` (``telephony.md`` §6.6): inject an inbound text to one of an
organization's simulated-carrier lines, through the core path of a verified
``message.received`` (the keyword rules of §4.4 apply: STOP suppresses the number, START
records a consent, HELP and INFO are answered). It prints the inbound message and its effects;
a keyword's reply is queued, and the sender of a running ``serve`` or ``worker`` sends it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any

from dialcues_cli.main import emit, open_core
from dialcues_core.config import Settings
from dialcues_core.messages.model import Message
from dialcues_core.messages.rendering import message_payload

Common = Callable[[argparse.ArgumentParser], argparse.ArgumentParser]


def add_commands(commands: Any, common: Common) -> None:
    """Register ``messages receive``."""
    sub = commands.add_parser("messages", help="text messages (simulated carrier)").add_subparsers(
        dest="action", required=True
    )
    receive = common(sub.add_parser("receive", help="receive a text on a simulated line"))
    receive.add_argument("--org", required=True)
    receive.add_argument("--to", required=True, metavar="LINE_NUMBER")
    receive.add_argument("--from", dest="sender", required=True, metavar="E164")
    receive.add_argument("--text", required=True)
    receive.set_defaults(handler=messages_receive)


def messages_receive(args: argparse.Namespace, settings: Settings) -> int:
    """Store the inbound text, apply its keyword, print it and what it did."""
    dc = open_core(settings)
    try:
        message, effects = dc.messages.receive_for(args.org, args.to, args.sender, args.text)
    finally:
        dc.close()
    shown = {"message": message_payload(message), "effects": list(effects)}
    return emit(args, shown, _text(message, effects))


def _text(message: Message, effects: Sequence[str]) -> str:
    said = ", ".join(effects) if effects else "no keyword: nothing to do"
    return (
        f"message {message.id} received from {message.from_number} on {message.to}"
        f" (line {message.line_id or '-'}): {said}"
    )
