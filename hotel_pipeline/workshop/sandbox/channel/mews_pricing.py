"""Mews ``rates/getPricing`` as the sandbox serves it: a deterministic price per rate, room category and night.

Why in its own module: the channel push prices rooms from Mews; the rest of the Mews sandbox (reservations) is not
about rates. The answer follows Mews' documented shape: ``Currency``, ``BaseAmountPrices`` and ``CategoryPrices``
(``CategoryId``, ``AmountPrices`` with ``NetValue`` / ``GrossValue`` / ``TaxValues``), one price per day time unit
from ``FirstTimeUnitStartUtc`` to ``LastTimeUnitStartUtc``, plus ``TimeUnitStartsUtc``. Interval limit: 367 days.
"""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta
from typing import Any

from hotel_pipeline.workshop.sandbox.pms.base import SandboxError, parse_instant

VAT = 0.06


def price(rate_id: str, category_id: str, night: datetime) -> float:
    """Gross price of a night: a base per rate and category, +25% on Friday and Saturday nights, +30% Jul-Aug."""
    base = 60 + zlib.crc32(f"{rate_id}:{category_id}".encode()) % 90
    factor = (1.25 if night.weekday() in (4, 5) else 1.0) * (1.3 if night.month in (7, 8) else 1.0)
    return round(base * factor, 2)


def _amount(gross: float, currency: str) -> dict[str, Any]:
    net = round(gross / (1 + VAT), 2)
    return {"Currency": currency, "NetValue": net, "GrossValue": gross,
            "TaxValues": [{"Code": "PT-2016-6", "Value": round(gross - net, 2)}],
            "Breakdown": {"Items": [{"TaxRateCode": "PT-2016-6", "NetValue": net, "TaxValue": round(gross - net, 2)}]}}


def get_pricing(categories: list[str], currency: str, body: dict[str, Any]) -> dict[str, Any]:
    """The answer of ``rates/getPricing`` for the hotel's category ids."""
    rate_id = body.get("RateId")
    if not rate_id:
        raise SandboxError(400, "RateId is required.")
    first = parse_instant(body.get("FirstTimeUnitStartUtc"), "FirstTimeUnitStartUtc")
    last = parse_instant(body.get("LastTimeUnitStartUtc"), "LastTimeUnitStartUtc")
    if first is None or last is None or last < first:
        raise SandboxError(400, "FirstTimeUnitStartUtc and LastTimeUnitStartUtc are required, first <= last.")
    days = (last - first).days + 1
    if days > 367:
        raise SandboxError(400, "The time interval is longer than 367 days.")
    units = [first + timedelta(days=i) for i in range(days)]
    # the night a time unit stands for is its hotel-local date: the unit starts at local midnight (UTC may be earlier)
    nights = [u + timedelta(hours=12) for u in units]
    return {
        "Currency": currency,
        "TimeUnitStartsUtc": [u.strftime("%Y-%m-%dT%H:%M:%SZ") for u in units],
        "BaseAmountPrices": [_amount(price(rate_id, "base", n), currency) for n in nights],
        "CategoryAdjustments": [],
        "CategoryPrices": [{"CategoryId": c, "AmountPrices": [_amount(price(rate_id, c, n), currency)
                                                               for n in nights]} for c in categories],
    }
