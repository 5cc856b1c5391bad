"""Hive-partitioned Parquet of the marts, written idempotently and swapped in whole.

Layout (readable by DuckDB ``read_parquet('.../**/*.parquet', hive_partitioning = true)``, polars
``pl.scan_parquet(path, hive_partitioning=True)`` and ``pyarrow.dataset.dataset(path, partitioning="hive")``)::

    exports/pacing_snapshots/hotel_id=<hotel>/snapshot_date=<YYYY-MM-DD>/part-0.parquet
    exports/pickup/hotel_id=<hotel>/part-0.parquet
    exports/daily_metrics/hotel_id=<hotel>/part-0.parquet

Each table is written to a fresh folder beside the old one, then renamed over it, so a BI tool reading the export
sees the previous complete export or the new one. The same warehouse gives the same files (rows sorted by the
table's key), so re-running the export changes nothing.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from hotel_pipeline.core.warehouse import Warehouse, identifier


@dataclass(frozen=True)
class MartExport:
    table: str
    partition_by: tuple[str, ...]
    order_by: tuple[str, ...]


MARTS = (
    MartExport("pacing_snapshots", ("hotel_id", "snapshot_date"), ("hotel_id", "snapshot_date", "stay_date")),
    MartExport("pickup", ("hotel_id",), ("hotel_id", "stay_date")),
    MartExport("daily_metrics", ("hotel_id",), ("hotel_id", "stay_date")),
)


def _partition_dir(root: Path, mart: MartExport, key: tuple) -> Path:
    path = root
    for column, value in zip(mart.partition_by, key, strict=True):
        path = path / f"{column}={value.isoformat() if hasattr(value, 'isoformat') else value}"
    return path


def export_table(warehouse: Warehouse, mart: MartExport, dest: Path) -> dict[str, int]:
    """Write ``mart`` under ``dest/<table>/``; returns rows and files written."""
    frame = warehouse.query(
        f"SELECT * FROM {identifier(mart.table)} ORDER BY {', '.join(identifier(c) for c in mart.order_by)}")  # noqa: S608 - identifiers only
    final = dest / mart.table
    staging = dest / f".{mart.table}.{uuid.uuid4().hex[:8]}.part"
    staging.mkdir(parents=True)
    files = 0
    try:
        for key, part in frame.group_by(list(mart.partition_by), maintain_order=True):
            folder = _partition_dir(staging, mart, key)
            folder.mkdir(parents=True, exist_ok=True)
            part.drop(list(mart.partition_by)).write_parquet(folder / "part-0.parquet", statistics=True)
            files += 1
        old = dest / f".{mart.table}.{uuid.uuid4().hex[:8]}.old"
        if final.exists():
            os.replace(final, old)
        os.replace(staging, final)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {"rows": frame.height, "files": files}


def export_marts(warehouse: Warehouse, dest: Path) -> dict[str, dict[str, int]]:
    """Every mart that exists in the warehouse, exported; returns rows and files per table."""
    dest.mkdir(parents=True, exist_ok=True)
    return {m.table: export_table(warehouse, m, dest) for m in MARTS if warehouse.table_exists(m.table)}


def read_export(dest: Path, table: str) -> pl.DataFrame:
    """A table back from its export (hive partitions as columns), as a BI tool would read it."""
    return pl.read_parquet(dest / table / "**" / "*.parquet", hive_partitioning=True)
