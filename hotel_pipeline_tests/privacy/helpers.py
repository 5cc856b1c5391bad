"""Scanning every place a guest's values could leak to: warehouse tables, raw zone, Dagster's storage, exports."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import polars as pl

from hotel_pipeline.core.warehouse import Warehouse


def _forms(value: str) -> set[bytes]:
    """The bytes a value may take on disk: UTF-8, JSON-escaped, lower case."""
    out = {value.encode(), value.lower().encode(), json.dumps(value)[1:-1].encode()}
    return {o for o in out if o}


def scan_files(root: Path, values: list[str]) -> list[str]:
    """Files under ``root`` holding any of ``values`` (gzip files decompressed, Parquet files decoded)."""
    hits = []
    if not root.exists():
        return hits
    wanted = set().union(*(_forms(v) for v in values))
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        elif path.suffix == ".parquet":  # compressed columns: search the decoded text
            data = pl.read_parquet(path).write_csv().encode()
        if any(w in data for w in wanted):
            hits.append(str(path))
    return hits


def scan_warehouse(warehouse: Warehouse, values: list[str]) -> list[str]:
    """``table.column`` of every text column holding one of ``values`` (exact or inside, case-insensitive)."""
    if warehouse.dialect == "duckdb":
        tables = warehouse.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'")
    else:
        tables = warehouse.query("SELECT table_name FROM information_schema.tables WHERE table_schema = "
                                 "current_schema()")
    hits = []
    lowered = [v.lower() for v in values]
    for table in tables["table_name"].to_list():
        frame = warehouse.read_table(table)
        for column, dtype in frame.schema.items():
            if dtype.is_numeric() or dtype.is_temporal():
                continue
            texts = frame[column].cast(str).drop_nulls().str.to_lowercase()
            if any(texts.str.contains(v, literal=True).any() for v in lowered):
                hits.append(f"{table}.{column}")
    return hits
