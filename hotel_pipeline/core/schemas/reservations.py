"""Hard rules of the unified model ``reservations`` (contract: one row per (source, hotel_id, external_id)).

The columns, their types, nullability and per-column rules come from ``hotel_pipeline.core.reservation_table``;
this module adds the rules that span columns.

Every rule below holds on all 119,390 rows of the bundled data set and follows from the contract's semantics, so a
failure means a source normaliser or the write path broke something, not that a hotel had an odd booking. Odd but
possible bookings (negative or huge ADR, zero guests) are soft anomalies in ``anomalies``, never rejected here.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from hotel_pipeline.core import reservation_table
from hotel_pipeline.core.schemas.from_table import model_from_table
from hotel_pipeline.core.vocabularies import DINNER_PLANS, OFF_THE_BOOKS

KEY = list(reservation_table.KEY)


class ReservationRules(pa.DataFrameModel):
    """The newest accepted version of every reservation; a failure blocks the nights, the live board and pickup."""

    class Config:
        """Keys unique; types coerced because the two engines return slightly different integer widths."""

        unique = KEY
        coerce = True
        strict = False

    @pa.dataframe_check(name="departure_is_arrival_plus_nights")
    def departure_is_arrival_plus_nights(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Nights are expanded from arrival and nights; a departure that disagrees would misplace revenue."""
        return data.lazyframe.select(
            (pl.col("departure_date") == pl.col("arrival_date") + pl.duration(days=pl.col("nights"))).alias("ok")
        )

    @pa.dataframe_check(name="booked_on_not_after_arrival")
    def booked_on_not_after_arrival(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Lead time is never negative: a night cannot be on the books before the booking exists."""
        return data.lazyframe.select((pl.col("booked_on") <= pl.col("arrival_date")).alias("ok"))

    @pa.dataframe_check(name="cancelled_on_not_before_booked_on")
    def cancelled_on_not_before_booked_on(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """A cancellation before the booking would make the night vanish before it appears (pickup goes negative)."""
        return data.lazyframe.select(
            (pl.col("cancelled_on").is_null() | (pl.col("cancelled_on") >= pl.col("booked_on"))).alias("ok")
        )

    @pa.dataframe_check(name="checked_out_within_stay")
    def checked_out_within_stay(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """An early check-out frees the remaining nights; one outside arrival..departure has no meaning."""
        co = pl.col("checked_out_on")
        return data.lazyframe.select(
            (co.is_null() | co.is_between(pl.col("arrival_date"), pl.col("departure_date"))).alias("ok")
        )

    @pa.dataframe_check(name="cancelled_on_matches_status")
    def cancelled_on_matches_status(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """cancelled_on is set exactly for cancelled and no-show bookings, else the nights stay on (or off) wrongly."""
        return data.lazyframe.select(
            (pl.col("status").is_in(OFF_THE_BOOKS) == pl.col("cancelled_on").is_not_null()).alias("ok")
        )

    @pa.dataframe_check(name="checked_out_on_matches_status")
    def checked_out_on_matches_status(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """checked_out_on is set exactly for checked-out bookings (null until the guest has left)."""
        return data.lazyframe.select(
            ((pl.col("status") == "checked_out") == pl.col("checked_out_on").is_not_null()).alias("ok")
        )

    @pa.dataframe_check(name="is_dbb_matches_meal_plan")
    def is_dbb_matches_meal_plan(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Dinner-included is derived from the meal plan (HB or FB); a mismatch breaks the dining forecasts."""
        return data.lazyframe.select((pl.col("is_dbb") == pl.col("meal_plan").is_in(DINNER_PLANS)).alias("ok"))


Reservations = model_from_table("Reservations", reservation_table.RESERVATIONS, reservation_table.RULES,
                                ReservationRules)
