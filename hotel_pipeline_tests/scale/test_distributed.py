"""The pipeline beyond one process: Dagster's storage on Postgres, steps on dagster-celery workers (RabbitMQ broker,
Redis results), the warehouse on Postgres.

What must hold: the runs of a night, launched the way an operator launches them (``dagster asset materialize``),
leave a warehouse identical to an in-process run; a worker SIGKILLed in the middle of a step loses nothing (the
broker hands the unacknowledged step to another worker, which runs it again); several runs of the extract and of the
recorder for overlapping hotels and dates at once duplicate nothing.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
import sqlalchemy as sa
import yaml

from hotel_pipeline.core.clock import local_instant
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.execution import BACKEND_ENV, BROKER_ENV, DEFAULT_BACKEND, DEFAULT_BROKER, EXECUTOR_ENV
from hotel_pipeline.workshop.sandbox.pms.faults import Faults
from hotel_pipeline.workshop.sandbox.pms.harness import RunningSandbox, running_sandbox
from hotel_pipeline.workshop.sandbox.pms.world import World
from hotel_pipeline_tests.conftest import POSTGRES_URL, postgres_schema_url
from hotel_pipeline_tests.scale.conftest import Workers, dagster_cli, write_instance_yaml
from hotel_pipeline_tests.services import require_service

TZ = "Europe/Lisbon"
NIGHT = date(2016, 7, 20)
NOW = local_instant(NIGHT, TZ, 3)
#: The nightly pacing job's assets: live layer, snapshot NIGHT, pickup (one run, as the 03:00 schedule launches it).
NIGHTLY = "hotels,reservations,reservation_nights,daily_metrics,pacing_snapshots,pickup"
#: Tables compared between the distributed and the in-process warehouse, with the order that lines them up.
COMPARED = {
    "reservations": "source, hotel_id, external_id",
    "reservation_versions": "source, hotel_id, external_id, version",
    "daily_metrics": "hotel_id, stay_date",
    "pacing_snapshots": "hotel_id, snapshot_date, stay_date",
    "pickup": "hotel_id, stay_date",
}


@pytest.fixture(scope="module")
def world() -> World:
    """Two hotels' arrivals of two July weeks: small enough for a test, enough records to page and to kill in."""
    return World(hotel_ids=["H1", "H2"], arrival_from=date(2016, 7, 6), arrival_to=date(2016, 7, 24))


@pytest.fixture
def schemas() -> Iterator[list[str]]:
    """Two Postgres schemas, one warehouse each, dropped afterwards."""
    names = [f"t_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    admin = sa.create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as con:
        for name in names:
            con.execute(sa.text(f"CREATE SCHEMA {name}"))
    yield names
    with admin.begin() as con:
        for name in names:
            con.execute(sa.text(f"DROP SCHEMA {name} CASCADE"))
    admin.dispose()


def _portfolio(sb: RunningSandbox, path: Path) -> Path:
    hotels = []
    for hotel_id, vendor in (("H1", "mews"), ("H2", "cloudbeds")):
        hotel = sb.hotel(vendor, hotel_id)
        hotels.append({"id": hotel.id, "name": hotel.name, "timezone": TZ, "currency": "EUR", "capacity": 250,
                       "sources": [{"type": vendor, **hotel.sources[0].options}]})
    path.write_text(yaml.safe_dump({"hotels": hotels}))
    return path


def _env(sb: RunningSandbox, root: Path, home: Path, warehouse_url: str, executor: str) -> dict[str, str]:
    root.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **sb.env,
           "DAGSTER_HOME": str(home), "HOTEL_WAREHOUSE_URL": warehouse_url,
           "HOTEL_PIPELINE_CONFIG": str(_portfolio(sb, root / "portfolio.yaml")),
           "HOTEL_PIPELINE_DATA_DIR": str(root / "data"), "HOTEL_PIPELINE_CLOCK": NOW.isoformat(),
           EXECUTOR_ENV: executor, BROKER_ENV: DEFAULT_BROKER, BACKEND_ENV: DEFAULT_BACKEND,
           "PYTHONWARNINGS": "ignore"}
    (root / "data").mkdir(parents=True, exist_ok=True)
    return env


def _create_storage(home: Path) -> None:
    """Create the instance's storage once, before runs open it in parallel (first opens race on its migrations)."""
    with dg.DagsterInstance.from_config(str(home)):
        pass


def _materialize(env: dict[str, str], select: str, partition: str | None = None) -> subprocess.CompletedProcess:
    args = ["asset", "materialize", "-m", "hotel_pipeline.definitions", "--select", select]
    return dagster_cli([*args, "--partition", partition] if partition else args, env)


def _night(env: dict[str, str], concurrent: bool) -> None:
    """One night: extract every hotel, rebuild the live layer, record snapshot NIGHT, compute pickup. With
    ``concurrent``, the extract runs for overlapping hotels (H1 twice) and two recorder runs of the same date start
    at once."""
    extracts = [("pms_extract", "H1"), ("pms_extract", "H2")] + ([("pms_extract", "H1")] if concurrent else [])
    with ThreadPoolExecutor(len(extracts)) as pool:
        list(pool.map(lambda a: _materialize(env, *a), extracts))
    recorders = 2 if concurrent else 1
    with ThreadPoolExecutor(recorders) as pool:
        list(pool.map(lambda _: _materialize(env, NIGHTLY, NIGHT.isoformat()), range(recorders)))


def _tables(warehouse: Warehouse) -> dict[str, pl.DataFrame]:
    out = {}
    for name, order in COMPARED.items():
        frame = warehouse.read_table(name, order_by=order)
        out[name] = frame.drop([c for c in ("raw_path", "batch_id") if c in frame.columns])
    return out


