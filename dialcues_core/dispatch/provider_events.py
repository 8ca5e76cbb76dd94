"""Server messages from voice providers: read by the provider's adapter, applied here.

The edge forwards the bytes and headers of ``POST /api/providers/<provider>/events``; the
provider's :class:`~dialcues_core.calls.ports.MessageReader` reads them; the core checks the
credential (the execution's call token or the organization's secret, whatever the message's
type) and applies the event idempotently (:meth:`Attempts.receive_provider_message`).
"""

from __future__ import annotations

from collections.abc import Mapping

from dialcues_core.calls.ports import MessageReader
from dialcues_core.dispatch.attempts import Attempts
from dialcues_core.errors import ResourceNotFound


class ProviderEvents:
    """Receive the server messages of each provider that has a reader."""

    def __init__(self, attempts: Attempts, readers: Mapping[str, MessageReader]):
        self.attempts = attempts
        self.readers = dict(readers)

    def receive(self, provider: str, headers: Mapping[str, str], body: bytes) -> bool:
        """Authenticate and apply one message; return whether an outcome was applied.

        Raises ``validation_error`` for a body that is not JSON, ``invalid_provider_event``
        (401) for a message naming no known execution or carrying the wrong credential.
        """
        reader = self.readers.get(provider)
        if reader is None:
            raise ResourceNotFound("provider", provider)
        message = reader.read({k.lower(): v for k, v in headers.items()}, body)
        return self.attempts.receive_provider_message(message.secret, message.about, message.event)
