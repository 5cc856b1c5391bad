"""How the historian stays append-only on both engines: refused where the engine can refuse, evident where it cannot.

- Postgres: triggers refuse UPDATE, DELETE (per row) and TRUNCATE (per statement) on ``pacing_snapshots``. They are
  checked on every write of the historian and (re)installed if someone dropped, disabled or replaced them.
- Both engines: the project's own write path refuses any UPDATE, DELETE or TRUNCATE of it (``append_only``).
- Both engines: when a snapshot (hotel, snapshot_date) is written, its row count and a hash of its rows go into
  ``pacing_snapshot_digests``. The blocking check ``pacing_snapshots_integrity`` recomputes them over the whole table
  and names every snapshot whose rows changed, that lost rows or vanished, or that appeared without the recorder.
  DuckDB has no triggers, so there this is what makes an analyst's UPDATE or DELETE visible before pickup reads it.

The hash is computed by the engine that holds the rows, at write time and at check time, with the same SQL: a
snapshot's rows ordered by stay date, each rendered as text, joined and hashed with md5 (a change detector, not a
security boundary: whoever can rewrite the rows can rewrite the digests too).
"""

from __future__ import annotations

import polars as pl

from hotel_pipeline.core.warehouse import Tx, Warehouse, append_only, identifier, spec
from hotel_pipeline.core.warehouse.monthly_partitions import partitions

HISTORIAN = append_only("pacing_snapshots")

SNAPSHOT_DIGESTS = spec(
    "pacing_snapshot_digests",
    [
        ("hotel_id", "VARCHAR", "portfolio hotel id"),
        ("snapshot_date", "DATE", "the snapshot"),
        ("row_count", "BIGINT", "rows the snapshot had when it was written (365)"),
        ("rows_md5", "VARCHAR", "md5 of its rows as written (stay_date order); recomputed by pacing_snapshots_integrity"),
        ("digested_at", "TIMESTAMP", "when the digest was taken (clock, UTC)"),
    ],
    primary_key=("hotel_id", "snapshot_date"),
    doc="One digest per snapshot of the historian, taken when it was written: what the integrity check compares with.",
    grain="(hotel_id, snapshot_date)",
)

#: One row of the historian as text: every column, nulls spelled out, so a change in any of them changes the hash.
_ROW_TEXT = " || '|' || ".join(
    f"coalesce(cast(s.{c} as varchar), '~')"
    for c in ("stay_date", "rooms_sold", "capacity_count", "net_revenue", "gross_revenue", "origin", "recorded_at")
)

