"""The pre-dial hook over HTTP (``responsible-calling.md`` §12), with aiohttp.

One POST per attempt, signed like webhook deliveries (Standard Webhooks: ``webhook-id``,
``webhook-timestamp``, ``webhook-signature`` with every current secret), one try, the whole
exchange within the hook's ``timeout_ms``, no redirects followed, at most 64 KiB of answer
read. The URL's rules are the webhook subscriptions': unless private targets are allowed, the
address is checked at every connection (the same public-only resolver) and literal addresses
before connecting.
"""

from __future__ import annotations

import aiohttp

from dialcues_core.adapters.http.webhook_sender import (
    PrivateAddressRefused,
    PublicOnlyResolver,
    _describe,
    _is_literal,
)
from dialcues_core.calling.predial import (
    MAX_ANSWER_BYTES,
    Answer,
    PredialTarget,
    Verdict,
    read_answer,
)
from dialcues_core.kernel.ports import Clock
from dialcues_core.kernel.urls import host_and_port, is_public_address
from dialcues_core.webhooks.delivery import signed_headers


class HttpPredialHook:
    """Ask organizations' pre-dial hooks (one shared client session, opened on first use)."""

    def __init__(self, clock: Clock, allow_private: bool):
        self.clock = clock
        self.allow_private = allow_private
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            resolver = None if self.allow_private else PublicOnlyResolver()
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(resolver=resolver, limit=100)
            )
        return self._session

    async def ask(self, target: PredialTarget, message_id: str, body: str) -> Answer:
        """POST ``body`` to the hook; return its verdict (never raises)."""
        now = self.clock.now()
        headers = signed_headers(message_id, body, target.secrets, now, "Dialcues-Predial/1")
        try:
            host, _ = host_and_port(target.url)
            if not self.allow_private and _is_literal(host) and not is_public_address(host):
                raise PrivateAddressRefused()
            timeout = aiohttp.ClientTimeout(total=target.timeout_ms / 1000)
            async with self._client().post(
                target.url,
                data=body.encode("utf-8"),
                headers=headers,
                allow_redirects=False,
                timeout=timeout,
            ) as reply:
                answer = await reply.content.read(MAX_ANSWER_BYTES + 1)
                return read_answer(reply.status, answer)
        except TimeoutError:
            return Answer(Verdict.UNAVAILABLE, f"no answer within {target.timeout_ms} ms")
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            return Answer(Verdict.UNAVAILABLE, _describe(exc))

    async def close(self) -> None:
        """Close the client session."""
        if self._session is not None:
            await self._session.close()
