"""The shape every per-hotel board as of a business date shares (``daily_metrics`` and ``pickup``)."""

from __future__ import annotations

from datetime import date

import pandera.polars as pa
import polars as pl

from hotel_pipeline.core.schemas.validation import dense_horizon_rows, one_anchor_per_hotel, stay_in_horizon

KEY = ["hotel_id", "stay_date"]


class AsOfBoard(pa.DataFrameModel):
    """One row per hotel and stay date T..T+364, all of a hotel's rows as of one business date T."""

    hotel_id: str
    as_of_date: date
    stay_date: date

    class Config:
        """Keys unique; types coerced because the two engines return slightly different integer widths."""

        coerce = True
        strict = False
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
        return data.lazyframe.select(one_anchor_per_hotel("as_of_date").alias("ok"))
