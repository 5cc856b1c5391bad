"""Monthly range partitions of a Postgres table (the historian), created by the pipeline as it writes.

Why: at hundreds of hotels the historian holds about 133k rows per hotel and year; range-partitioned by snapshot
date, a night's photograph goes into one small partition, a backfill touches only the months it rebuilds, the
queries of one snapshot prune to one partition, and old months can be moved to cheaper storage without touching the
others. A table is partitioned when it is created from a spec with ``range_partition`` (a model's ``partition_by``
header); a historian created unpartitioned by an older release is left as it is (history is never rewritten).
DuckDB has no declarative partitions; there this module does nothing.
"""

from __future__ import annotations

from datetime import date

from hotel_pipeline.core.warehouse.resource import Tx
from hotel_pipeline.core.warehouse.tables import identifier


def next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def month_starts(start: date, end: date) -> list[date]:
    """First day of every month from ``start``'s to ``end``'s."""
    out, day = [], date(start.year, start.month, 1)
    while day <= end:
        out.append(day)
        day = next_month(day)
    return out


def partition_name(table: str, month: date) -> str:
    return identifier(f"{table}_y{month.year:04d}m{month.month:02d}")


def is_partitioned(tx: Tx, table: str) -> bool:
    if tx.dialect != "postgres":
        return False
    found = tx.query("SELECT c.relkind AS kind FROM pg_class c WHERE c.oid = to_regclass(:t)", {"t": table})
    return found.height == 1 and found["kind"][0] == "p"


def partitions(tx: Tx, table: str) -> list[str]:
    """Names of the table's partitions (Postgres), oldest first."""
    if tx.dialect != "postgres":
        return []
    return sorted(tx.query(
        "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass(:t)", {"t": table})["name"].to_list())


def ensure_month_partitions(tx: Tx, table: str, start: date, end: date) -> list[str]:
    """Create the monthly partitions of ``table`` that rows with dates in [start, end] need; returns those created.

    Safe when several runs need the same month at once (the DDL lock serialises them and the second finds it).
    """
    if not is_partitioned(tx, table):
        return []
    have = set(partitions(tx, table))
    created = []
    for month in month_starts(start, end):
        name = partition_name(table, month)
        if name in have:
            continue
        tx.lock_ddl()
        # Partition bounds cannot be bind parameters; these are ISO dates rendered from date objects, never input.
        tx.execute(f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {identifier(table)} "
                   f"FOR VALUES FROM ('{month.isoformat()}') TO ('{next_month(month).isoformat()}')")
        created.append(name)
    return created
