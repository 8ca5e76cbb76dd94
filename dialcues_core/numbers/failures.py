"""What a carrier failure means to a client (``telephony.md`` §1.3, §2.2–2.3, §6.2).

The adapters classify a refusal by the carrier's own code into a :class:`Refusal`; this
table turns it into the core error a client sees. A carrier failure never reaches a client
unmapped.
"""

from __future__ import annotations

import logging
import math

from dialcues_core.errors import (
    CarrierError,
    CarrierRejected,
    CarrierThrottled,
    CarrierUnavailable,
    CarrierUnknownOutcome,
    DialcuesError,
    HoldLimitReached,
    InvalidState,
    NumberUnavailable,
    ProviderNotConfigured,
)
from dialcues_core.numbers.model import Refusal

logger = logging.getLogger("dialcues.numbers")


def client_error(exc: CarrierError, action: str) -> DialcuesError:
    """The client's error for a carrier failure during ``action`` (``held``, ``extended``,
    ``searched``); the operator's log line says which carrier code it was."""
    if isinstance(exc, CarrierThrottled):
        wait = math.ceil(exc.retry_after) if exc.retry_after else None
        return CarrierUnavailable("throttled", wait)
    if isinstance(exc, CarrierUnknownOutcome):
        return CarrierUnavailable("unknown_outcome")
    if not isinstance(exc, CarrierRejected):
        return CarrierUnavailable("unreachable")
    meaning = exc.meaning
    if meaning == Refusal.ACCOUNT:
        logger.error(
            "The carrier refused our account (code %s): check the carrier settings",
            exc.carrier_code,
        )
        return CarrierUnavailable("account")
    if meaning == Refusal.HOLD_LIMIT:
        return HoldLimitReached()
    if meaning == Refusal.EXTENSION_LIMIT:
        return InvalidState("held", "extended", resource="number")
    if meaning == Refusal.NOT_CONFIGURED:
        return ProviderNotConfigured("messaging_profile_id")
    logger.info("The carrier refused to %s a number (code %s)", action, exc.carrier_code)
    return NumberUnavailable()
