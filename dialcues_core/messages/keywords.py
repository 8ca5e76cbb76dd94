"""Inbound keywords (``telephony.md`` §4.4): a text is a keyword when its whole normalized
text is one of the words below. Normalization: NFKC, trim, inner whitespace collapsed to one
space, case-folded, one trailing ``.`` or ``!`` dropped. Free text is never interpreted.
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum
from typing import Final


class Keyword(StrEnum):
    """What a keyword asks for."""

    STOP = "STOP"
    START = "START"
    HELP = "HELP"


WORDS: Final = {
    **dict.fromkeys(
        (
            "stop",
            "stopall",
            "stop all",
            "unsubscribe",
            "cancel",
            "end",
            "quit",
            "revoke",
            "opt out",
            "optout",
        ),
        Keyword.STOP,
    ),
    **dict.fromkeys(("start", "unstop"), Keyword.START),
    **dict.fromkeys(("help", "info"), Keyword.HELP),
}

CARRIER_ANSWERS: Final = frozenset(
    {
        "stop",
        "stopall",
        "stop all",
        "unsubscribe",
        "cancel",
        "end",
        "quit",
        "start",
        "unstop",
        "help",
    }
)
"""The words Telnyx answers itself (its defaults); we reply to the others."""


def normalize(text: str) -> str:
    """The keyword form of a text."""
    folded = " ".join(unicodedata.normalize("NFKC", text).split()).casefold()
    if folded.endswith((".", "!")):
        folded = folded[:-1].rstrip()
    return folded


def keyword_of(text: str, autoresponse_type: str | None) -> Keyword | None:
    """The keyword a text is, or the one the carrier acted on (its ``autoresponse_type``)."""
    if autoresponse_type:
        try:
            return Keyword(autoresponse_type.strip().upper())
        except ValueError:
            pass  # a carrier type we do not know: judge the text itself
    return WORDS.get(normalize(text))
