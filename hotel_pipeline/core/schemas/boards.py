"""The shape every per-hotel board as of a business date shares (``daily_metrics`` and ``pickup``)."""

from __future__ import annotations

from hotel_pipeline.core.schemas.validation import dense_horizon_rows, one_anchor_per_hotel, stay_in_horizon
from hotel_pipeline.core.warehouse import FrameCheck

KEY = ["hotel_id", "stay_date"]
#: One row per hotel and stay date T..T+364, all of a hotel's rows as of one business date T.
NOT_NULL = ("hotel_id", "as_of_date", "stay_date")
CHECKS: tuple[FrameCheck, ...] = (
    FrameCheck("stay_date_in_horizon",
               "Stay dates run from the board's business date T to T+364, nothing before or after.",
               stay_in_horizon("as_of_date")),
    FrameCheck("dense_horizon",
               "Exactly 365 rows per hotel board (with unique keys and the range rule: every day, 0 where unsold).",
               dense_horizon_rows("as_of_date")),
    FrameCheck("one_board_per_hotel",
               "The board is rebuilt whole: a hotel with two as-of dates mixes two states of the books.",
               one_anchor_per_hotel("as_of_date")),
)
