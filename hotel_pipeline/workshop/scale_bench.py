"""``make bench-scale``: how the pipeline's cost grows with the number of hotels, on DuckDB and on Postgres.

A synthetic portfolio of N hotels is made from the bundled data set: hotel i is a copy of the Resort Hotel (i even)
or the City Hotel (i odd) under its own id ``S0001`` .., with its dates kept and its time zone taken in turn from
eight zones east and west of UTC. For each N and engine, in a fresh process (so peak memory is that N's):

- import: the N hotels' history as known on 2016-06-30, one legacy CSV export per hotel, through the real importer
  file by file (the bulk load of a new portfolio);
- reconstruction: one year of the historian (snapshot dates 2015-07-01 .. 2016-06-30) for every hotel, in one run
  (one statement per slice of hotels, see ``pacing.recorder``);
- nightly cycle: the night's inbox (one full-state export per hotel as of 2016-07-01, as a legacy PMS drops it,
  imported file by file), live rebuild (reservations, reservation_nights, daily_metrics), the recorder for every
  hotel, pickup;
- the two historian queries analysts run most, timed 50 times each (p50, p95) with their query plan:
  pickup of one hotel over the next 90 nights against T-1, T-7 and T-30, and the booking curve of one night;
- peak memory (the process's max RSS) and storage size (DuckDB file, or the Postgres schema's relations).

The data set is read once per bench run; each hotel's export is written just before it is imported and removed after,
so neither memory nor disk holds more than one hotel's file at a time. Figures go to docs/benchmarks.md (section
"Scale") and are printed. No test asserts any of them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa

from hotel_pipeline.core import settings
from hotel_pipeline.core.clock import Clock, local_instant
from hotel_pipeline.core.portfolio import Portfolio, parse_portfolio
from hotel_pipeline.core.sql_models import run_model
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.core.warehouse.monthly_partitions import ensure_month_partitions
from hotel_pipeline.defs.pacing.checks import check_pacing_integrity
from hotel_pipeline.pacing.append_only import digest_new_snapshots
from hotel_pipeline.pacing.hotels import write_hotels
from hotel_pipeline.pacing.recorder import ROWS_PER_STATEMENT, ensure_historian, hotel_slices, take_snapshots
from hotel_pipeline.sources.csv.dataset import DATASET_HOTEL_IDS, load_history
from hotel_pipeline.sources.csv.importer import import_file
from hotel_pipeline.workshop.legacy_exports import export_frame

#: Zones the synthetic hotels take in turn: four west of UTC, four east (two of them cross no DST change).
ZONES = ["America/Los_Angeles", "America/Chicago", "America/New_York", "America/Sao_Paulo", "Europe/Lisbon",
         "Europe/Berlin", "Asia/Dubai", "Asia/Tokyo"]
BASES = {0: ("Resort Hotel", 187), 1: ("City Hotel", 226)}
YEAR = (date(2015, 7, 1), date(2016, 6, 30))
NIGHT = date(2016, 7, 1)
POSTGRES_URL = os.environ.get("HOTEL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
DOC_MARK = "## Scale"


def hotel_id(i: int) -> str:
    return f"S{i + 1:04d}"


def synthetic_portfolio(n: int) -> Portfolio:
    hotels = [{"id": hotel_id(i), "name": f"{BASES[i % 2][0]} #{i + 1}", "timezone": ZONES[i % len(ZONES)],
               "currency": "EUR", "capacity": BASES[i % 2][1],
               "sources": [{"type": "csv", "mapping": "hotel_bookings", "hotel_value": hotel_id(i),
                            "file_glob": "scale_*"}]} for i in range(n)]
    return parse_portfolio({"hotels": hotels, "csv_mappings": {"hotel_bookings": {"delimiter": ",", "columns": {}}}})


def write_bases(dest: Path) -> Path:
    """The two base hotels' daily exports as of the end of the year and as of the night (the legacy PMS layout),
    computed once per bench run from the data set and kept as Parquet for every size's process to read."""
    history = load_history()
    dest.mkdir(parents=True, exist_ok=True)
    for as_of in (YEAR[1], NIGHT):
        for k, (name, _) in BASES.items():
            export_frame(history, DATASET_HOTEL_IDS[name], as_of).write_parquet(dest / f"base{k}_{as_of}.parquet")
    return dest


def read_bases(bases: Path, as_of: date) -> dict[int, pl.DataFrame]:
    return {k: pl.read_parquet(bases / f"base{k}_{as_of}.parquet") for k in BASES}


