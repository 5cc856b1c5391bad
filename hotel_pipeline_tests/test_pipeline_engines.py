"""The pipeline through Dagster on both warehouses: identical tables, idempotent re-runs, an append-only historian."""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
import sqlalchemy as sa
from dagster._core.execution.backfill import BulkActionStatus

from hotel_pipeline.core.portfolio import Portfolio, load_portfolio
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.pacing.recorder import take_snapshots
from hotel_pipeline.workshop.bench import copy_duckdb
from hotel_pipeline.workshop.demo import NIGHT_TAG, run_pacing_demo
from hotel_pipeline_tests.conftest import ShortRun
from hotel_pipeline_tests.pipeline_helpers import clock_at, deployment_instance

#: Every table the pacing pipeline writes, with the order that makes two copies comparable row by row.
TABLES = {
    "hotels": "hotel_id",
    "reservation_versions": "source, hotel_id, external_id, version",
    "reservations": "source, hotel_id, external_id",
    "reservation_nights": "hotel_id, source, external_id, stay_date",
    "daily_metrics": "hotel_id, stay_date",
    "pacing_snapshots": "hotel_id, snapshot_date, stay_date",
    "snapshot_log": "hotel_id, snapshot_date",
    "pickup": "hotel_id, stay_date",
    "integration_status": "hotel_id, source",
    "import_ledger": "file_sha256",
    "quarantine": "location",
}
SHORT = {"first_night": date(2016, 7, 18), "last_night": date(2016, 7, 20), "reconstruct_from": date(2016, 7, 1)}


def snapshot_tables(warehouse: Warehouse) -> dict[str, pl.DataFrame]:
    """Tables normalised for comparison across engines (Postgres ints come back as Int64, DuckDB's as Int32)."""
    out = {}
    for name, order in TABLES.items():
        frame = warehouse.read_table(name, order_by=order)
        out[name] = frame.with_columns(
            [pl.col(c).cast(pl.Int64) for c, t in frame.schema.items() if t.is_integer()]
        ).drop([c for c in ("raw_path",) if c in frame.columns])
    return out


CONTRACTS = {"reservations_contract", "daily_metrics_contract", "pacing_snapshots_contract", "pacing_snapshots_integrity",
             "pickup_contract", "csv_files_accounted"}


def run_short_pipeline(warehouse: Warehouse, root: Path, checks: set[str] = CONTRACTS,
                       portfolio: Portfolio | None = None) -> Counter[tuple[str, bool]]:
    """The demo's nights over SHORT (for ``portfolio``, default the configured one); returns how often each of ``checks`` ran, by (check name, passed); the names of
    every check evaluated under the key ("*", True)."""
    del root  # the demo uses the configured inbox (HOTEL_PIPELINE_DATA_DIR) and clears its own stale exports
    # A persistent (temporary) instance, as the daemon's: schedules such as pms_incremental_schedule need one.
    with tempfile.TemporaryDirectory(prefix="dagster-") as home, deployment_instance(Path(home)) as instance:
        run_pacing_demo(warehouse, instance, portfolio=portfolio, **SHORT)
        evaluations = [e.dagster_event.event_specific_data for run in instance.get_runs()
                       for e in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)]
        run_short_pipeline.evaluated = {e.asset_check_key.name for e in evaluations}
        run_short_pipeline.backfills = instance.get_backfills()
        run_short_pipeline.runs = instance.get_runs()
        run_short_pipeline.materialized = {k.to_user_string() for k in instance.get_asset_keys()
                                           if instance.get_latest_materialization_event(k) is not None}
        backfill_runs = [r.run_id for r in instance.get_runs() if "dagster/backfill" in r.tags]
        run_short_pipeline.backfill_materialized = Counter(
            e.dagster_event.asset_key.to_user_string() for run_id in backfill_runs
            for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION))
        return Counter((e.asset_check_key.name, e.passed) for e in evaluations if e.asset_check_key.name in checks)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOTEL_PIPELINE_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


