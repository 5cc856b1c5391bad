"""The ``hotels`` table: the portfolio with each hotel's business date at the run's clock, which the SQL models join.

Written by the ``hotels`` asset and by the tests and benches that build a warehouse without Dagster.
"""

import polars as pl

from hotel_pipeline.core.clock import Clock
from hotel_pipeline.core.portfolio import Portfolio
from hotel_pipeline.core.warehouse import Tx, spec

HOTELS = spec(
    "hotels",
    [
        ("hotel_id", "VARCHAR", "portfolio hotel id"),
        ("name", "VARCHAR", "hotel name"),
        ("timezone", "VARCHAR", "IANA time zone; business dates are local dates here"),
        ("currency", "VARCHAR", "ISO 4217"),
        ("capacity", "INTEGER", "rooms available per night"),
        ("business_date", "DATE", "the hotel-local date at the run's clock (T)"),
        ("as_of", "TIMESTAMP", "the clock instant the row was built at (UTC)"),
    ],
    primary_key=("hotel_id",),
    doc="The portfolio as a table, with each hotel's current business date for the SQL models.",
    grain="hotel_id",
)


def hotels_frame(portfolio: Portfolio, clock: Clock) -> pl.DataFrame:
    now = clock.now_naive_utc()
    return HOTELS.conform(pl.DataFrame([
        {"hotel_id": h.id, "name": h.name, "timezone": h.timezone, "currency": h.currency, "capacity": h.capacity,
         "business_date": clock.business_date(h.timezone), "as_of": now}
        for h in portfolio.hotels
    ], infer_schema_length=None))


def write_hotels(tx: Tx, portfolio: Portfolio, clock: Clock) -> pl.DataFrame:
    """Replace the ``hotels`` table with the portfolio at this clock (inside the caller's transaction)."""
    frame = hotels_frame(portfolio, clock)
    tx.ensure_table(HOTELS)
    tx.lock_for_rewrite("hotels")
    tx.execute("DELETE FROM hotels")
    tx.insert_frame("hotels", frame)
    return frame