def _hotel_export(bases: dict[int, pl.DataFrame], i: int) -> pl.DataFrame:
    """Hotel i's copy of its base hotel's export (booking_ref = hotel + data-set row, so ids are stable)."""
    return bases[i % 2].with_columns(pl.lit(hotel_id(i)).alias("hotel"),
                                     (pl.lit(hotel_id(i) + "-") + pl.col("booking_ref")).alias("booking_ref"))


def hotel_exports(n: int, bases: Path, as_of: date, dest: Path, label: str) -> Iterator[tuple[Path, int]]:
    """Hotel by hotel, the export of its book as of ``as_of`` written to ``dest`` (and removed once the caller is
    done with it): never more than one hotel's rows in memory or on disk, however many hotels."""
    frames = read_bases(bases, as_of)
    dest.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        frame = _hotel_export(frames, i)
        path = dest / f"scale_{hotel_id(i)}_{label}_asof_{as_of.isoformat()}.csv"
        frame.write_csv(path)
        try:
            yield path, frame.height
        finally:
            path.unlink(missing_ok=True)


def p50_p95(fn, repeat: int = 50) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


#: Pickup of one hotel over the next 90 nights against T-1, T-7 and T-30: one range scan of the four snapshots
#: (hotel, snapshot_date leading the key), pivoted, instead of three self-joins.
PICKUP_SQL = """
SELECT stay_date,
       MAX(CASE WHEN snapshot_date = :t THEN rooms_sold END) AS rooms_sold,
       MAX(CASE WHEN snapshot_date = :t THEN rooms_sold END)
         - MAX(CASE WHEN snapshot_date = :t1 THEN rooms_sold END) AS pickup_1d,
       MAX(CASE WHEN snapshot_date = :t THEN rooms_sold END)
         - MAX(CASE WHEN snapshot_date = :t7 THEN rooms_sold END) AS pickup_7d,
       MAX(CASE WHEN snapshot_date = :t THEN rooms_sold END)
         - MAX(CASE WHEN snapshot_date = :t30 THEN rooms_sold END) AS pickup_30d
FROM pacing_snapshots
WHERE hotel_id = :h AND snapshot_date IN (:t, :t1, :t7, :t30) AND stay_date >= :t AND stay_date < :t90
GROUP BY stay_date ORDER BY stay_date
"""
#: The booking curve of one night: every snapshot's rooms sold for that stay date.
CURVE_SQL = """
SELECT snapshot_date, rooms_sold FROM pacing_snapshots
WHERE hotel_id = :h AND stay_date = :d ORDER BY snapshot_date
"""


def analyst_session(warehouse: Warehouse, db: Path | None):
    """A held connection, as an analyst's session is (the figure is the query, not the connection set-up);
    returns (run(sql, params), close())."""
    if db is not None:
        import duckdb

        from hotel_pipeline.core.warehouse.duckdb_backend import DuckDBBackend

        con = duckdb.connect(str(db), read_only=True)

        def run(sql: str, params: dict[str, Any]) -> Any:
            return DuckDBBackend.query(con, sql, params)  # the warehouse's own :name binding, on the held session

        return run, con.close
    from hotel_pipeline.core.warehouse.postgres_backend import engine_for

    pg = engine_for(warehouse.url).connect()
    return (lambda sql, params: pg.execute(sa.text(sql), params).fetchall()), pg.close


def storage_bytes(warehouse: Warehouse, path: Path | None) -> int:
    if path is not None:
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    return int(warehouse.query(
        "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) AS b FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')"
    )["b"][0])


def plan_text(warehouse: Warehouse, sql: str, params: dict[str, Any]) -> str:
    frame = warehouse.query("EXPLAIN " + sql, params)
    return "\n".join(str(v) for row in frame.rows() for v in row if v is not None)


def _import_all(warehouse: Warehouse, portfolio: Portfolio, clock: Clock, exports: Iterator[tuple[Path, int]],
                outcomes: bool = False) -> tuple:
    """Import the exports one file at a time, as the inbox does; (rows, seconds spent importing[, outcomes])."""
    rows, seconds, seen = 0, 0.0, []
    for path, height in exports:
        t0 = time.perf_counter()
        seen.append(import_file(warehouse, path, portfolio, clock).outcome)
        seconds += time.perf_counter() - t0
        rows += height
    return (rows, seconds, seen) if outcomes else (rows, seconds)


