"""The room-night measures the live board and the historian share (the historian photographs the board)."""

from __future__ import annotations

from datetime import date

import pandera.polars as pa


class RoomNightMeasures(pa.DataFrameModel):
    """Per hotel and stay date: counts never negative, a capacity to divide by, revenue (gross may be unknown)."""

    hotel_id: str
    stay_date: date
    rooms_sold: int = pa.Field(ge=0)
    capacity_count: int = pa.Field(gt=0)
    net_revenue: float
    gross_revenue: float = pa.Field(nullable=True)

    class Config:
        """Types coerced because the two engines return slightly different integer widths."""

        coerce = True
        strict = False
