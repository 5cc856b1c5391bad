"""How the historian stays append-only on both engines: refused where the engine can refuse, evident where it cannot.

- Postgres: triggers refuse UPDATE, DELETE (per row) and TRUNCATE (per statement) on ``pacing_snapshots``. They are
  checked on every write of the historian and (re)installed if someone dropped, disabled or replaced them.
- Both engines: the project's own write path refuses any UPDATE, DELETE or TRUNCATE of it (``append_only``).
- Both engines: when a snapshot (hotel, snapshot_date) is written, its row count and two hashes of its rows go into
  ``pacing_snapshot_digests``, once. The blocking check ``pacing_snapshots_integrity`` compares the historian with
  them and names every snapshot whose rows changed, that lost rows or vanished, or that appeared without the
  recorder, old snapshots as much as last night's. DuckDB has no triggers, so there this is what makes an analyst's
  UPDATE or DELETE visible before pickup reads it; on Postgres it also catches what the triggers cannot stop (a
  session with ``session_replication_role = replica``, a trigger disabled and re-enabled, a partition detached).

Why two hashes, and why the nightly check stays cheap at a year of a thousand hotels (133 M rows):

- ``rows_hash`` is additive: the sum, modulo 2^64, of the engine's own 64-bit hash of every row (all its columns,
  keys included). Sums add up, so the whole table is verified against the digests with ONE scan that only hashes
  each row and adds - no grouping, no sorting, no text built per row. Equal totals (row count and hash sum) mean
  every snapshot holds the rows it was written with: an altered value changes its row's hash, a deleted, added or
  moved row changes the count or the sum, for old and new snapshots alike. Only when the totals differ does the
  check group by snapshot, with the same cheap hash, to name the culprits. This is a full read of the historian
  every night, on purpose: neither engine keeps a record of changes we could trust instead (DuckDB has no triggers;
  Postgres' statistics counters are reset, and its triggers can be bypassed), so reading every row is the only way
  to vouch for every row - the point is that reading it is cheap (docs/benchmarks.md has the figures). A rotating
  share verified each night would leave a tampered old snapshot undetected for days, and pickup reads old
  snapshots (last year's same night) every night.
- ``rows_md5`` is stable: md5 of the snapshot's rows rendered as text in stay-date order, the same in every engine
  version. An engine's own hash function is not documented as stable across versions (DuckDB's ``hash`` is
  not), so each digest also keeps ``hash_canary``, the engine's hash of a fixed row when ``rows_hash`` was taken.
  A digest whose canary no longer matches (or that predates ``rows_hash``) is verified against ``rows_md5`` (the slow
  way, once) and re-sealed with the new hash by the next write of the historian; a snapshot that fails that
  verification keeps its old seal and stays named by the check. Nothing already in the historian is ever blessed
  as it stands except when the digest table itself is first created.

Both are change detectors, not a security boundary: whoever can rewrite the rows can rewrite the digests too.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from hotel_pipeline.core.warehouse import Reads, Tx, Warehouse, append_only, identifier, spec
from hotel_pipeline.core.warehouse.monthly_partitions import partitions
from hotel_pipeline.core.warehouse.tables import TYPES

HISTORIAN = append_only("pacing_snapshots")

SNAPSHOT_DIGESTS = spec(
    "pacing_snapshot_digests",
    [
        ("hotel_id", "VARCHAR", "portfolio hotel id"),
        ("snapshot_date", "DATE", "the snapshot"),
        ("row_count", "BIGINT", "rows the snapshot had when it was written (365)"),
        ("rows_md5", "VARCHAR", "md5 of its rows as written (stay_date order): the seal that survives engine "
                                "upgrades"),
        ("digested_at", "TIMESTAMP", "when the digest was taken (clock, UTC)"),
        ("rows_hash", "BIGINT", "sum modulo 2^64 of the engine's hash of each row: what pacing_snapshots_integrity "
                                "adds up over the whole table every night"),
        ("hash_canary", "BIGINT", "the engine's hash of a fixed row when rows_hash was taken (another value: re-seal "
                                  "from rows_md5)"),
    ],
    primary_key=("hotel_id", "snapshot_date"),
    doc="One digest per snapshot of the historian, taken when it was written: what the integrity check compares with.",
    grain="(hotel_id, snapshot_date)",
)

#: The historian's columns a digest covers: fixed, so a column added by an upgrade (null in old rows) changes no hash.
_KEY = ("hotel_id", "snapshot_date")
_COLUMNS = ("stay_date", "rooms_sold", "capacity_count", "net_revenue", "gross_revenue", "origin", "recorded_at")

#: One row of the historian as text: every column, nulls spelled out, so a change in any of them changes the hash.
_ROW_TEXT = " || '|' || ".join(f"coalesce(cast(s.{c} as varchar), '~')" for c in _COLUMNS)
_MD5 = f"md5(string_agg({_ROW_TEXT}, chr(10) ORDER BY s.stay_date))"

#: A fixed row of the historian's types: its hash tells whether the engine still hashes as when a digest was taken.
_CANARY_ROW = (
    "SELECT CAST('H0' AS {VARCHAR}) AS hotel_id, DATE '2000-01-01' AS snapshot_date, DATE '2000-01-02' AS stay_date, "
    "CAST(1 AS INTEGER) AS rooms_sold, CAST(2 AS INTEGER) AS capacity_count, CAST(3.25 AS {DOUBLE}) AS net_revenue, "
    "CAST(NULL AS {DOUBLE}) AS gross_revenue, CAST('recorded' AS {VARCHAR}) AS origin, "
    "TIMESTAMP '2000-01-01 02:00:00' AS recorded_at"
)


def _row_hash(dialect: str) -> str:
    """The engine's 64-bit hash of one row of ``s``, every digested column and the key: vectorised in DuckDB
    (``hash``), per type in Postgres (``hash_record_extended``, the function behind hash partitioning).

    The combined hash is hashed once more, as one 64-bit value: Postgres combines a record's column hashes linearly
    (h * 31 + next), so a sum of them over rows would only see each column's values as a bag, and two rows trading
    a value would go unnoticed; the final mix makes every row's contribution depend on all its columns together.
    """
    cols = ", ".join(f"s.{c}" for c in (*_KEY, *_COLUMNS))
    if dialect == "duckdb":
        return f"hash(hash({cols}))"
    return f"hashint8extended(hash_record_extended(ROW({cols}), 0), 0)"


def _mod64(total: str, dialect: str) -> str:
    """``total`` (a sum of 64-bit hashes, wider than 64 bits in both engines) modulo 2^64, as a signed BIGINT: sums of
    digests then add up exactly like sums of rows, whatever the order and however many."""
    wide = "HUGEINT" if dialect == "duckdb" else "NUMERIC"
    m = f"CAST('18446744073709551616' AS {wide})"
    r = f"((COALESCE(CAST({total} AS {wide}), 0) % {m} + {m}) % {m})"
    return f"CAST(CASE WHEN {r} >= CAST('9223372036854775808' AS {wide}) THEN {r} - {m} ELSE {r} END AS BIGINT)"


def _rows_hash(dialect: str) -> str:
    return _mod64(f"SUM(CAST({_row_hash(dialect)} AS {'HUGEINT' if dialect == 'duckdb' else 'NUMERIC'}))", dialect)


def _digest_select(dialect: str, md5: bool = True) -> str:
    """Count and hashes of every snapshot of ``s`` (the historian, perhaps joined); GROUP BY the caller's."""
    md5_column = f", {_MD5} AS rows_md5" if md5 else ""
    return (f"SELECT s.hotel_id, s.snapshot_date, COUNT(*) AS row_count, "  # noqa: S608 - constants of this module
            f"{_rows_hash(dialect)} AS rows_hash{md5_column} FROM {HISTORIAN} s")


