"""Hard rules of the live layer ``daily_metrics`` (contract: one row per (hotel_id, stay_date), dense T..T+364).

Pickup subtracts snapshots from this board per stay date, so a missing day, a duplicate or a negative count would
surface as a wrong pickup figure rather than an error; these rules stop the run before that.
"""

from __future__ import annotations

from datetime import datetime

from hotel_pipeline.core.schemas.boards import KEY, AsOfBoard
from hotel_pipeline.core.schemas.measures import RoomNightMeasures

__all__ = ["KEY", "DailyMetrics"]


class DailyMetrics(RoomNightMeasures, AsOfBoard):
    """The live board: one as-of date per hotel, 365 stay dates from it (AsOfBoard), counts never negative."""

    updated_at: datetime
