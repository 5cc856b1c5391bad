"""A small but complete pacing warehouse for the quality tests: a handful of reservations, models and snapshots.

Built through the project's own write path (``accept_reservations``, ``run_model``, ``take_snapshots``) so the
checks are exercised on tables shaped exactly as production writes them, in well under a second per engine.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import polars as pl

from hotel_pipeline.core.clock import Clock
from hotel_pipeline.core.portfolio import load_portfolio
from hotel_pipeline.core.sql_models import run_model
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.pacing.hotels import HOTELS, hotels_frame
from hotel_pipeline.pacing.recorder import take_snapshots
from hotel_pipeline.unified import accept_reservations, record_sync

#: The frozen clock's business date (2016-07-31, Lisbon) and the snapshot dates the helper writes.
TODAY = date(2016, 7, 31)
SNAPSHOT_DATES = [date(2016, 7, 29), date(2016, 7, 30), TODAY]


def reservation(external_id: str, hotel_id: str = "H1", *, arrival: date = date(2016, 8, 10), nights: int = 2,
                booked_on: date = date(2016, 6, 1), adr: float = 100.0, **fields: Any) -> dict[str, Any]:
    """One confirmed CSV reservation in the unified shape; ``fields`` override anything."""
    row = {
        "hotel_id": hotel_id, "source": "csv", "external_id": external_id, "status": "confirmed",
        "booked_on": booked_on, "cancelled_on": None, "checked_out_on": None, "arrival_date": arrival,
        "departure_date": arrival + timedelta(days=nights), "nights": nights, "room_type": "A", "room_number": None,
        "guest_token": None, "adults": 2, "children": 0, "babies": 0, "meal_plan": "BB", "is_dbb": False,
        "is_package": False, "net_amount": round(adr * nights, 2), "gross_amount": None, "currency": "EUR",
        "channel": "TA/TO",
    }
    row.update(fields)
    return row


def sample_reservations() -> list[dict[str, Any]]:
    """Ordinary bookings of both hotels plus the data set's soft anomalies (negative ADR, 5,400 EUR, zero guests)."""
    return [
        reservation("1"),
        reservation("2", arrival=date(2016, 7, 30), nights=3, booked_on=date(2016, 7, 1), status="checked_in"),
        reservation("3", arrival=date(2016, 9, 1), nights=1, status="cancelled", cancelled_on=date(2016, 7, 20)),
        reservation("14970", arrival=date(2016, 8, 20), nights=10, adr=-6.38),
        reservation("4", arrival=date(2016, 8, 2), nights=0),
        reservation("48516", "H2", arrival=date(2016, 8, 25), nights=1, adr=5400.0),
        reservation("5", "H2", arrival=date(2016, 8, 5), nights=2, adults=0, children=None, babies=0),
        reservation("6", "H2", arrival=date(2016, 7, 25), nights=3, booked_on=date(2016, 5, 1),
                    status="checked_out", checked_out_on=date(2016, 7, 27), meal_plan="HB", is_dbb=True),
    ]


def build_warehouse(warehouse: Warehouse, clock: Clock, rows: list[dict[str, Any]] | None = None,
                    capacity: dict[str, int] | None = None, snapshots: bool = True) -> None:
    """reservation_versions -> reservations -> reservation_nights -> daily_metrics, then three snapshot dates and
    pickup.

    ``snapshots=False`` leaves the historian out: reconstructing costs a few seconds on Postgres, and tests of the
    other tables do not need it.
    """
    portfolio = load_portfolio()
    now = clock.now_naive_utc()
    hotels = hotels_frame(portfolio, clock)
    if capacity:
        hotels = hotels.with_columns(
            pl.col("hotel_id").replace_strict(capacity, default=pl.col("capacity"), return_dtype=pl.Int32)
            .alias("capacity"))
    frame = pl.DataFrame(rows or sample_reservations(), infer_schema_length=None)
    with warehouse.transaction() as tx:
        accept_reservations(tx, frame, source_as_of=now, synced_at=now, batch_id="quality-test")
        for hotel_id in portfolio.hotel_ids:
            record_sync(tx, {"hotel_id": hotel_id, "source": "csv", "last_attempt_at": now, "last_success_at": now,
                             "last_status": "ok", "covered_through": TODAY - timedelta(days=1)})
        tx.ensure_table(HOTELS)
        tx.execute("DELETE FROM hotels")
        tx.insert_frame("hotels", HOTELS.conform(hotels))
        for name in ("reservations", "reservation_nights", "daily_metrics"):
            run_model(tx, name, {"run_at": now})
    if not snapshots:
        return
    outcomes = take_snapshots(warehouse, portfolio, clock, SNAPSHOT_DATES[0], SNAPSHOT_DATES[-1])
    assert {o.status for o in outcomes} <= {"recorded", "reconstructed"}, outcomes
    with warehouse.transaction() as tx:  # pickup: T-1 has a baseline, T-7, T-30 and STLY do not (null, never 0)
        run_model(tx, "pickup", {"run_at": now})


def at(day: date) -> datetime:
    """A naive UTC timestamp for inserted rows."""
    return datetime(day.year, day.month, day.day, 2, 0)