@pytest.mark.slow(40)
def test_postgres_pipeline_equals_duckdb(short_run_on_duckdb: ShortRun, postgres_warehouse: Warehouse,
                                         data_dir: Path) -> None:
    """Reconstruction of 2016-07-01..07-17 plus three recorded nights, every SQL model, on both engines (the DuckDB
    run is the session's shared one, its own data folder; this Postgres run gets another)."""
    duck = short_run_on_duckdb
    checked = duck.checked
    # Every run met its blocking contracts on the real data: the 02:00 import run and the 03:00 nightly job of each of
    # 3 nights (live layer, snapshot, pickup), and the backfill.
    assert checked == {("reservations_contract", True): 6, ("daily_metrics_contract", True): 6,
                       ("pacing_snapshots_contract", True): 4, ("pacing_snapshots_integrity", True): 4,
                       ("pickup_contract", True): 3, ("csv_files_accounted", True): 3}
    # The warning checks run too (the demo launches the deployment's jobs, which carry every check of their assets).
    assert {"reservations_adr_outliers", "reservations_zero_guests", "daily_metrics_over_capacity",
            "pacing_snapshots_over_capacity"} <= run_short_pipeline.evaluated
    # The reconstruction is one Dagster backfill (the UI's Backfills page), complete, whose one run did the range;
    # every run names the simulated night it belongs to.
    [backfill] = duck.backfills
    assert backfill.status == BulkActionStatus.COMPLETED_SUCCESS
    [backfill_run] = [r for r in duck.runs if r.tags.get("dagster/backfill") == backfill.backfill_id]
    assert (backfill_run.job_name, backfill_run.tags["dagster/asset_partition_range_start"]) == (
        "reconstruct_history_job", "2016-07-01")
    done = backfill.asset_backfill_data
    assert done is not None and done.materialized_subset == done.target_subset
    assert sorted(done.target_subset.get_partitions_subset(dg.AssetKey("pacing_snapshots")).get_partition_keys()) == [
        f"2016-07-{d:02d}" for d in range(1, 18)]
    # The historian is materialised per date; the tables it writes beside it once for the run, whatever its range.
    assert duck.backfill_materialized == Counter(
        {"pacing_snapshots": 17, "snapshot_log": 1, "pacing_snapshot_digests": 1}), duck.backfill_materialized
    assert all(NIGHT_TAG in r.tags for r in duck.runs)
    assert run_short_pipeline(postgres_warehouse, data_dir / "b") == checked
    left, right = snapshot_tables(duck.warehouse), snapshot_tables(postgres_warehouse)
    assert left["pacing_snapshots"].height == 2 * 365 * (17 + 3)
    assert left["pacing_snapshots"].filter(pl.col("origin") == "recorded")["snapshot_date"].n_unique() == 3
    for name in TABLES:
        assert left[name].columns == right[name].columns, name
        assert left[name].equals(right[name]), f"{name} differs between DuckDB and Postgres"
    pickup = left["pickup"]
    # As of 2016-07-20 the historian holds 2016-07-01 .. 07-20: 1- and 7-day baselines exist, 30-day and STLY do not,
    # and a missing baseline is null, never 0.
    assert pickup.height == 2 * 365 and pickup["as_of_date"].unique().to_list() == [date(2016, 7, 20)]
    assert pickup["pickup_1d"].null_count() == 2  # only the last stay date, outside snapshot T-1's horizon
    assert pickup["pickup_7d"].null_count() == 2 * 7
    assert pickup["pickup_30d"].null_count() == pickup.height
    assert pickup["rooms_sold_stly"].null_count() == pickup["pace_vs_stly"].null_count() == pickup.height
    first = pickup.filter((pl.col("hotel_id") == "H2") & (pl.col("stay_date") == date(2016, 7, 20))).row(0, named=True)
    snap = left["pacing_snapshots"].filter((pl.col("hotel_id") == "H2") & (pl.col("stay_date") == date(2016, 7, 20))
                                           & (pl.col("snapshot_date") == date(2016, 7, 19))).row(0, named=True)
    assert first["pickup_1d"] == first["rooms_sold"] - snap["rooms_sold"]


