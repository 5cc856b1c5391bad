"""Hard rules of ``pickup`` (contract: per hotel and future stay date T..T+364, as of the hotel's business date T).

Analysts read pickup and pace straight off this table, so its arithmetic is part of the contract: a missing baseline
must stay null (the known mistake is a 0, which reads as "no pickup"), pace is exactly rooms on the books minus the
same time last year's, and ADR exists only where a room is sold.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from hotel_pipeline.core.schemas.boards import KEY, AsOfBoard

__all__ = ["KEY", "Pickup"]


class Pickup(AsOfBoard):
    """The live board's stay dates (AsOfBoard) with deltas that are null where their baseline snapshot is missing."""

    rooms_sold: int = pa.Field(ge=0)
    pickup_1d: int = pa.Field(nullable=True)
    pickup_7d: int = pa.Field(nullable=True)
    pickup_30d: int = pa.Field(nullable=True)
    rooms_sold_stly: int = pa.Field(nullable=True, ge=0)
    pace_vs_stly: int = pa.Field(nullable=True)
    net_revenue: float
    revenue_pickup_1d: float = pa.Field(nullable=True)
    occupancy: float = pa.Field(ge=0)
    adr: float = pa.Field(nullable=True)

    @pa.dataframe_check(name="pace_is_rooms_minus_stly")
    def pace_is_rooms_minus_stly(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """pace_vs_stly = rooms_sold - rooms_sold_stly, and null exactly where the STLY baseline is missing."""
        stly, pace = pl.col("rooms_sold_stly"), pl.col("pace_vs_stly")
        ok = pl.when(stly.is_null()).then(pace.is_null()).otherwise(pace == pl.col("rooms_sold") - stly)
        return data.lazyframe.select(ok.fill_null(False).alias("ok"))

    @pa.dataframe_check(name="adr_only_when_sold")
    def adr_only_when_sold(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """ADR is net revenue per sold room: null when nothing is sold, present otherwise."""
        return data.lazyframe.select((pl.col("adr").is_null() == (pl.col("rooms_sold") == 0)).alias("ok"))
