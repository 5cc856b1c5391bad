"""Hard rules of the live layer ``daily_metrics`` (contract: one row per (hotel_id, stay_date), dense T..T+364).

Pickup subtracts snapshots from this board per stay date, so a missing day, a duplicate or a negative count would
surface as a wrong pickup figure rather than an error; these rules stop the run before that. The columns are the
model header's (``dbt_like_sql/daily_metrics.sql``); the rules are added to them here.
"""

from __future__ import annotations

from hotel_pipeline.core.schemas import boards, measures
from hotel_pipeline.core.schemas.from_table import contract
from hotel_pipeline.core.sql_models import model

__all__ = ["DAILY_METRICS", "KEY", "DailyMetrics"]

KEY = boards.KEY

#: The live board: one as-of date per hotel, 365 stay dates from it, counts never negative.
DAILY_METRICS = model("daily_metrics").table.with_contract(
    not_null=(*measures.NOT_NULL, *boards.NOT_NULL, "updated_at"), rules=measures.RULES, unique=tuple(KEY),
    checks=boards.CHECKS)

DailyMetrics = contract(DAILY_METRICS, "DailyMetrics",
                        "The live board: one as-of date per hotel, 365 stay dates from it, counts never negative.")
