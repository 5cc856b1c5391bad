"""``pii_access_log``: every production of guest names in clear, written in the transaction that decrypted them."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl

from hotel_pipeline.core.warehouse import Tx, spec

PII_ACCESS_LOG = spec(
    "pii_access_log",
    [
        ("logged_at", "TIMESTAMP", "when the names were produced (clock, UTC)"),
        ("hotel_id", "VARCHAR", "hotel whose guests were shown"),
        ("start_date", "DATE", "first night of the list"),
        ("end_date", "DATE", "last night of the list"),
        ("requested_by", "VARCHAR", "the Dagster run id, or the user of the command line"),
        ("purpose", "VARCHAR", "what the list was produced for (e.g. residents list)"),
        ("policy", "VARCHAR", "the hotel's guest display policy at the time"),
        ("rows_listed", "INTEGER", "room nights in the list"),
        ("names_shown", "INTEGER", "distinct guests whose name (or part of it) was shown"),
    ],
    doc="Every production of guest names in clear: when, by whom, which hotel and nights, how many names.",
    grain="one row per production",
)


def log_access(tx: Tx, *, at: datetime, hotel_id: str, start: date, end: date, requested_by: str, purpose: str,
               policy: str, rows: int, names: int) -> None:
    tx.ensure_table(PII_ACCESS_LOG)
    tx.insert_frame("pii_access_log", PII_ACCESS_LOG.conform(pl.DataFrame([{
        "logged_at": at, "hotel_id": hotel_id, "start_date": start, "end_date": end, "requested_by": requested_by,
        "purpose": purpose, "policy": policy, "rows_listed": rows, "names_shown": names}])))
