"""The line a new call goes out on, and the ``vapi_line_id`` field."""

from __future__ import annotations

from typing import Any

from dialcues_core.accounts.model import OutboundLine, Principal
from dialcues_core.accounts.ports import LineRepository
from dialcues_core.errors import MissingOutboundLine, ValidationFailed
from dialcues_core.kernel.fields import MISSING, is_well_formed_id


# ----------------------------------------------------------------------------- helpers
def line_for(lines: LineRepository, principal: Principal, line_id: str | None) -> OutboundLine:
    """Return the line a new call goes out on: the named one, else the organization's default.

    An id that is not one of the organization's lines is ``validation_error`` on
    ``vapi_line_id``; an organization without any line is ``missing_outbound_line``.
    """
    org_id = principal.organization_id
    if line_id is not None and line_id is not MISSING:
        line = lines.get(org_id, line_id)
        if line is None:
            raise ValidationFailed.one(
                "vapi_line_id", "is not one of the organization's outbound lines"
            )
        return line
    default = lines.default_for(org_id)
    if default is None:
        raise MissingOutboundLine()
    return default


def parse_line_id(value: Any) -> str | None:
    """Parse ``vapi_line_id``: a line id, or None for the organization's default line."""
    if value is None:
        return None
    if not isinstance(value, str) or not is_well_formed_id(value):
        raise ValueError("must be the id of one of the organization's outbound lines")
    return value
