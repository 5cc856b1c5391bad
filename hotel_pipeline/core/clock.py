"""The clock resource: the only source of "now" and of hotel-local business dates in domain code.

Tests, the demo and the sandboxes freeze it (``frozen_at``) so that "today" is a date of the data set (2016);
in production it follows the wall clock. Domain code never calls ``date.today()``.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg
from pydantic import Field


def parse_instant(text: str) -> datetime:
    """An ISO-8601 instant; a naive value is read as UTC so that a frozen clock means the same everywhere."""
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Clock(dg.ConfigurableResource):
    """Wall clock, or a frozen instant (``frozen_at``, ISO-8601; env ``HOTEL_PIPELINE_CLOCK`` by default)."""

    frozen_at: str | None = Field(
        default_factory=lambda: os.environ.get("HOTEL_PIPELINE_CLOCK") or None,
        description="ISO-8601 instant to freeze the clock at (naive = UTC); empty for the wall clock.",
    )

    def now(self) -> datetime:
        """The current instant, timezone-aware (UTC)."""
        if self.frozen_at:
            return parse_instant(self.frozen_at).astimezone(UTC)
        return datetime.now(UTC)

    def local_now(self, timezone: str) -> datetime:
        return self.now().astimezone(ZoneInfo(timezone))

    def business_date(self, timezone: str) -> date:
        """The hotel-local calendar date right now."""
        return self.local_now(timezone).date()

    def now_naive_utc(self) -> datetime:
        """``now()`` without tzinfo, for TIMESTAMP columns (the warehouse stores UTC)."""
        return self.now().replace(tzinfo=None)


def local_instant(day: date, timezone: str, hour: int = 3, minute: int = 0) -> datetime:
    """The UTC instant of ``hour:minute`` hotel-local on ``day`` (e.g. the 03:00 recorder), for freezing clocks."""
    local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(timezone))
    return local.astimezone(UTC)


def date_range(start: date, end: date) -> list[date]:
    """Every date from ``start`` to ``end`` inclusive."""
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def utc_offset_minutes(timezone: str) -> float:
    """The zone's standard (January) offset from UTC in minutes: orders zones west to east."""
    offset = datetime(2000, 1, 1, tzinfo=ZoneInfo(timezone)).utcoffset()
    return offset.total_seconds() / 60 if offset else 0.0


def zone_slug(timezone: str) -> str:
    """The zone as part of a Dagster name (``Europe/Lisbon`` -> ``europe_lisbon``), for one schedule per zone."""
    return re.sub(r"[^A-Za-z0-9]+", "_", timezone).lower()