#: A digest (aliased ``x``) that ``rows_hash`` cannot vouch for: taken before it existed, or by an engine whose hash
#: function has changed since (its canary differs from ``:canary``, the engine's today).
_STALE = "(x.rows_hash IS NULL OR x.hash_canary IS NULL OR x.hash_canary <> :canary)"


def _canary(q: Tx | Reads) -> int:
    """The engine's hash of the fixed row, as a digest's ``hash_canary`` records it."""
    index = 0 if q.dialect == "duckdb" else 1
    row = _CANARY_ROW.format(VARCHAR=TYPES["VARCHAR"][index], DOUBLE=TYPES["DOUBLE"][index])
    return int(q.query(f"SELECT {_rows_hash(q.dialect)} AS h FROM ({row}) s")["h"][0])  # noqa: S608 - constants


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


def ensure_digests(tx: Tx) -> int:
    """The digest table, and every digest able to be compared by ``rows_hash``; returns the digests it re-sealed.

    When the table is new, the snapshots already in the historian are digested as they stand. A digest without a
    ``rows_hash`` (taken before it existed) or whose ``hash_canary`` is not the engine's today (an engine upgrade
    changed its hash function) gets one here, but only if its snapshot still matches ``rows_md5`` and ``row_count``:
    a snapshot altered in the meantime keeps its old seal, and the check keeps naming it.
    """
    created = not tx.table_exists(SNAPSHOT_DIGESTS.name)
    tx.ensure_table(SNAPSHOT_DIGESTS)
    canary = _canary(tx)
    if created:
        tx.execute(
            f"INSERT INTO {SNAPSHOT_DIGESTS.name} (hotel_id, snapshot_date, row_count, rows_md5, digested_at, "  # noqa: S608
            "rows_hash, hash_canary) SELECT hotel_id, snapshot_date, row_count, rows_md5, CAST(:now AS TIMESTAMP), "
            f"rows_hash, :canary FROM ({_digest_select(tx.dialect)} GROUP BY s.hotel_id, s.snapshot_date) d",
            {"now": None, "canary": canary},
        )
        return 0
    if not tx.query(f"SELECT COUNT(*) AS n FROM {SNAPSHOT_DIGESTS.name} x WHERE {_STALE}",  # noqa: S608
                    {"canary": canary})["n"][0]:
        return 0
    t = SNAPSHOT_DIGESTS.name
    return tx.execute(
        f"UPDATE {t} SET rows_hash = f.rows_hash, hash_canary = :canary FROM ("  # noqa: S608
        f"{_digest_select(tx.dialect)} JOIN {SNAPSHOT_DIGESTS.name} x ON x.hotel_id = s.hotel_id "
        f"AND x.snapshot_date = s.snapshot_date WHERE {_STALE} GROUP BY s.hotel_id, s.snapshot_date) f "
        f"WHERE {t}.hotel_id = f.hotel_id AND {t}.snapshot_date = f.snapshot_date "
        f"AND {t}.row_count = f.row_count AND {t}.rows_md5 = f.rows_md5",
        {"canary": canary},
    )


