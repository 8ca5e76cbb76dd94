"""Checks every request meets at the wire: no NUL in any text, names as requests spell them."""

from __future__ import annotations

from typing import Final

from google.protobuf import message

from dialcues_core.errors import ValidationFailed

# ----------------------------------------------------------------------------- text
NUL_PROBLEM: Final = "must not contain NUL characters"


def nul_fields(request: message.Message, prefix: str = "") -> dict[str, str]:
    """Return the text fields of ``request`` (nested and repeated ones too) holding a NUL.

    No field of the contract allows NUL, and PostgreSQL cannot store it in text: checked here,
    once for every RPC, it is a ``validation_error`` instead of a storage failure.
    """
    found: dict[str, str] = {}
    for field, value in request.ListFields():
        name = prefix + field.name
        for item in value if field.is_repeated else (value,):
            if isinstance(item, str) and "\x00" in item:
                found[name] = NUL_PROBLEM
            elif isinstance(item, message.Message):
                found.update(nul_fields(item, f"{name}."))
    return found


def refuse_nul(request: object) -> None:
    """Raise ``validation_error`` naming every text field of a request that holds a NUL."""
    if isinstance(request, message.Message):
        found = nul_fields(request)
        if found:
            raise ValidationFailed(found)


# ----------------------------------------------------------------------------- errors
_VIOLATION_FIELDS: Final = {"recurrence_type": "recurrence", "recurrence_config": "recurrence"}
"""Core field names that are spelled differently in the requests."""


def violation_field(name: str) -> str:
    """Return the request field a core validation problem names."""
    return _VIOLATION_FIELDS.get(name, name)
