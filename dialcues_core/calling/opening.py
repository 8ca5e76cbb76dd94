"""What every call says (``responsible-calling.md`` §10): the opening and the voicemail message.

The opening is six slots, each a fixed sentence:

=================== ====================================================================
slot                text (empty when its feature is off)
=================== ====================================================================
``identification``  "This is {caller_name} with a reminder."
``disclosure``      "You're speaking with an automated assistant." (``ai_disclosure``)
``message``         the reminder's message
``actions``         "Press 1 or say done to confirm. Press 2 or say snooze to be called
                    again in {snooze_default_minutes} minutes."
``callback``        "To reach {caller_name}, call {callback_number}." (``callback_number``)
``opt_out``         "To stop these calls, press 9 or say stop."
=================== ====================================================================

An informational call orders them by the organization's ``opening_template`` (validated when it
is set: :func:`~dialcues_core.calling.fields.parse_opening_template`), else the built-in order
above. A marketing call always says 1, 6, 2, 3, 4, 5: the opt-out offer right after the
identification (47 CFR 64.1200(b)(3)); the template does not apply. Empty slots leave no trace:
runs of whitespace collapse to one space.

The voicemail message is the identification, the disclosure, the message and "To stop these
calls, call {number}." (the callback number, else the line's own), at most
:data:`VOICEMAIL_LIMIT` characters: the message is shortened with "…" to fit.

Text Dialcues did not write (the message, the caller's name) has its Liquid delimiters broken
(:func:`break_liquid`): the provider renders Liquid templates in what it speaks, and no
template of a user's may run there. Numbers are spoken in international format.

An identity without ``caller_name`` never reaches a Vapi call (gate check 6); rendered anyway,
it says "This is a reminder." and "To call back, call {callback_number}.". Pure.
"""

from __future__ import annotations

import re
from typing import Final

import phonenumbers

from dialcues_core.calling.policy import Identity

DEFAULT_TEMPLATE: Final = "{identification} {disclosure} {message} {actions} {callback} {opt_out}"
"""The built-in informational order (``opening_template`` null)."""

MARKETING_ORDER: Final = (
    "identification",
    "opt_out",
    "disclosure",
    "message",
    "actions",
    "callback",
)
"""A marketing call's fixed order (§10.1): 1, 6, 2, 3, 4, 5."""

DISCLOSURE: Final = "You're speaking with an automated assistant."
OPT_OUT: Final = "To stop these calls, press 9 or say stop."
VOICEMAIL_LIMIT: Final = 1000
"""Vapi's limit on ``voicemailMessage``, in characters."""
ELLIPSIS: Final = "…"

_SLOT = re.compile(r"\{([a-z_]+)\}")
_LIQUID_OPEN = re.compile(r"\{(?=[{%])")
_LIQUID_CLOSE = re.compile(r"(?<=[}%])\}")


def break_liquid(text: str) -> str:
    """Return ``text`` with every Liquid delimiter broken by a space.

    ``{{`` → ``{ {``, ``}}`` → ``} }``, ``{%`` → ``{ %``, ``%}`` → ``% }``; overlapping runs
    too (``{{{`` → ``{ { {``), so that no delimiter survives.
    """
    return _LIQUID_CLOSE.sub(" }", _LIQUID_OPEN.sub("{ ", text))


def international(number: str) -> str:
    """Return an E.164 number in international format (``+1 415-555-0100``)."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def slots(identity: Identity, message: str) -> dict[str, str]:
    """Return the text of each of the six slots (empty when its feature is off)."""
    name = break_liquid(identity.caller_name) if identity.caller_name else None
    callback = identity.callback_number
    if callback and name:
        back = f"To reach {name}, call {international(callback)}."
    else:
        back = f"To call back, call {international(callback)}." if callback else ""
    return {
        "identification": f"This is {name} with a reminder." if name else "This is a reminder.",
        "disclosure": DISCLOSURE if identity.ai_disclosure else "",
        "message": break_liquid(message),
        "actions": (
            "Press 1 or say done to confirm. Press 2 or say snooze to be called again in"
            f" {identity.snooze_default_minutes} minutes."
        ),
        "callback": back,
        "opt_out": OPT_OUT,
    }


def opening(identity: Identity, message: str, purpose: str = "informational") -> str:
    """Return the first words of a call of ``purpose`` saying ``message``."""
    texts = slots(identity, message)
    if purpose == "marketing":
        return _collapse(" ".join(texts[slot] for slot in MARKETING_ORDER))
    template = identity.opening_template or DEFAULT_TEMPLATE
    # one pass: a message that holds "{callback}" is said as written, never filled in
    return _collapse(_SLOT.sub(lambda found: texts.get(found[1], found[0]), template))


def voicemail(identity: Identity, message: str, line_number: str) -> str:
    """Return the message left on voicemail: at most :data:`VOICEMAIL_LIMIT` characters."""
    texts = slots(identity, message)
    number = international(identity.callback_number or line_number)
    before = _collapse(f"{texts['identification']} {texts['disclosure']}")
    after = f"To stop these calls, call {number}."
    said = _collapse(texts["message"])
    room = VOICEMAIL_LIMIT - len(before) - len(after) - 2  # the two joining spaces
    if len(said) > room:
        said = said[: max(0, room - len(ELLIPSIS))].rstrip() + ELLIPSIS
    return _collapse(f"{before} {said} {after}")[:VOICEMAIL_LIMIT]


def _collapse(text: str) -> str:
    """Collapse runs of whitespace (an empty slot leaves none) and trim the ends."""
    return " ".join(text.split())
