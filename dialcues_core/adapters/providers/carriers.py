"""The carrier adapters of each organization, built once and kept (``numbers.ports.Carriers``).

The simulated carrier is shared (it has no state); a Telnyx carrier is kept per account
settings and a Vapi number client per provider account, so their HTTP sessions are reused.
Every adapter runs on the one :class:`~dialcues_core.offload.LoopThread` loop.
"""

from __future__ import annotations

import threading
from typing import Any

from dialcues_core.accounts.model import Organization, Provider
from dialcues_core.adapters.providers.simulated.carrier import (
    SimulatedCarrier,
    SimulatedVoiceNumbers,
)
from dialcues_core.adapters.providers.telnyx.carrier import TelnyxCarrier
from dialcues_core.adapters.providers.vapi.numbers import VapiVoiceNumbers
from dialcues_core.config import Settings
from dialcues_core.kernel.ports import Clock
from dialcues_core.numbers.model import TELNYX, CarrierSettings
from dialcues_core.numbers.ports import Carrier, VoiceNumbers

EVENTS_PATH = "/api/providers/vapi/events"


class CarrierAdapters:
    """Builds and caches each organization's carrier and voice-number adapters."""

    def __init__(self, clock: Clock, settings: Settings):
        self.settings = settings
        self.simulated = SimulatedCarrier(clock, settings.simulated_delay)
        self._simulated_numbers = SimulatedVoiceNumbers()
        self._kept: dict[tuple[Any, ...], Any] = {}
        self._lock = threading.Lock()

    def carrier(self, settings: CarrierSettings) -> Carrier:
        """The adapter for these carrier settings."""
        if settings.carrier != TELNYX:
            return self.simulated
        key = ("telnyx", settings)
        return self._keep(  # type: ignore[no-any-return]
            key, lambda: TelnyxCarrier(settings, timeout=self.settings.carrier_timeout)
        )

    def voice_numbers(self, organization: Organization) -> VoiceNumbers:
        """The voice provider's number adapter of the organization (nothing to do without Vapi)."""
        provider = organization.provider
        if provider is None or provider.provider is not Provider.VAPI:
            return self._simulated_numbers
        key = (
            "vapi",
            provider.api_key,
            provider.base_url,
            provider.telnyx_credential_id,
            provider.webhook_secret,
        )
        return self._keep(  # type: ignore[no-any-return]
            key,
            lambda: VapiVoiceNumbers(
                provider.api_key,
                provider.base_url,
                credential_id=provider.telnyx_credential_id or "",
                server_url=self.settings.public_url + EVENTS_PATH,
                secret=provider.webhook_secret,
                timeout=self.settings.carrier_timeout,
            ),
        )

    def _keep(self, key: tuple[Any, ...], build: Any) -> Any:
        with self._lock:
            found = self._kept.get(key)
            if found is None:
                found = self._kept[key] = build()
            return found

    async def close(self) -> None:
        """Close every kept adapter's HTTP session."""
        with self._lock:
            kept, self._kept = list(self._kept.values()), {}
        for adapter in kept:
            await adapter.close()