def digest_new_snapshots(tx: Tx, run_at) -> int:
    """Digest the snapshots of ``_snapshot_plan`` (the ones this run wrote) that have no digest yet."""
    return tx.execute(
        f"INSERT INTO {SNAPSHOT_DIGESTS.name} (hotel_id, snapshot_date, row_count, rows_md5, digested_at, rows_hash, "  # noqa: S608
        "hash_canary) SELECT d.hotel_id, d.snapshot_date, d.row_count, d.rows_md5, CAST(:run_at AS TIMESTAMP), "
        f"d.rows_hash, :canary FROM ({_digest_select(tx.dialect)} JOIN _snapshot_plan p ON p.hotel_id = s.hotel_id "
        "AND p.snapshot_date = s.snapshot_date GROUP BY s.hotel_id, s.snapshot_date) d "
        f"WHERE NOT EXISTS (SELECT 1 FROM {SNAPSHOT_DIGESTS.name} x WHERE x.hotel_id = d.hotel_id "
        "AND x.snapshot_date = d.snapshot_date) ON CONFLICT DO NOTHING",
        {"run_at": run_at, "canary": _canary(tx)},
    )


@dataclass(frozen=True)
class Verification:
    """What the integrity check found: the differing snapshots, how many digests it compared with, and how."""

    problems: pl.DataFrame
    snapshots_digested: int
    method: str


#: How a verification went, in the check's metadata.
BY_TOTAL = "whole-table row count and hash sum (one scan) equal the digests' sums"
BY_SNAPSHOT = "whole-table totals differ: every snapshot compared by row count and hash"
BY_MD5 = "digests sealed by another hash function: every snapshot compared by row count and md5"