@pytest.mark.slow(30)
def test_rerunning_everything_changes_nothing(short_run_on_duckdb: ShortRun, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The shared first run, copied (warehouse file and data folder), is run again on the copy."""
    shutil.copytree(short_run_on_duckdb.data_dir, tmp_path / "data")
    monkeypatch.setenv("HOTEL_PIPELINE_DATA_DIR", str(tmp_path / "data"))
    warehouse = copy_duckdb(short_run_on_duckdb.warehouse.backend.path, tmp_path / "warehouse.duckdb")
    before = snapshot_tables(warehouse)
    for name, frame in snapshot_tables(short_run_on_duckdb.warehouse).items():  # the copy is the first run's state
        assert frame.height > 0 or name == "quarantine", name
        assert before[name].equals(frame), name
    run_short_pipeline(warehouse, tmp_path)  # same exports re-delivered, same nights, same clock
    after = snapshot_tables(warehouse)
    for name in TABLES:
        assert before[name].equals(after[name]), f"{name} changed on a re-run"


def test_historian_is_append_only(warehouse: Warehouse, data_dir: Path) -> None:
    """A re-run of a recorded partition, even later with a new clock, fills only missing hotels and changes no row."""
    from hotel_pipeline.sources.csv.importer import import_file
    from hotel_pipeline.workshop.legacy_exports import write_daily_exports
    from hotel_pipeline_tests.pipeline_helpers import build_live

    day = date(2016, 7, 18)
    for path in write_daily_exports(data_dir / "inbox", date(2016, 7, 17), date(2016, 7, 17)):
        import_file(warehouse, path, load_portfolio(), clock_at(day, 2))
    build_live(warehouse, clock_at(day))
    first = take_snapshots(warehouse, load_portfolio(), clock_at(day), day, day, hotel_ids=["H1"])
    assert [o.status for o in first] == ["recorded"]
    h1 = warehouse.read_table("pacing_snapshots", order_by="hotel_id, stay_date")
    assert h1["hotel_id"].unique().to_list() == ["H1"] and h1.height == 365
    # Later the same night (new clock): H1 is left alone, only the missing H2 is filled.
    again = take_snapshots(warehouse, load_portfolio(), clock_at(day, 4), day, day)
    assert {(o.hotel_id, o.status) for o in again} == {("H1", "present"), ("H2", "recorded")}
    after = warehouse.read_table("pacing_snapshots", order_by="hotel_id, stay_date")
    assert after.filter(pl.col("hotel_id") == "H1").equals(h1)
    assert after.height == 730
    if warehouse.dialect == "postgres":  # the database itself refuses rewrites, whoever sends them
        for statement in ("UPDATE pacing_snapshots SET rooms_sold = 0 WHERE hotel_id = 'H1'",
                          "DELETE FROM pacing_snapshots", "TRUNCATE pacing_snapshots"):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"), warehouse.backend.engine.begin() as con:
                con.execute(sa.text(statement))


def test_failed_sync_is_skipped_and_logged(duckdb_warehouse: Warehouse, data_dir: Path) -> None:
    """A hotel whose latest import was rejected gets no snapshot (never a partial baseline); the other one does."""
    from hotel_pipeline.sources.csv.importer import import_file
    from hotel_pipeline.sources.csv.parsing import FileRejected
    from hotel_pipeline.workshop.legacy_exports import write_daily_exports
    from hotel_pipeline_tests.pipeline_helpers import build_live

    day = date(2016, 7, 18)
    for path in write_daily_exports(data_dir / "inbox", date(2016, 7, 17), date(2016, 7, 17)):
        import_file(duckdb_warehouse, path, load_portfolio(), clock_at(day, 2))
    broken = data_dir / "inbox" / "H2_hotel_bookings_asof_2016-07-17_fix.csv"
    broken.write_text("hotel;is_canceled\nCity Hotel;0\n", encoding="utf-8")
    with pytest.raises(FileRejected, match="delimiter"):
        import_file(duckdb_warehouse, broken, load_portfolio(), clock_at(day, 2))
    build_live(duckdb_warehouse, clock_at(day))
    outcomes = {o.hotel_id: o for o in take_snapshots(duckdb_warehouse, load_portfolio(), clock_at(day), day, day)}
    assert outcomes["H1"].status == "recorded"
    assert outcomes["H2"].status == "skipped" and "failed" in outcomes["H2"].reason
    log = dict(duckdb_warehouse.query("SELECT hotel_id, status FROM snapshot_log").iter_rows())
    assert log == {"H1": "recorded", "H2": "skipped"}
    assert duckdb_warehouse.query(
        "SELECT COUNT(*) AS n FROM pacing_snapshots WHERE hotel_id = 'H2'")["n"][0] == 0


@pytest.mark.slow(80)
def test_pms_sources_give_the_csv_figures(short_run_on_duckdb: ShortRun, data_dir: Path, tmp_path: Path) -> None:
    """The demo portfolio's path (H1 on the Mews sandbox, H2 on Cloudbeds, pulled through pms_extract) gives the same
    historian, live layer and pickup as the legacy CSV path (the session's shared CSV run)."""
    import socket

    import yaml

    repo = Path(__file__).resolve().parents[1]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = yaml.safe_load((repo / "data" / "portfolio.yaml").read_text())
    for hotel in config["hotels"]:
        for source in hotel["sources"]:
            source["base_url"] = source["base_url"].replace(":8765/", f":{port}/")
    pms_config = tmp_path / "portfolio_pms.yaml"
    pms_config.write_text(yaml.safe_dump(config))
    duckdb_warehouse = short_run_on_duckdb.warehouse
    # Only the portfolio passed in differs (HOTEL_PIPELINE_CONFIG still names the CSV one): it reaches the assets
    # through build_defs(portfolio) and the portfolio resource, or the PMS tables below would stay empty.
    pms_warehouse = Warehouse(url=f"duckdb:///{tmp_path / 'pms.duckdb'}")
    run_short_pipeline(pms_warehouse, data_dir / "pms", portfolio=load_portfolio(pms_config))
    assert set(pms_warehouse.read_table("reservations")["source"].unique()) == {"mews", "cloudbeds"}
    figures = {
        "pacing_snapshots": "hotel_id, snapshot_date, stay_date, rooms_sold, net_revenue, origin",
        "daily_metrics": "hotel_id, stay_date, rooms_sold, net_revenue, as_of_date",
        "pickup": "hotel_id, stay_date, rooms_sold, pickup_1d, pickup_7d, pace_vs_stly, revenue_pickup_1d, adr",
    }
    for table, cols in figures.items():
        order = "1, 2, 3" if table == "pacing_snapshots" else "1, 2"
        left = duckdb_warehouse.query(f"SELECT {cols} FROM {table} ORDER BY {order}")
        right = pms_warehouse.query(f"SELECT {cols} FROM {table} ORDER BY {order}")
        assert left.height > 0 and left.equals(right), table


def test_concurrent_recorder_runs_on_postgres_write_each_row_once(postgres_warehouse: Warehouse, data_dir: Path) -> None:
    """Several runs of the same partitions at once (a retried schedule tick, a manual backfill, one run per hotel):
    every row lands exactly once and no run fails."""
    from concurrent.futures import ThreadPoolExecutor

    from hotel_pipeline.sources.csv.importer import import_file
    from hotel_pipeline.workshop.legacy_exports import write_daily_exports
    from hotel_pipeline_tests.pipeline_helpers import build_live

    day = date(2016, 7, 18)
    for path in write_daily_exports(data_dir / "inbox", date(2016, 7, 17), date(2016, 7, 17)):
        import_file(postgres_warehouse, path, load_portfolio(), clock_at(day, 2))
    build_live(postgres_warehouse, clock_at(day))
    jobs = [(date(2016, 7, 1), day, None), (date(2016, 7, 1), day, ["H1"]), (date(2016, 7, 10), day, ["H2"]),
            (day, day, None)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda j: take_snapshots(postgres_warehouse, load_portfolio(), clock_at(day),
                                                         j[0], j[1], j[2]), jobs))
    assert all(results)
    counts = postgres_warehouse.query(
        "SELECT hotel_id, snapshot_date, COUNT(*) AS n FROM pacing_snapshots GROUP BY hotel_id, snapshot_date")
    assert counts.height == 2 * 18 and set(counts["n"].to_list()) == {365}
    origins = dict(postgres_warehouse.query(
        "SELECT origin, COUNT(DISTINCT snapshot_date) AS n FROM pacing_snapshots GROUP BY origin").iter_rows())
    assert origins == {"reconstructed": 17, "recorded": 1}
