"""Blocking checks of ``room_nights``: exact against the live board, and no room with two bookings on a night.

Both block: a residents list or a kitchen forecast from room nights that disagree with the board, or that put two
parties in one room, must not reach the restaurant. Failing rows travel as metadata.

No ``from __future__ import annotations`` here: Dagster inspects the ``context`` annotation at definition time.
"""

import dagster as dg
import polars as pl

from hotel_pipeline.core.schemas import json_rows, markdown_table
from hotel_pipeline.core.warehouse import WAREHOUSE_POOL, Warehouse
from hotel_pipeline.occupancy.reconcile import board_mismatches, double_bookings


def _result(rows: pl.DataFrame, ok: str, bad: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=rows.height == 0, severity=dg.AssetCheckSeverity.ERROR,
        description=ok if rows.height == 0 else f"{rows.height} {bad}",
        metadata={"failing_row_count": rows.height, "failing_rows": dg.MetadataValue.json(json_rows(rows)),
                  "failing_rows_table": dg.MetadataValue.md(markdown_table(rows))},
    )


@dg.asset_check(asset="room_nights", blocking=True, pool=WAREHOUSE_POOL, additional_deps=["daily_metrics"])
def room_nights_match_board(warehouse: Warehouse) -> dg.AssetCheckResult:
    """Per hotel and night of the live board, room nights = daily_metrics.rooms_sold."""
    return _result(board_mismatches(warehouse), "every night of the board has exactly its rooms sold as room nights",
                   "nights where room nights and rooms_sold differ")


@dg.asset_check(asset="room_nights", blocking=True, pool=WAREHOUSE_POOL)
def room_nights_one_booking_per_room(warehouse: Warehouse) -> dg.AssetCheckResult:
    """No room (and no unassigned sequence) holds two bookings on one night."""
    return _result(double_bookings(warehouse), "no room holds two bookings on a night",
                   "rooms or unassigned sequences holding more than one booking on a night")


CHECKS = [room_nights_match_board, room_nights_one_booking_per_room]