def measure(n: int, engine: str, workdir: Path, bases: Path) -> dict[str, Any]:
    """Every figure of one N on one engine (run in a process of its own)."""
    os.environ["HOTEL_PIPELINE_DATA_DIR"] = str(workdir / "data")
    (workdir / "data").mkdir(parents=True, exist_ok=True)
    portfolio = synthetic_portfolio(n)
    schema = None
    if engine == "duckdb":
        db = workdir / "scale.duckdb"
        warehouse = Warehouse(url=f"duckdb:///{db}")
    else:
        db = None
        schema = f"scale_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1))
        with admin.begin() as con:
            con.execute(sa.text(f"CREATE SCHEMA {schema}"))
        warehouse = Warehouse(url=f"{POSTGRES_URL}?options=-csearch_path%3D{schema}")
    out: dict[str, Any] = {"hotels": n, "engine": engine}
    try:
        clock = Clock(frozen_at=local_instant(YEAR[1] + timedelta(days=1), "UTC", 2).isoformat())
        out["reservations"], out["import_s"] = _import_all(
            warehouse, portfolio, clock, hotel_exports(n, bases, YEAR[1], workdir / "history", "history"))

        def live(at: Clock) -> None:
            with warehouse.transaction() as tx:
                write_hotels(tx, portfolio, at)
                for name in ("reservations", "reservation_nights", "daily_metrics"):
                    run_model(tx, name, {"run_at": at.now_naive_utc()})

        live(clock)
        t0 = time.perf_counter()
        take_snapshots(warehouse, portfolio, clock, *YEAR)
        out["reconstruction_s"] = time.perf_counter() - t0
        out["historian_rows"] = int(warehouse.query("SELECT COUNT(*) AS n FROM pacing_snapshots")["n"][0])

        night = Clock(frozen_at=local_instant(NIGHT, "UTC", 14).isoformat())  # 03:00 or later in every zone
        out["nightly_rows"], out["nightly_import_s"], outcomes = _import_all(
            warehouse, portfolio, night, hotel_exports(n, bases, NIGHT, workdir / "inbox", "night"), outcomes=True)
        out["nightly_outcomes"] = {o: outcomes.count(o) for o in sorted(set(outcomes))}
        t0 = time.perf_counter() - out["nightly_import_s"]  # the cycle starts with the night's import
        t3 = time.perf_counter()
        live(night)
        out["live_rebuild_s"] = time.perf_counter() - t3
        t1 = time.perf_counter()
        take_snapshots(warehouse, portfolio, night, NIGHT, NIGHT)
        out["recorder_s"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        with warehouse.transaction() as tx:
            run_model(tx, "pickup", {"run_at": night.now_naive_utc()})
        out["pickup_s"] = time.perf_counter() - t2
        out["nightly_cycle_s"] = time.perf_counter() - t0
        t4 = time.perf_counter()
        assert check_pacing_integrity(warehouse).passed
        out["integrity_s"] = time.perf_counter() - t4

        t = YEAR[1]
        probe = {"h": hotel_id(n // 2), "t": t, "t1": t - timedelta(days=1), "t7": t - timedelta(days=7),
                 "t30": t - timedelta(days=30), "t90": t + timedelta(days=90), "d": t + timedelta(days=30)}
        out["pickup_plan"] = plan_text(warehouse, PICKUP_SQL, probe)
        out["curve_plan"] = plan_text(warehouse, CURVE_SQL, probe)
        run, close = analyst_session(warehouse, db)
        try:
            assert len(run(PICKUP_SQL, probe)) == 90
            out["pickup_query_ms"] = p50_p95(lambda: run(PICKUP_SQL, probe))
            out["curve_query_ms"] = p50_p95(lambda: run(CURVE_SQL, probe))
        finally:
            close()
        out["storage_mb"] = storage_bytes(warehouse, db) / 1e6
    finally:
        if schema is not None:
            with admin.begin() as con:
                con.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


#: A synthetic year of the historian: every hotel, snapshot date and stay date, values that vary with all three.
_SYNTHETIC_HISTORIAN = """
INSERT INTO pacing_snapshots (hotel_id, snapshot_date, stay_date, rooms_sold, capacity_count, net_revenue,
                              gross_revenue, origin, recorded_at)
SELECT 'S' || lpad(CAST(h + 1 AS VARCHAR), 4, '0'), CAST(:first AS DATE) + s, CAST(:first AS DATE) + s + d,
       CAST((h * 7 + s * 3 + d) % 180 AS INTEGER), CAST(187 AS INTEGER), round(((h * 7 + s * 3 + d) % 180) * 101.37, 2),
       CASE WHEN h % 2 = 0 THEN NULL ELSE round(((h * 7 + s * 3 + d) % 180) * 111.5, 2) END, 'reconstructed',
       CAST(:run_at AS TIMESTAMP)
FROM {hotels} CROSS JOIN {snapshots} CROSS JOIN {stays}
"""


def _series(dialect: str, name: str) -> str:
    """:lo_<name> .. :hi_<name> - 1 as an INTEGER column ``name``, in either engine."""
    lo, hi = f":lo_{name}", f":hi_{name}"
    if dialect == "duckdb":
        return f"(SELECT CAST(range AS INTEGER) AS {name} FROM range(CAST({lo} AS BIGINT), CAST({hi} AS BIGINT))) {name}_"  # noqa: S608 - name is h, s or d
    return f"generate_series(CAST({lo} AS INTEGER), CAST({hi} AS INTEGER) - 1) {name}"


def integrity_bench(n: int, engine: str, workdir: Path) -> dict[str, Any]:
    """The nightly integrity check over a synthetic year of N hotels' historian (N x 366 x 365 rows), built with
    SQL instead of through import and reconstruction, and digested as the recorder does (a slice of hotels per
    statement, ``ROWS_PER_STATEMENT``): the check clean (the nightly case), then with one row of the oldest snapshot
    altered (the check names it)."""
    warehouse, admin, schema = (Warehouse(url=f"duckdb:///{workdir / 'integrity.duckdb'}"), None, None) \
        if engine == "duckdb" else _postgres_schema()
    out: dict[str, Any] = {"hotels": n, "engine": engine}
    try:
        run_at = datetime(2016, 7, 1, 2)
        days = [YEAR[0] + timedelta(days=i) for i in range(366)]
        out["build_s"] = out["digest_s"] = out["snapshots"] = 0
        with warehouse.transaction() as tx:
            ensure_historian(tx)
            ensure_month_partitions(tx, "pacing_snapshots", YEAR[0], YEAR[1])
        for hotels in hotel_slices([hotel_id(i) for i in range(n)], len(days), ROWS_PER_STATEMENT):
            lo, hi = int(hotels[0][1:]) - 1, int(hotels[-1][1:])
            with warehouse.transaction() as tx:
                t0 = time.perf_counter()
                tx.execute(_SYNTHETIC_HISTORIAN.format(hotels=_series(tx.dialect, "h"), snapshots=_series(
                    tx.dialect, "s"), stays=_series(tx.dialect, "d")), {"first": YEAR[0], "run_at": run_at,
                    "lo_h": lo, "hi_h": hi, "lo_s": 0, "hi_s": len(days), "lo_d": 0, "hi_d": 365})
                t1 = time.perf_counter()
                tx.temp_table("_snapshot_plan", pl.DataFrame(
                    {"hotel_id": [h for h in hotels for _ in days], "snapshot_date": days * len(hotels)}))
                out["snapshots"] += digest_new_snapshots(tx, run_at)
                out["build_s"] += t1 - t0
                out["digest_s"] += time.perf_counter() - t1
        out["historian_rows"] = int(warehouse.query("SELECT COUNT(*) AS n FROM pacing_snapshots")["n"][0])
        for label in ("clean", "one_old_row_altered"):
            if label != "clean":
                raw = warehouse.backend.engine.begin() if engine == "postgres" else None
                _alter_oldest_row(warehouse, raw)
            cpu, t0 = time.process_time(), time.perf_counter()
            result = check_pacing_integrity(warehouse)
            out[f"check_{label}_s"] = time.perf_counter() - t0
            out[f"check_{label}_cpu_s"] = time.process_time() - cpu
            out[f"check_{label}"] = [result.passed, result.metadata["verified_by"].value,
                                     result.metadata["differing"].value[:3]]
        out["storage_mb"] = storage_bytes(warehouse, workdir / "integrity.duckdb" if engine == "duckdb" else None) / 1e6
    finally:
        if schema is not None and admin is not None:
            with admin.begin() as con:
                con.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()
    return out


def _postgres_schema() -> tuple[Warehouse, sa.Engine, str]:
    schema = f"scale_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as con:
        con.execute(sa.text(f"CREATE SCHEMA {schema}"))
    return Warehouse(url=f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"), admin, schema


def _alter_oldest_row(warehouse: Warehouse, pg: Any) -> None:
    """An analyst's UPDATE of one row of the oldest snapshot, past the pipeline's write path (and Postgres' guard)."""
    sql = ("UPDATE pacing_snapshots SET rooms_sold = rooms_sold + 1 WHERE hotel_id = 'S0001' "
           "AND snapshot_date = :s AND stay_date = :s")
    if pg is None:
        import duckdb

        from hotel_pipeline.core.warehouse.resource import duckdb_path

        with duckdb.connect(str(duckdb_path(warehouse.url))) as con:
            con.execute(sql.replace(":s", "$s"), {"s": YEAR[0]})
        return
    with pg as con:
        con.execute(sa.text("ALTER TABLE pacing_snapshots DISABLE TRIGGER USER"))
        con.execute(sa.text(sql), {"s": YEAR[0]})


def run_one(n: int, engine: str, bases: Path) -> dict[str, Any]:
    """``measure`` in a child process, so each N's peak memory is its own."""
    with tempfile.TemporaryDirectory(prefix=f"scale-{engine}-{n}-") as tmp:
        proc = subprocess.run([sys.executable, "-m", "hotel_pipeline.workshop.scale_bench", "--one", str(n), engine,
                               tmp, str(bases)], capture_output=True, text=True)
        if proc.returncode != 0:
            return {"hotels": n, "engine": engine, "error": proc.stderr.strip().splitlines()[-1:]}
        return json.loads(proc.stdout.strip().splitlines()[-1])


def _fmt(value: Any) -> str:
    if isinstance(value, list | tuple):
        return " / ".join(f"{v:.1f}" for v in value)
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


COLUMNS = ["engine", "hotels", "reservations", "import_s", "reconstruction_s", "historian_rows", "nightly_import_s",
           "live_rebuild_s", "recorder_s", "pickup_s", "nightly_cycle_s", "integrity_s", "pickup_query_ms", "curve_query_ms", "peak_rss_mb",
           "storage_mb"]


def markdown(results: list[dict[str, Any]], note: str) -> str:
    lines = [DOC_MARK, "", note, "", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in results:
        lines.append("| " + " | ".join(_fmt(r.get(c, r.get("error", "")) if c in r or c in ("engine", "hotels")
                                            else "n/a") for c in COLUMNS) + " |")
    lines += ["", "Query times are p50 / p95 in ms over 50 runs. Query plans at the largest N of each engine:", ""]
    for engine in sorted({r["engine"] for r in results}):
        done = [r for r in results if r["engine"] == engine and "pickup_plan" in r]
        if done:
            top = max(done, key=lambda r: r["hotels"])
            lines += [f"{engine}, {top['hotels']} hotels, pickup:", "```", top["pickup_plan"][:3000], "```",
                      f"{engine}, {top['hotels']} hotels, booking curve:", "```", top["curve_plan"][:3000], "```", ""]
    return "\n".join(lines) + "\n"


def write_doc(text: str, path: Path = settings.REPO_ROOT / "docs" / "benchmarks.md") -> None:
    current = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    head = current.split(DOC_MARK)[0].rstrip() + "\n\n"
    path.write_text(head + text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench-scale", description=__doc__.splitlines()[0])
    parser.add_argument("--hotels", default=os.environ.get("SCALE_HOTELS", "1,10,100,1000"),
                        help="comma-separated portfolio sizes")
    parser.add_argument("--postgres-max", type=int, default=int(os.environ.get("SCALE_POSTGRES_MAX", "100")),
                        help="largest N also measured on Postgres")
    parser.add_argument("--one", nargs=4, metavar=("N", "ENGINE", "DIR", "BASES"), help=argparse.SUPPRESS)
    parser.add_argument("--integrity", nargs=2, metavar=("N", "ENGINE"),
                        help="only the integrity check over a synthetic year of N hotels (printed, not written)")
    args = parser.parse_args(argv)
    if args.integrity:
        with tempfile.TemporaryDirectory(prefix="scale-integrity-") as tmp:
            print(json.dumps(integrity_bench(int(args.integrity[0]), args.integrity[1], Path(tmp)), default=str))
        return 0
    if args.one:
        print(json.dumps(measure(int(args.one[0]), args.one[1], Path(args.one[2]), Path(args.one[3])), default=str))
        return 0
    results = []
    with tempfile.TemporaryDirectory(prefix="scale-bases-") as tmp:
        bases = write_bases(Path(tmp))  # the data set is read once per bench run, not once per size and engine
        for n in [int(x) for x in args.hotels.split(",")]:
            for engine in ["duckdb", "postgres"] if n <= args.postgres_max else ["duckdb"]:
                started = time.perf_counter()
                result = run_one(n, engine, bases)
                result["wall_s"] = time.perf_counter() - started
                results.append(result)
                print(json.dumps({k: v for k, v in result.items() if not k.endswith("_plan")}, default=str),
                      flush=True)
    load = os.getloadavg()
    note = (f"One `make bench-scale` run on {os.cpu_count()} cores, load average at the end "
            f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}; sizes {args.hotels}, Postgres up to {args.postgres_max}.")
    write_doc(markdown(results, note))
    return 0


if __name__ == "__main__":
    sys.exit(main())
