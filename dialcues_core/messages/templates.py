"""Template text: normalization, slots, the content hash and rendering (``telephony.md`` §4.1).

Normalization is Unicode NFC; CR LF and lone CR become LF; trailing spaces and tabs leave each
line; leading and trailing blank lines go; slots are written ``{{name}}``. The content hash is
``sha256:`` and the hex SHA-256 of the normalized body plus the footer when it is on: a
fingerprint of the approved text, computed here and never taken from a client.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from typing import Final

FOOTER: Final = "\n\nReply STOP to opt out."
MAX_BODY: Final = 1600
MAX_SLOTS: Final = 20
_SLOT: Final = re.compile(r"\{\{\s*([a-z][a-z0-9_]{0,31})\s*\}\}")
_TRAILING: Final = re.compile(r"[ \t]+$", re.MULTILINE)


class TemplateSyntaxError(ValueError):
    """A body whose ``{{``/``}}`` are not all slots, or with too many slots."""


def normalize(body: str) -> str:
    """Return the body in its one stored form (raises :class:`TemplateSyntaxError`)."""
    text = unicodedata.normalize("NFC", body).replace("\r\n", "\n").replace("\r", "\n")
    text = _TRAILING.sub("", text)
    lines = text.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    text = "\n".join(lines)
    written = _SLOT.sub(lambda m: "{{" + m.group(1) + "}}", text)
    leftover = _SLOT.sub("", written)
    if "{{" in leftover or "}}" in leftover:
        raise TemplateSyntaxError(
            "has a '{{' or '}}' that is not a slot: slots are {{ name }} with name matching"
            " [a-z][a-z0-9_]{0,31}"
        )
    if len(slots_of(written)) > MAX_SLOTS:
        raise TemplateSyntaxError(f"has more than {MAX_SLOTS} distinct slots")
    return written


def slots_of(body: str) -> tuple[str, ...]:
    """The distinct slot names of a body, sorted."""
    return tuple(sorted({m.group(1) for m in _SLOT.finditer(body)}))


def content_hash(body: str, footer: bool) -> str:
    """``sha256:<hex>`` of the normalized body plus the footer when on."""
    text = body + (FOOTER if footer else "")
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def render(body: str, values: Mapping[str, str], footer: bool) -> str:
    """Fill every slot (plain substitution: a value is never read as a slot) and add the
    footer when on."""
    filled = _SLOT.sub(lambda m: values[m.group(1)], body)
    return filled + (FOOTER if footer else "")