def verify_historian(warehouse: Warehouse) -> Verification:
    """Compare the historian with its digests: one cheap scan when all is well, per snapshot only when not.

    Problems have hotel_id, snapshot_date, problem, rows_expected and rows_found.
    """
    empty = pl.DataFrame(schema={"hotel_id": pl.String, "snapshot_date": pl.Date, "problem": pl.String,
                                 "rows_expected": pl.Int64, "rows_found": pl.Int64})
    # Each comparison is one statement, so both sides are read from the same snapshot of the warehouse even where a
    # read sees every commit as it happens (Postgres' READ COMMITTED): a recorder committing a night's rows and their
    # digests meanwhile never shows as rows without a digest.
    with warehouse.reading() as reads:
        if not reads.table_exists(HISTORIAN) or not reads.table_exists(SNAPSHOT_DIGESTS.name):
            return Verification(empty, 0, BY_TOTAL)
        d = reads.dialect
        totals = reads.query(
            f"SELECT e.snapshots, e.row_count, e.rows_hash, e.stale, h.row_count AS rows_found, "  # noqa: S608
            f"h.rows_hash AS hash_found FROM (SELECT COUNT(*) AS snapshots, COALESCE(SUM(x.row_count), 0) AS row_count, "
            f"{_mod64('SUM(x.rows_hash)', d)} AS rows_hash, SUM(CASE WHEN {_STALE} THEN 1 ELSE 0 END) AS stale "
            f"FROM {SNAPSHOT_DIGESTS.name} x) e CROSS JOIN "
            f"(SELECT COUNT(*) AS row_count, {_rows_hash(d)} AS rows_hash FROM {HISTORIAN} s) h",
            {"canary": _canary(reads)},
        ).row(0, named=True)
        digested = int(totals["snapshots"])
        if not totals["stale"]:
            if (int(totals["rows_found"]), int(totals["hash_found"])) == (int(totals["row_count"]),
                                                                          int(totals["rows_hash"])):
                return Verification(empty, digested, BY_TOTAL)
            method, compared = BY_SNAPSHOT, "rows_hash"
        else:
            method, compared = BY_MD5, "rows_md5"
        both = reads.query(
            f"SELECT COALESCE(e.hotel_id, f.hotel_id) AS hotel_id, COALESCE(e.snapshot_date, f.snapshot_date) "  # noqa: S608
            f"AS snapshot_date, e.row_count, e.{compared}, f.row_count AS row_count_found, f.{compared} AS "
            f"{compared}_found FROM {SNAPSHOT_DIGESTS.name} e FULL OUTER JOIN ("
            f"{_digest_select(d, md5=compared == 'rows_md5')} GROUP BY s.hotel_id, s.snapshot_date) f "
            "ON e.hotel_id = f.hotel_id AND e.snapshot_date = f.snapshot_date"
        )
    key = list(_KEY)
    both = both.with_columns(pl.col("snapshot_date").cast(pl.Date),
                             *(pl.col(c).cast(pl.Int64) for c in ("row_count", "row_count_found")),
                             *(pl.col(c).cast(pl.String) for c in (compared, f"{compared}_found")))
    problem = (
        pl.when(pl.col("row_count_found").is_null()).then(pl.lit("missing: every row of the snapshot is gone"))
        .when(pl.col("row_count").is_null()).then(pl.lit("unrecorded: rows written outside the recorder"))
        .when(pl.col("row_count") > pl.col("row_count_found")).then(pl.lit("rows deleted"))
        .when(pl.col("row_count") < pl.col("row_count_found")).then(pl.lit("rows added"))
        .when(pl.col(compared) != pl.col(f"{compared}_found")).then(pl.lit("rows altered"))
    )
    problems = (
        both.with_columns(problem.alias("problem"))
        .filter(pl.col("problem").is_not_null())
        .select(*key, "problem", pl.col("row_count").alias("rows_expected"),
                pl.col("row_count_found").alias("rows_found"))
        .sort(key)
    )
    return Verification(problems, digested, method)
