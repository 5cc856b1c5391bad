"""Hard rules of the historian ``pacing_snapshots`` (contract: one row per (hotel_id, snapshot_date, stay_date)).

A snapshot is the baseline every later pickup figure is measured against, and it is never rewritten: a partial or
duplicated snapshot would corrupt pickup for a year. A hotel may have *no* rows for a date (skipped, see
``snapshot_log``); what it may not have is an incomplete one.
"""

from __future__ import annotations

from hotel_pipeline.core.schemas import measures
from hotel_pipeline.core.schemas.from_table import contract
from hotel_pipeline.core.schemas.validation import dense_horizon_rows, stay_in_horizon
from hotel_pipeline.core.sql_models import model
from hotel_pipeline.core.warehouse import FrameCheck

KEY = ["hotel_id", "snapshot_date", "stay_date"]
ORIGINS = ["recorded", "reconstructed"]

#: Snapshots: 365 stay dates S..S+364 per hotel and snapshot date, counts never negative. The columns are the model
#: header's (``dbt_like_sql/pacing_snapshots.sql``).
PACING_SNAPSHOTS = model("pacing_snapshots").table.with_contract(
    not_null=(*measures.NOT_NULL, "snapshot_date", "origin", "recorded_at"),
    rules={**measures.RULES, "origin": {"isin": ORIGINS}}, unique=tuple(KEY),
    checks=(
        FrameCheck("stay_date_in_horizon", "A snapshot of S holds stay dates S..S+364: the past is not on the books, "
                   "the rest is beyond the horizon.", stay_in_horizon("snapshot_date")),
        FrameCheck("dense_horizon", "Exactly 365 rows per (hotel, snapshot date): with unique keys and the range "
                   "rule, every stay date once.", dense_horizon_rows("snapshot_date")),
    ))

PacingSnapshots = contract(PACING_SNAPSHOTS, "PacingSnapshots",
                           "Snapshots: 365 stay dates S..S+364 per hotel and snapshot date, counts never negative.")
