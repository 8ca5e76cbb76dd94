"""Server messages from voice providers: read by the provider's adapter, applied here.

The edge forwards the bytes and headers of ``POST /api/providers/<provider>/events``; the
provider's :class:`~dialcues_core.calls.ports.MessageReader` reads them; the core checks the
credential (the execution's call token or the organization's secret, whatever the message's
type) and applies the event idempotently (:meth:`Attempts.receive_provider_message`).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from dialcues_core.calls.actions import ToolAnswer
from dialcues_core.calls.ports import MessageReader, ToolReader
from dialcues_core.dispatch.attempts import Attempts
from dialcues_core.dispatch.in_call import InCall
from dialcues_core.errors import ResourceNotFound


class ProviderEvents:
    """Receive the server messages of each provider that has a reader."""

    def __init__(
        self,
        attempts: Attempts,
        readers: Mapping[str, MessageReader],
        tool_readers: Mapping[str, ToolReader] | None = None,
    ):
        self.attempts = attempts
        self.readers = dict(readers)
        self.tool_readers = dict(tool_readers or {})
        self.in_call = InCall(attempts)

    def receive(self, provider: str, headers: Mapping[str, str], body: bytes) -> bool:
        """Authenticate and apply one message; return whether an outcome was applied.

        Raises ``validation_error`` for a body that is not JSON, ``invalid_provider_event``
        (401) for a message naming no known execution or carrying the wrong credential.
        """
        reader = self.readers.get(provider)
        if reader is None:
            raise ResourceNotFound("provider", provider)
        message = reader.read({k.lower(): v for k, v in headers.items()}, body)
        opt_out = message.opt_out
        heard = None
        if opt_out is not None:
            heard = functools.partial(self.in_call.heard, opt_out=opt_out)
        return self.attempts.receive_provider_message(
            message.secret, message.about, message.event, heard
        )

    def tools(self, provider: str, headers: Mapping[str, str], body: bytes) -> list[ToolAnswer]:
        """Answer one message of tool calls (confirm, snooze, stop), in order, in one
        transaction. Raises ``validation_error`` for a body that is not a tool-calls message,
        ``invalid_provider_event`` (401) for a wrong credential or an unknown call."""
        reader = self.tool_readers.get(provider)
        if reader is None:
            raise ResourceNotFound("provider", provider)
        message = reader.read_tools({k.lower(): v for k, v in headers.items()}, body)
        return self.in_call.tool_calls(message.secret, message.about, message.calls, message.via)