def _purge_broker() -> None:
    """Tasks left on the queue by an earlier, interrupted run must not reach this test's workers."""
    from hotel_pipeline.celery_worker import app

    app.control.purge()


@pytest.mark.slow(65)
def test_celery_workers_give_the_in_process_warehouse_and_survive_a_killed_worker(
        world, instance_database: str, schemas: list[str], tmp_path: Path) -> None:
    require_service("RabbitMQ", "127.0.0.1", 5672)
    require_service("Redis", "127.0.0.1", 6379)
    world.set_now(NOW)
    distributed_schema, local_schema = schemas
    with running_sandbox(world, ["mews", "cloudbeds"]) as sb:
        # The reference: the same night in one process per run, Dagster on a local SQLite instance.
        local_home = tmp_path / "local_home"
        local_home.mkdir()
        local_env = _env(sb, tmp_path / "local", local_home, postgres_schema_url(local_schema), "in_process")
        _create_storage(local_home)
        _night(local_env, concurrent=False)

        # The distributed night: Dagster's storage on Postgres, every step a Celery task.
        home = write_instance_yaml(tmp_path / "pg_home", instance_database)
        env = _env(sb, tmp_path / "dist", home, postgres_schema_url(distributed_schema), "celery")
        _create_storage(home)
        _purge_broker()
        workers = Workers(env, tmp_path)
        try:
            # A worker killed in the middle of H1's extract: slow the vendor so the step has a middle.
            sb.set_faults("mews", Faults(latency_seconds=0.15))
            handler = sb.sandbox.handlers["mews"]
            workers.start("w1")
            served = handler.requests_served
            with ThreadPoolExecutor(1) as pool:
                first = pool.submit(_materialize, env, "pms_extract", "H1")
                deadline = time.monotonic() + 300
                while handler.requests_served < served + 3 and time.monotonic() < deadline:
                    if first.done():
                        first.result()  # a run that ended before the worker could be killed says why
                    time.sleep(0.02)
                assert handler.requests_served >= served + 3, "the extract never started on the worker"
                workers.kill("w1")  # SIGKILL mid-step: its task is unacknowledged
                killed_at = handler.requests_served
                sb.set_faults("mews", Faults())
                workers.start("w2")
                workers.start("w3")
                first.result()  # the run completes: the step ran again on another worker
            assert handler.requests_served > killed_at
            _night(env, concurrent=True)
        finally:
            workers.stop_all()

    distributed = Warehouse(url=postgres_schema_url(distributed_schema))
    local = Warehouse(url=postgres_schema_url(local_schema))
    got, expected = _tables(distributed), _tables(local)
    assert got["reservations"].height > 500 and got["pacing_snapshots"].height == 2 * 365
    for name in COMPARED:
        assert got[name].equals(expected[name]), name
    # nothing duplicated by the overlapping runs: one version per accepted change, one historian row per key
    dupes = distributed.query("SELECT COUNT(*) AS n FROM (SELECT source, hotel_id, external_id, version "
                              "FROM reservation_versions GROUP BY 1, 2, 3, 4 HAVING COUNT(*) > 1) d")
    assert dupes["n"][0] == 0

    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
        assert len(runs) == 6 and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
        # the steps really ran on the workers, and the killed one's step ran twice, on two workers
        hosts: dict[str, set[str]] = {}
        for run in runs:
            for record in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
                meta = record.dagster_event.engine_event_data.metadata or {}
                if "Celery worker" in meta:
                    hosts.setdefault(run.run_id, set()).add(str(meta["Celery worker"].value))
        assert len(hosts) == len(runs)
        # the killed step ran twice: first on w1 (killed), then again on a worker started after the kill
        killed_runs = [names for names in ({h.split("@")[0] for h in hs} for hs in hosts.values()) if "w1" in names]
        assert len(killed_runs) == 1 and len(killed_runs[0] & {"w2", "w3"}) == 1


@pytest.mark.slow(25)
def test_dagster_storage_on_postgres_keeps_runs_events_and_schedules(instance_database: str, tmp_path: Path) -> None:
    """DAGSTER_HOME with a Postgres dagster.yaml: a run, its event log and a started schedule live in Postgres (a
    second process, reading the database directly, finds them)."""
    home = write_instance_yaml(tmp_path / "home", instance_database)
    env = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONWARNINGS": "ignore",
           "HOTEL_WAREHOUSE_URL": f"duckdb:///{tmp_path / 'w.duckdb'}", "HOTEL_PIPELINE_DATA_DIR": str(tmp_path),
           "HOTEL_PIPELINE_CLOCK": NOW.isoformat()}
    dagster_cli(["asset", "materialize", "-m", "hotel_pipeline.definitions", "--select", "hotels"], env)
    dagster_cli(["schedule", "start", "pms_reconcile_schedule", "-m", "hotel_pipeline.definitions"], env)
    engine = sa.create_engine(instance_database.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as con:
        runs = con.execute(sa.text("SELECT status FROM runs")).scalars().all()
        events = con.execute(sa.text("SELECT dagster_event_type FROM event_logs WHERE dagster_event_type IS NOT NULL")
                             ).scalars().all()
        schedules = con.execute(sa.text("SELECT selector_id FROM instigators")).scalars().all()
    engine.dispose()
    assert runs == ["SUCCESS"]
    assert {"PIPELINE_SUCCESS", "ASSET_MATERIALIZATION", "STEP_SUCCESS"} <= set(events)  # run success is stored under its old name
    assert len(schedules) == 1
    with dg.DagsterInstance.from_config(str(home)) as instance:
        states = instance.all_instigator_state()
        assert [(s.name, s.status.value) for s in states] == [("pms_reconcile_schedule", "RUNNING")]
