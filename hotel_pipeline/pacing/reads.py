"""What the pacing checks read: a table (or the snapshot dates a run wrote) and pickup recomputed from the historian.

Plain warehouse reads, kept apart from the Dagster checks so a test or a bench can ask the same questions.
"""

from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from hotel_pipeline.core.schemas import pickup as pickup_schema
from hotel_pipeline.core.warehouse import Warehouse, identifier


@dataclass(frozen=True)
class SnapshotScope:
    """Which snapshot dates a pacing check reads: the run's partitions, or everything (``start``/``end`` None)."""

    start: date | None = None
    end: date | None = None

    @property
    def label(self) -> str:
        return "whole table" if self.start is None else f"{self.start} .. {self.end}"

    def where(self) -> tuple[str, dict[str, Any]]:
        if self.start is None:
            return "", {}
        return " WHERE snapshot_date BETWEEN :start AND :end", {"start": self.start, "end": self.end}


def read_table(warehouse: Warehouse, table: str, scope: SnapshotScope | None = None) -> pl.DataFrame | None:
    """The table (or the scoped snapshot dates), or None when it does not exist yet."""
    with warehouse.reading() as reads:
        if not reads.table_exists(table):
            return None
        where, params = scope.where() if scope else ("", {})
        return reads.query(f"SELECT * FROM {identifier(table)}{where}", params)  # noqa: S608 - identifier only


def pickup_mismatches(warehouse: Warehouse, frame: pl.DataFrame) -> pl.DataFrame:
    """Pickup rows whose deltas, STLY, pace, revenue pickup, occupancy or ADR differ from a recomputation out of the
    historian's baseline snapshots and the hotels' capacity (see ``pickup.recompute``)."""
    if frame.height == 0:
        return frame.head(0).with_columns(pl.lit("").alias("mismatched"))
    keys = pickup_schema.baseline_keys(frame)
    dates = sorted(set(keys["snapshot_date"].to_list()))
    params = {f"d{i}": d for i, d in enumerate(dates)}
    with warehouse.reading() as reads:
        snapshots = reads.query(
            "SELECT hotel_id, snapshot_date, stay_date, rooms_sold, net_revenue FROM pacing_snapshots "  # noqa: S608
            f"WHERE snapshot_date IN ({', '.join(':' + k for k in params)})", params,
        ) if reads.table_exists("pacing_snapshots") else pl.DataFrame(
            schema={"hotel_id": pl.String, "snapshot_date": pl.Date, "stay_date": pl.Date, "rooms_sold": pl.Int64,
                    "net_revenue": pl.Float64})
        capacity = dict(reads.query("SELECT hotel_id, capacity FROM hotels").iter_rows())
    expected = pickup_schema.recompute(frame, snapshots, capacity)
    return pickup_schema.recomputation_mismatches(frame, expected)
