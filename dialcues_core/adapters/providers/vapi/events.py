"""Vapi's server messages, read for the core (:class:`~dialcues_core.calls.ports.MessageReader`).

The credential is the ``x-vapi-secret`` header (the call token every create asks Vapi to send
back, or an organization-level secret). The call and the event come from the message's
``call`` object, read by the same readers as the dialer's (:mod:`.voice`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from dialcues_core.adapters.providers.vapi.tools import user_turns
from dialcues_core.adapters.providers.vapi.voice import (
    SECRET_HEADER,
    message_call,
    parse_server_message,
)
from dialcues_core.calls.actions import transcript_opt_out
from dialcues_core.calls.ports import ServerMessage
from dialcues_core.errors import ValidationFailed


class VapiMessageReader:
    """Read ``POST /api/providers/vapi/events``."""

    def read(self, headers: Mapping[str, str], body: bytes) -> ServerMessage:
        """Return the message's credential, the call it names and the event it reports."""
        try:
            payload = json.loads(body)
        except ValueError:
            raise ValidationFailed({}, "The request body must be JSON.") from None
        message = payload.get("message") if isinstance(payload, dict) else None
        opt_out = None
        if isinstance(message, dict) and message.get("type") == "end-of-call-report":
            opt_out = transcript_opt_out(user_turns(message))
        return ServerMessage(
            secret=headers.get(SECRET_HEADER),
            about=message_call(payload),
            event=parse_server_message(payload),
            opt_out=opt_out,
        )
