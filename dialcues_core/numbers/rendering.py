"""The public shapes of numbers: a record and a search result (``telephony.md`` §2.1–2.2)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dialcues_core.kernel.timefmt import seconds
from dialcues_core.numbers.model import AvailableNumber, Cost, NumberRecord


def cost_payload(cost: Cost | None) -> dict[str, str] | None:
    """Decimal strings, never floats."""
    if cost is None:
        return None
    return {"monthly": cost.monthly, "upfront": cost.upfront, "currency": cost.currency}


def number_payload(record: NumberRecord, now: datetime) -> dict[str, Any]:
    """A number record as the API shows it (``expired`` computed at ``now``)."""
    failure = record.failure
    return {
        "id": record.id,
        "number": record.number,
        "status": record.status_at(now).value,
        "country": record.country,
        "locality": record.locality,
        "region": record.region,
        "rate_center": record.rate_center,
        "features": sorted(record.features),
        "carrier": record.carrier,
        "cost": cost_payload(record.cost),
        "hold_expires_at": seconds(record.hold_expires_at),
        "hold_extended": record.hold_extended,
        "line_id": record.line_id,
        "failure": (
            {"step": failure.step.value, "code": failure.code, "message": failure.message}
            if failure is not None
            else None
        ),
        "created_at": seconds(record.created_at),
        "updated_at": seconds(record.updated_at),
    }


def offer_payload(offer: AvailableNumber) -> dict[str, Any]:
    """One search result."""
    return {
        "number": offer.number,
        "country": offer.country,
        "locality": offer.locality,
        "region": offer.region,
        "rate_center": offer.rate_center,
        "features": sorted(offer.features),
        "cost": cost_payload(offer.cost),
        "reservable": offer.reservable,
    }
