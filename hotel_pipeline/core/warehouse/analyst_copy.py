"""The analysts' copy of a DuckDB warehouse: a read-only file of its own, so no analyst session can hold up a run.

DuckDB lets one process write a file, and a process that merely reads it still keeps writers of other processes
out. A night run that must wait for an analyst's long query fails when the wait outlasts its budget. So analysts
never open the pipeline's file: after each successful run the pipeline publishes ``<name>.analyst.duckdb`` beside
it, a consistent copy taken under the writer lock after a checkpoint, swapped into place with an atomic rename.
A session that has the previous copy open keeps reading it undisturbed (the old file lives on until it is closed);
the next session sees the new one. On Postgres (MVCC, readers never block writers) there is nothing to publish.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb

from hotel_pipeline.core.warehouse.resource import Warehouse, duckdb_path


def analyst_path(database: Path) -> Path:
    """``data/warehouse.duckdb`` -> ``data/warehouse.analyst.duckdb``."""
    return database.with_name(f"{database.stem}.analyst{database.suffix or '.duckdb'}")


def publish_analyst_copy(warehouse: Warehouse) -> Path | None:
    """Publish the analysts' copy of a DuckDB warehouse (None on Postgres or before the file exists)."""
    if warehouse.dialect != "duckdb":
        return None
    source = duckdb_path(warehouse.url)
    if not source.exists():
        return None
    target = analyst_path(source)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    # The writer lock keeps every writer out while the checkpoint folds the write-ahead log in and the bytes copy.
    with warehouse.backend.connection(write=True) as con:
        con.execute("CHECKPOINT")
        shutil.copyfile(source, tmp)
    with duckdb.connect(str(tmp), read_only=True) as check:  # a copy that does not open is never published
        check.execute("SELECT 1").fetchall()
    os.replace(tmp, target)
    return target
