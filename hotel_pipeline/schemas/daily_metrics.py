"""Hard rules of the live layer ``daily_metrics`` (contract: one row per (hotel_id, stay_date), dense T..T+364).

Pickup subtracts snapshots from this board per stay date, so a missing day, a duplicate or a negative count would
surface as a wrong pickup figure rather than an error; these rules stop the run before that.
"""

from __future__ import annotations

from datetime import date, datetime

import pandera.polars as pa
import polars as pl

from hotel_pipeline.schemas.measures import RoomNightMeasures
from hotel_pipeline.schemas.validation import dense_horizon_rows, stay_in_horizon

KEY = ["hotel_id", "stay_date"]


class DailyMetrics(RoomNightMeasures):
    """The live board: one as-of date per hotel, 365 stay dates from it, counts never negative."""

    updated_at: datetime
    as_of_date: date

    class Config(RoomNightMeasures.Config):
        """Keys unique (coercion and non-strictness as in the shared measures)."""

        unique = KEY

    @pa.dataframe_check(name="stay_date_in_horizon")
    def stay_date_in_horizon(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Stay dates run from the board's business date T to T+364, nothing before or after."""
        return data.lazyframe.select(stay_in_horizon("as_of_date").alias("ok"))

    @pa.dataframe_check(name="dense_horizon")
    def dense_horizon(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Exactly 365 rows per hotel board (with unique keys and the range rule: every day, 0 where unsold)."""
        return data.lazyframe.select(dense_horizon_rows("as_of_date").alias("ok"))

    @pa.dataframe_check(name="one_board_per_hotel")
    def one_board_per_hotel(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """The board is rebuilt whole: a hotel with two as-of dates mixes two states of the books."""
        return data.lazyframe.select((pl.col("as_of_date").n_unique().over("hotel_id") == 1).alias("ok"))
