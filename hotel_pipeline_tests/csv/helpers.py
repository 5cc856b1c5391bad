"""Small helpers shared by the CSV importer tests."""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl

from hotel_pipeline.core.warehouse import Tx, Warehouse

TABLES = ("reservation_versions", "quarantine", "import_ledger", "integration_status")


def deliver(data_dir: Path, name: str, payload: bytes) -> Path:
    path = data_dir / "inbox" / name
    path.write_bytes(payload)
    return path


def digest(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def rows_of(warehouse: Warehouse | Tx, table: str, where: str = "", params: dict | None = None) -> pl.DataFrame:
    """Rows of a table (an empty frame if the importer never created it); pass a Tx to read many on one connection."""
    if not warehouse.table_exists(table):
        return pl.DataFrame()
    return warehouse.query(f"SELECT * FROM {table} {where}", params)


def snapshot(warehouse: Warehouse) -> dict[str, list[tuple]]:
    """Every row of the importer's tables, sorted, to compare before / after."""
    out = {}
    with warehouse.transaction() as tx:
        for table in TABLES:
            frame = rows_of(tx, table)
            out[table] = sorted(frame.rows(), key=repr) if frame.height else []
    return out
