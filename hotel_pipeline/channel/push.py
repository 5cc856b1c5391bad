"""One hotel's push cycle: recompute availability, queue what changed (one transaction), drain the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import polars as pl

from hotel_pipeline.channel.availability import MappingIssues, compute_availability, refresh_availability
from hotel_pipeline.channel.bookings import BookingPlan, plan_bookings
from hotel_pipeline.channel.calendar import CalendarPlan, plan_calendar
from hotel_pipeline.channel.config import HotelChannel
from hotel_pipeline.core.warehouse import Warehouse


@dataclass
class PlanReport:
    calendar: CalendarPlan
    bookings: BookingPlan
    issues: MappingIssues

    def messages(self, hotel_id: str) -> list[str]:
        out = self.issues.messages(hotel_id)
        out += [f"{hotel_id}: {n} reservations of room type {t!r} are not pushed: the type has no Beds24 roomId"
                for t, n in sorted(self.bookings.unmapped.items(), key=lambda kv: str(kv[0]))]
        return out


def plan_hotel(warehouse: Warehouse, hotel: HotelChannel, as_of: date, now: datetime,
               refresh: bool = True) -> PlanReport:
    """Refresh ``channel_availability`` (unless ``refresh`` is false: then read it as it is), then queue calendar
    and booking changes together in one transaction."""
    naive = now.replace(tzinfo=None)
    if refresh:
        availability, issues = refresh_availability(warehouse, hotel, as_of, naive)
    else:
        with warehouse.transaction() as tx:
            _, issues = compute_availability(tx, hotel, as_of, naive)
        availability = warehouse.query("SELECT * FROM channel_availability WHERE hotel_id = :h",
                                       {"h": hotel.hotel_id}) if warehouse.table_exists("channel_availability") \
            else pl.DataFrame()
    with warehouse.transaction() as tx:
        calendar = plan_calendar(tx, hotel, availability, as_of, naive)
        bookings = plan_bookings(tx, hotel, as_of, naive)
    return PlanReport(calendar, bookings, issues)
