"""Partition definitions shared by every domain: hotels (dynamic, fed from the portfolio) and snapshot dates.

Snapshot dates are hotel-local business dates. The daily partition set uses the easternmost time zone of the
portfolio so that every hotel's current business date already exists as a partition; ``end_offset=1`` makes
"today" (the date the 03:00 recorder photographs) a partition as well.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import dagster as dg

from hotel_pipeline.core.portfolio import Portfolio

HOTELS_PARTITIONS = dg.DynamicPartitionsDefinition(name="hotels")

#: First snapshot date of the historian (the data set's first arrivals).
HISTORY_START = "2015-07-01"


def easternmost_timezone(portfolio: Portfolio) -> str:
    """The portfolio time zone whose local date turns first (largest UTC offset now)."""
    now = datetime.now(UTC)  # only picks a zone; no business date is derived from it
    return max(portfolio.timezones, key=lambda tz: now.astimezone(ZoneInfo(tz)).utcoffset())


def snapshot_partitions(portfolio: Portfolio) -> dg.DailyPartitionsDefinition:
    return dg.DailyPartitionsDefinition(
        start_date=HISTORY_START, timezone=easternmost_timezone(portfolio), end_offset=1
    )
