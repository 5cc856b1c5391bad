"""Partition definitions shared by every domain: hotels and snapshot dates, both built from the portfolio.

The code location is built from one portfolio (``build_defs(portfolio)``), so the hotel partitions are simply its
hotel ids: nothing adds or syncs them at run time, and a hotel added to the portfolio appears when the code reloads.

Snapshot dates are hotel-local business dates. The daily partition set uses the easternmost time zone of the
portfolio so that every hotel's current business date already exists as a partition; ``end_offset=1`` makes
"today" (the date the 03:00 recorder photographs) a partition as well. It starts at the portfolio's
``history_start``; with the clock frozen (``HOTEL_PIPELINE_CLOCK``) it ends at the clock's date, so a replay shows
no partitions (and schedules fire for none) after its "today".
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from hotel_pipeline.core.clock import Clock
from hotel_pipeline.core.portfolio import Portfolio


def hotel_partitions(portfolio: Portfolio) -> dg.StaticPartitionsDefinition:
    """One partition per hotel of the portfolio (the per-hotel PMS extract runs one hotel per run)."""
    return dg.StaticPartitionsDefinition(list(portfolio.hotel_ids))


def easternmost_timezone(portfolio: Portfolio) -> str:
    """The portfolio time zone whose local date turns first (largest UTC offset now)."""
    now = datetime.now(UTC)  # only picks a zone; no business date is derived from it
    return max(portfolio.timezones, key=lambda tz: now.astimezone(ZoneInfo(tz)).utcoffset())


def last_snapshot_date(portfolio: Portfolio, clock: Clock | None = None) -> date | None:
    """The frozen clock's business date in the easternmost zone (the last partition), or None on the wall clock."""
    clock = clock or Clock()
    return clock.business_date(easternmost_timezone(portfolio)) if clock.frozen_at else None


def snapshot_partitions(portfolio: Portfolio, clock: Clock | None = None) -> dg.DailyPartitionsDefinition:
    """Daily snapshot dates from the portfolio's history start to today (the frozen clock's today, if frozen)."""
    last = last_snapshot_date(portfolio, clock)
    return dg.DailyPartitionsDefinition(
        start_date=portfolio.history_start.isoformat(), timezone=easternmost_timezone(portfolio),
        end_offset=1 if last is None else 0,
        end_date=None if last is None else (last + timedelta(days=1)).isoformat(),
    )
