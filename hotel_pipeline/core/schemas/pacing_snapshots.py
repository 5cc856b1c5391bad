"""Hard rules of the historian ``pacing_snapshots`` (contract: one row per (hotel_id, snapshot_date, stay_date)).

A snapshot is the baseline every later pickup figure is measured against, and it is never rewritten: a partial or
duplicated snapshot would corrupt pickup for a year. A hotel may have *no* rows for a date (skipped, see
``snapshot_log``); what it may not have is an incomplete one.
"""

from __future__ import annotations

from datetime import date, datetime

import pandera.polars as pa
import polars as pl

from hotel_pipeline.core.schemas.measures import RoomNightMeasures
from hotel_pipeline.core.schemas.validation import dense_horizon_rows, stay_in_horizon

KEY = ["hotel_id", "snapshot_date", "stay_date"]
ORIGINS = ["recorded", "reconstructed"]


class PacingSnapshots(RoomNightMeasures):
    """Snapshots: 365 stay dates S..S+364 per hotel and snapshot date, counts never negative."""

    snapshot_date: date
    origin: str = pa.Field(isin=ORIGINS)
    recorded_at: datetime

    class Config(RoomNightMeasures.Config):
        """Keys unique (coercion and non-strictness as in the shared measures)."""

        unique = KEY

    @pa.dataframe_check(name="stay_date_in_horizon")
    def stay_date_in_horizon(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """A snapshot of S holds stay dates S..S+364: the past is not on the books, the rest is beyond the horizon."""
        return data.lazyframe.select(stay_in_horizon("snapshot_date").alias("ok"))

    @pa.dataframe_check(name="dense_horizon")
    def dense_horizon(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Exactly 365 rows per (hotel, snapshot date): with unique keys and the range rule, every stay date once."""
        return data.lazyframe.select(dense_horizon_rows("snapshot_date").alias("ok"))