#: Count and hash of every snapshot of the historian (optionally only those of the ``_snapshot_plan`` temp table).
_DIGEST_SELECT = f"""
    SELECT s.hotel_id, s.snapshot_date, COUNT(*) AS row_count,
           md5(string_agg({_ROW_TEXT}, chr(10) ORDER BY s.stay_date)) AS rows_md5
    FROM {HISTORIAN} s
"""  # noqa: S608 - constants of this module

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION pacing_snapshots_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'pacing_snapshots is append-only: rows are never updated, deleted or truncated';
END $$ LANGUAGE plpgsql
"""
#: trigger name -> its definition (row-level for UPDATE/DELETE; TRUNCATE triggers are statement-level by nature).
_PG_TRIGGERS = {
    "pacing_snapshots_append_only":
        f"CREATE TRIGGER pacing_snapshots_append_only BEFORE UPDATE OR DELETE ON {HISTORIAN} "
        "FOR EACH ROW EXECUTE FUNCTION pacing_snapshots_append_only()",
    "pacing_snapshots_no_truncate":
        f"CREATE TRIGGER pacing_snapshots_no_truncate BEFORE TRUNCATE ON {HISTORIAN} "
        "FOR EACH STATEMENT EXECUTE FUNCTION pacing_snapshots_append_only()",
}


def ensure_guard(tx: Tx) -> bool:
    """Postgres: make sure both triggers exist, are enabled and call the refusing function; True if it had to act."""
    if tx.dialect != "postgres":
        return False
    found = tx.query(
        "SELECT t.tgname AS name, t.tgenabled AS enabled, p.prosrc AS body FROM pg_trigger t "
        "JOIN pg_proc p ON p.oid = t.tgfoid WHERE t.tgrelid = CAST(:table AS regclass) AND NOT t.tgisinternal",
        {"table": HISTORIAN},
    )
    healthy = {
        r["name"] for r in found.iter_rows(named=True)
        if r["enabled"] in ("O", "A") and "RAISE EXCEPTION" in (r["body"] or "")
    }
    if healthy >= set(_PG_TRIGGERS):
        return False
    tx.lock_ddl()
    tx.execute(_PG_FUNCTION)
    for name, ddl in _PG_TRIGGERS.items():
        tx.execute(f"DROP TRIGGER IF EXISTS {name} ON {HISTORIAN}")
        tx.execute(ddl)
    return True


def ensure_partition_guards(tx: Tx) -> list[str]:
    """Postgres, partitioned historian: a TRUNCATE trigger on every monthly partition too (statement triggers are
    not inherited, so ``TRUNCATE pacing_snapshots_y2016m07`` would otherwise empty a month). Row triggers of the
    parent are cloned onto partitions by Postgres itself. Returns the partitions it had to guard."""
    guarded = []
    for part in partitions(tx, HISTORIAN):
        found = tx.query("SELECT 1 AS x FROM pg_trigger WHERE tgrelid = CAST(:t AS regclass) "
                         "AND tgname = 'pacing_snapshots_no_truncate' AND tgenabled IN ('O', 'A')", {"t": part})
        if found.height:
            continue
        tx.lock_ddl()
        tx.execute(f"DROP TRIGGER IF EXISTS pacing_snapshots_no_truncate ON {identifier(part)}")
        tx.execute(f"CREATE TRIGGER pacing_snapshots_no_truncate BEFORE TRUNCATE ON {identifier(part)} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION pacing_snapshots_append_only()")
        guarded.append(part)
    return guarded


def ensure_digests(tx: Tx) -> None:
    """The digest table; when it is new, the snapshots already in the historian are digested as they stand."""
    created = not tx.table_exists(SNAPSHOT_DIGESTS.name)
    tx.ensure_table(SNAPSHOT_DIGESTS)
    if created:
        tx.execute(
            f"INSERT INTO {SNAPSHOT_DIGESTS.name} (hotel_id, snapshot_date, row_count, rows_md5, digested_at) "  # noqa: S608
            f"SELECT hotel_id, snapshot_date, row_count, rows_md5, CAST(:now AS TIMESTAMP) FROM ({_DIGEST_SELECT} "
            "GROUP BY s.hotel_id, s.snapshot_date) d",
            {"now": None},
        )


def digest_new_snapshots(tx: Tx, run_at) -> int:
    """Digest the snapshots of ``_snapshot_plan`` (the ones this run wrote) that have no digest yet."""
    return tx.execute(
        f"INSERT INTO {SNAPSHOT_DIGESTS.name} (hotel_id, snapshot_date, row_count, rows_md5, digested_at) "  # noqa: S608
        f"SELECT d.hotel_id, d.snapshot_date, d.row_count, d.rows_md5, CAST(:run_at AS TIMESTAMP) FROM ("
        f"{_DIGEST_SELECT} JOIN _snapshot_plan p ON p.hotel_id = s.hotel_id AND p.snapshot_date = s.snapshot_date "
        "GROUP BY s.hotel_id, s.snapshot_date) d "
        f"WHERE NOT EXISTS (SELECT 1 FROM {SNAPSHOT_DIGESTS.name} x WHERE x.hotel_id = d.hotel_id "
        "AND x.snapshot_date = d.snapshot_date) ON CONFLICT DO NOTHING",
        {"run_at": run_at},
    )


def integrity_problems(warehouse: Warehouse) -> pl.DataFrame:
    """Every snapshot whose rows are not what was written: hotel_id, snapshot_date, problem, expected and found."""
    empty = pl.DataFrame(schema={"hotel_id": pl.String, "snapshot_date": pl.Date, "problem": pl.String,
                                 "rows_expected": pl.Int64, "rows_found": pl.Int64})
    with warehouse.reading() as reads:
        if not reads.table_exists(HISTORIAN) or not reads.table_exists(SNAPSHOT_DIGESTS.name):
            return empty
        found = reads.query(f"{_DIGEST_SELECT} GROUP BY s.hotel_id, s.snapshot_date")
        expected = reads.query(f"SELECT hotel_id, snapshot_date, row_count, rows_md5 FROM {SNAPSHOT_DIGESTS.name}")  # noqa: S608
    if found.height == 0 and expected.height == 0:
        return empty
    key = ["hotel_id", "snapshot_date"]
    cast = [pl.col("row_count").cast(pl.Int64), pl.col("rows_md5").cast(pl.String), pl.col("snapshot_date").cast(pl.Date)]
    both = expected.with_columns(cast).join(found.with_columns(cast), on=key, how="full", coalesce=True,
                                            suffix="_found")
    problem = (
        pl.when(pl.col("row_count_found").is_null()).then(pl.lit("missing: every row of the snapshot is gone"))
        .when(pl.col("row_count").is_null()).then(pl.lit("unrecorded: rows written outside the recorder"))
        .when(pl.col("row_count") > pl.col("row_count_found")).then(pl.lit("rows deleted"))
        .when(pl.col("row_count") < pl.col("row_count_found")).then(pl.lit("rows added"))
        .when(pl.col("rows_md5") != pl.col("rows_md5_found")).then(pl.lit("rows altered"))
    )
    return (
        both.with_columns(problem.alias("problem"))
        .filter(pl.col("problem").is_not_null())
        .select(*key, "problem", pl.col("row_count").alias("rows_expected"),
                pl.col("row_count_found").alias("rows_found"))
        .sort(key)
    )
