"""``make demo``: fourteen simulated nights of the bundled data set, driven through Dagster the way a deployment runs.

Each night T (2016-07-18 .. 2016-07-31) at 02:00 hotel-local every hotel syncs the way the portfolio says: a PMS
hotel through ``pms_incremental_schedule`` (one ``pms_extract_job`` run per hotel against the loopback sandbox, whose
clock moves with the demo's; full extract on the first night, incremental after), a legacy CSV hotel through
``csv_inbox_sensor`` (the export of the business day that just ended dropped into the inbox, ``csv_import_job``).
At 03:00 the recorder schedule of the zone launches ``nightly_pacing_job`` for partition T: live layer, snapshot T,
pickup, every asset check. On the first night the past (2015-07-01 .. 2016-07-17) is reconstructed by
``reconstruct_history_job`` as one single-run backfill. Every run is tagged with the simulated night
(``hotel_pipeline/night``) and goes to the Dagster instance under DAGSTER_HOME, so ``make dev`` shows them.

What the demo owns, and the only things it ever deletes: its folder ``data/demo/`` (warehouse.duckdb, inbox/, raw/,
exports/, portfolio.yaml) and, in a warehouse named by HOTEL_WAREHOUSE_URL, the tables it recorded in
``demo_owned_tables``. A warehouse holding any other table is refused unless ``--reset``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import yaml

from hotel_pipeline.core import settings
from hotel_pipeline.core.clock import date_range, local_instant
from hotel_pipeline.core.portfolio import Portfolio, current_portfolio, parse_portfolio
from hotel_pipeline.core.warehouse import Warehouse, identifier, spec

if TYPE_CHECKING:
    import dagster as dg

    from hotel_pipeline.workshop.sandbox.pms.harness import ServedSandbox
    from hotel_pipeline.workshop.sandbox.pms.process import SandboxProcess

RECONSTRUCT_FROM = date(2015, 7, 1)
FIRST_NIGHT = date(2016, 7, 18)
LAST_NIGHT = date(2016, 7, 31)
#: Simulated days of the restaurant market (each is about 3 s of CPU).
DINING_DAYS = 2.0

#: The demo's own folder (``HOTEL_PIPELINE_DEMO_DIR``): its warehouse, inbox, raw zone, exports and portfolio.
DEMO_DIR_ENV = "HOTEL_PIPELINE_DEMO_DIR"
#: Tag on every run the demo launches; its value is the simulated night the run belongs to.
NIGHT_TAG = "hotel_pipeline/night"
DEMO_TAG = "hotel_pipeline/demo"
#: A pseudonymisation key for the sandbox's invented guests (real deployments set their own).
DEMO_PII_KEY = "hotel-pipeline-demo-key-for-sandbox-guests-only"

OWNED = spec(
    "demo_owned_tables",
    [("table_name", "VARCHAR", "a table `make demo` created in this warehouse (and may delete on its next run)")],
    primary_key=("table_name",),
    doc="Written by `make demo` only: the tables it created, so that it never deletes a table it did not create.",
    grain="table_name",
)


class DemoRefused(RuntimeError):
    """The demo would have to delete data it did not create."""


def demo_dir() -> Path:
    return Path(os.environ.get(DEMO_DIR_ENV) or settings.REPO_ROOT / "data" / "demo")


# --- what the demo owns -----------------------------------------------------------------------------------------


_TABLES_SQL = {
    "duckdb": "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
              "AND table_schema = 'main' ORDER BY table_name",
    "postgres": "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
                "AND table_schema = current_schema() ORDER BY table_name",
}


def _tables(warehouse: Warehouse) -> list[str]:
    """The base tables of the warehouse's schema (DuckDB: ``main``; Postgres: the URL's current schema)."""
    return warehouse.query(_TABLES_SQL[warehouse.dialect])["table_name"].to_list()


def prepare_warehouse(warehouse: Warehouse, *, reset: bool = False, own_file: bool = False) -> str:
    """Empty the warehouse of what an earlier demo left, never touching anything else; says what it did.

    ``own_file``: the warehouse is the demo's own DuckDB file under ``data/demo/`` (deleted and recreated).
    Otherwise a warehouse holding tables the demo did not record as its own is refused, unless ``reset``.
    """
    if own_file and warehouse.dialect == "duckdb":
        from hotel_pipeline.core.warehouse.resource import duckdb_path

        path = duckdb_path(warehouse.url)
        existed = path.exists()
        for p in (path, path.with_name(path.name + ".wal")):
            p.unlink(missing_ok=True)
        return f"{'recreated' if existed else 'created'} the demo's own warehouse {path}"
    tables = _tables(warehouse)
    owned = set(warehouse.read_table(OWNED.name)["table_name"].to_list()) if OWNED.name in tables else set()
    foreign = [t for t in tables if t not in owned and t != OWNED.name]
    if foreign and not reset:
        shown = ", ".join(foreign[:8]) + (f" and {len(foreign) - 8} more" if len(foreign) > 8 else "")
        raise DemoRefused(
            f"the warehouse {warehouse.display_url} holds {len(foreign)} table(s) the demo did not create ({shown}). "
            "The demo starts from an empty warehouse: unset HOTEL_WAREHOUSE_URL to use its own file "
            "(data/demo/warehouse.duckdb), point it at an empty database or schema, or run `hotel-pipeline demo "
            "--reset` to delete those tables.")
    doomed = [t for t in tables if t in owned or t == OWNED.name or reset]
    with warehouse.transaction() as tx:
        for table in doomed:
            tx.execute(f"DROP TABLE IF EXISTS {identifier(table)} CASCADE" if warehouse.dialect == "postgres"
                       else f"DROP TABLE IF EXISTS {identifier(table)}")
    return (f"deleted {len(doomed)} table(s) of an earlier demo from {warehouse.display_url}" if doomed
            else f"using the empty warehouse {warehouse.display_url}")


def record_owned_tables(warehouse: Warehouse, before: set[str]) -> None:
    """Remember every table this run created, so the next run may delete exactly those."""
    created = [t for t in _tables(warehouse) if t not in before and t != OWNED.name]
    with warehouse.transaction() as tx:
        tx.ensure_table(OWNED)
        tx.execute("DELETE FROM demo_owned_tables")
        tx.insert_frame(OWNED.name, pl.DataFrame({"table_name": created}, schema={"table_name": pl.String}))


# --- driving the deployment's jobs --------------------------------------------------------------------------------


@dataclass
class Progress:
    """One line per phase and night, with an estimate of the time left."""

    nights: int
    started: float = field(default_factory=time.monotonic)
    done: int = 0
    echo: Callable[[str], None] = print

    first_took: float = 0.0

    def night(self, night: date, parts: list[str]) -> None:
        self.done += 1
        elapsed = time.monotonic() - self.started
        if self.done == 1:  # the first night also runs the full extract and the backfill: not a typical night
            self.first_took = elapsed
            left = elapsed / 4 * (self.nights - 1)
        else:
            left = (elapsed - self.first_took) / (self.done - 1) * (self.nights - self.done)
        eta = f"about {left:.0f} s left" if self.done < self.nights else "done"
        self.echo(f"  night {night}  {' · '.join(parts)}   [{self.done}/{self.nights}, {eta}]")


class Deployment:
    """The code location's own Definitions with the demo's resources, its jobs launched in this process."""

    def __init__(self, warehouse: Warehouse, instance: dg.DagsterInstance, portfolio: Portfolio) -> None:
        import dagster as dg

        from hotel_pipeline.core.clock import Clock
        from hotel_pipeline.definitions import build_defs
        from hotel_pipeline.sources.pms.resource import PmsConnectors

        base = build_defs(portfolio)
        # The loopback sandbox needs no politeness (real vendors keep the throttle); the clock is set per run.
        resources = {**(base.resources or {}), "warehouse": warehouse, "clock": Clock(),
                     "pms": PmsConnectors(throttle=False)}
        self.defs = dg.Definitions(
            assets=base.assets, asset_checks=base.asset_checks, jobs=base.jobs, schedules=base.schedules,
            sensors=base.sensors, loggers=base.loggers, metadata=base.metadata,
            resources=resources, executor=dg.in_process_executor)
        self.repository = self.defs.get_repository_def()
        self.instance = instance
        self.warehouse = warehouse
        self.runs = 0

    def job(self, name: str, at: datetime, *, night: date, run_config: dict | None = None,
            partition_key: str | None = None, tags: dict[str, str] | None = None) -> float:
        """Run job ``name`` with the clock at ``at``; returns its wall time; raises if the run failed."""
        started = time.monotonic()
        config = {**(run_config or {}),
                  "resources": {"clock": {"config": {"frozen_at": at.isoformat()}}},
                  # The console shows warnings only; every event still goes to the instance's event log.
                  "loggers": {"console": {"config": {"log_level": "WARNING"}}}}
        result = self.defs.resolve_job_def(name).execute_in_process(
            run_config=config, instance=self.instance, partition_key=partition_key, raise_on_error=False,
            tags={DEMO_TAG: "true", NIGHT_TAG: night.isoformat(), **(tags or {})},
        )
        self.runs += 1
        if not result.success:
            raise RuntimeError(f"the demo's {name} run for {night} failed (run {result.run_id}; `make dev` shows it)")
        return time.monotonic() - started

    def backfill(self, name: str, at: datetime, *, night: date, start: date, end: date) -> float:
        """Job ``name`` over the partitions start .. end as one Dagster backfill (single run, the job's backfill
        policy): the run carries the backfill's id and the UI's Backfills page lists it with its run.

        The backfill record is added once the run has succeeded, already complete: a daemon of ``make dev`` on the
        same instance never sees a requested backfill it would launch again.
        """
        import dagster as dg
        from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
        from dagster._core.utils import make_new_backfill_id

        job = self.defs.resolve_job_def(name)
        backfill_id = make_new_backfill_id()
        tags = {DEMO_TAG: "true", NIGHT_TAG: night.isoformat()}
        requested = time.time()
        took = self.job(name, at, night=night, tags={
            "dagster/backfill": backfill_id,
            "dagster/asset_partition_range_start": start.isoformat(),
            "dagster/asset_partition_range_end": end.isoformat(),
        })
        keys = job.partitions_def.get_partition_keys_in_range(dg.PartitionKeyRange(start.isoformat(), end.isoformat()))
        record = PartitionBackfill.from_asset_partitions(
            backfill_id=backfill_id, asset_graph=self.repository.asset_graph, partition_names=keys,
            asset_selection=sorted(job.asset_layer.selected_asset_keys), backfill_timestamp=requested, tags=tags,
            dynamic_partitions_store=self.instance, all_partitions=False,
            title=f"{name} {start} .. {end}", description="make demo: the past, reconstructed on the first night",
            run_config=None)
        data = record.asset_backfill_data
        assert data is not None
        done = data._replace(requested_runs_for_target_roots=True, requested_subset=data.target_subset,
                             materialized_subset=data.target_subset)
        self.instance.add_backfill(
            record.with_asset_backfill_data(done, dynamic_partitions_store=self.instance,
                                            asset_graph=self.repository.asset_graph)
            .with_status(BulkActionStatus.COMPLETED_SUCCESS).with_end_timestamp(time.time()))
        return took

    def schedule_requests(self, name: str, at: datetime) -> list[dg.RunRequest]:
        import dagster as dg

        schedule = self.defs.resolve_schedule_def(name)
        with dg.build_schedule_context(instance=self.instance, scheduled_execution_time=at,
                                       repository_def=self.repository) as context:
            # The context keeps only the instance's ref and would open a second instance from it on first use
            # (storage, alembic revisions: ~50 ms a tick); the deployment's own open instance is the same one.
            context._instance = self.instance  # Dagster has no public way to hand it over
            return list(schedule.evaluate_tick(context).run_requests or [])

    def run_schedule(self, name: str, at: datetime, night: date) -> list[float]:
        """What the daemon does at a tick: evaluate the schedule, launch each request as a run of its job."""
        schedule = self.defs.resolve_schedule_def(name)
        return [self.job(schedule.job_name, at, night=night, run_config=request.run_config,
                         partition_key=request.partition_key,
                         tags={**request.tags, "dagster/schedule_name": name})
                for request in self.schedule_requests(name, at)]

    def run_sensor(self, name: str, at: datetime, night: date, cursor: str | None) -> tuple[list[float], str | None]:
        import dagster as dg

        sensor = self.defs.resolve_sensor_def(name)
        with dg.build_sensor_context(instance=self.instance, cursor=cursor, repository_def=self.repository,
                                     sensor_name=name, resources=self.defs.resources) as context:
            data = sensor.evaluate_tick(context)
        times = [self.job(request.job_name or sensor.job_name, at, night=night, run_config=request.run_config,
                          tags={**request.tags, "dagster/sensor_name": name})
                 for request in data.run_requests or []]
        return times, data.cursor


def run_pacing_demo(warehouse: Warehouse, instance: dg.DagsterInstance, *, first_night: date = FIRST_NIGHT,
                    last_night: date = LAST_NIGHT, reconstruct_from: date = RECONSTRUCT_FROM,
                    portfolio: Portfolio | None = None, sandbox: ServedSandbox | None = None,
                    echo: Callable[[str], None] | None = None) -> int:
    """The nights first_night .. last_night, the past reconstructed on the first; returns the number of runs.

    A PMS hotel is served by ``sandbox`` (when not given, a sandbox process started here on the port of the
    portfolio's base URLs). ``instance`` must be persistent (``DagsterInstance.get()`` or ``local_temp``), as the
    daemon's is: schedules read it.
    """
    import re

    from hotel_pipeline.sources.pms.cadence import pms_sources
    from hotel_pipeline.workshop.legacy_exports import write_daily_exports

    portfolio = portfolio or current_portfolio()
    inbox = settings.inbox_dir()
    csv_hotels = [h.id for h in portfolio.hotels if h.source("csv")]
    pms_hotels = [h.id for h in portfolio.hotels if pms_sources(h)]
    for stale in inbox.glob("*_hotel_bookings_asof_*.csv"):
        stale.unlink()  # the demo's own exports of an earlier run
    deployment = Deployment(warehouse, instance, portfolio)
    progress = Progress(nights=(last_night - first_night).days + 1, echo=echo or (lambda _line: None))
    cursor = None
    with contextlib.ExitStack() as stack:
        if pms_hotels and sandbox is None:
            from hotel_pipeline.workshop.sandbox.pms.process import sandbox_process

            tz0 = portfolio.hotels[0].timezone
            sandbox = stack.enter_context(sandbox_process(portfolio, local_instant(first_night, tz0, 2, 0)))
        for night in date_range(first_night, last_night):
            parts = []
            for tz in portfolio.timezones:
                sync_at = local_instant(night, tz, 2, 0)
                if csv_hotels:
                    exported = night - timedelta(days=1)
                    # The legacy PMS dropped its export well before the 02:00 tick: settled, as the sensor requires.
                    for path in write_daily_exports(inbox, exported, exported, csv_hotels):
                        settled = time.time() - 3600
                        os.utime(path, (settled, settled))
                    took, cursor = deployment.run_sensor("csv_inbox_sensor", sync_at, night, cursor)
                    parts.append(f"csv import {sum(took):.1f} s")
                if pms_hotels and sandbox is not None:
                    sandbox.set_now(sync_at)
                    took = deployment.run_schedule("pms_incremental_schedule", sync_at, night)
                    parts.append(f"pms sync {len(took)}×{sum(took) / max(len(took), 1):.1f} s")
                record_at = local_instant(night, tz, 3, 0)
                zone = re.sub(r"[^A-Za-z0-9]+", "_", tz).lower()
                took = deployment.run_schedule(f"recorder_0300_{zone}", record_at, night)
                parts.append(f"03:00 nightly job {sum(took):.1f} s")
            if night == first_night:  # the past, reconstructed once the first sync brought the booking history
                took_past = deployment.backfill("reconstruct_history_job", record_at, night=night,
                                                start=reconstruct_from, end=first_night - timedelta(days=1))
                parts.append(f"backfill {reconstruct_from} .. {first_night - timedelta(days=1)} {took_past:.1f} s")
            progress.night(night, parts)
        took = deployment.job("publish_job", record_at, night=last_night)
        progress.echo(f"  publish: Parquet exports and pace report {took:.1f} s")
    return deployment.runs


def record_dining(deployment: Deployment, dining: dict[str, Any]) -> None:
    """The dining group in Dagster after the simulated market: its aggregates rebuilt by ``dining_metrics_job``
    through its hourly schedule (with their checks), and the events the simulation wrote in process reported
    as materialisations of ``slot_events`` and ``alert_events`` (no run: no poll went over the network)."""
    import dagster as dg

    from hotel_pipeline.defs.dining.definitions import dining_metrics_schedule
    from hotel_pipeline.workshop.dining_demo import DEMO_START

    end = (DEMO_START + timedelta(days=DINING_DAYS)).replace(tzinfo=UTC)
    deployment.run_schedule(dining_metrics_schedule.name, end, LAST_NIGHT)
    note = f"make demo: {DINING_DAYS:g} simulated days of the default market, written in process (no run)"
    from hotel_pipeline.defs.tables import OWNED_TABLES

    # The state tables the poller keeps beside slot_events are its assets too: reported with it, with their rows.
    state = [(t.name, {"dagster/row_count": int(deployment.warehouse.query(
        f"SELECT COUNT(*) AS n FROM {identifier(t.name)}")["n"][0])})  # noqa: S608 - a declared name
        for t in OWNED_TABLES["slot_events"] if deployment.warehouse.table_exists(t.name)]
    for key, meta in (("slot_events", {"polls": dining["polls"], "events": dining["slot_events"]}),
                      ("alert_events", {"events": dining["alert_events"]}), *state):
        deployment.instance.report_runless_asset_event(dg.AssetMaterialization(
            key, description=note, metadata=meta, tags={DEMO_TAG: "true", NIGHT_TAG: LAST_NIGHT.isoformat()}))


# --- the command ---------------------------------------------------------------------------------------------------


def summary(warehouse: Warehouse, days: int = 14) -> pl.DataFrame:
    return warehouse.query(
        "SELECT hotel_id, stay_date, rooms_sold, pickup_1d, pickup_7d, pace_vs_stly FROM pickup "
        "WHERE stay_date < as_of_date + :days ORDER BY hotel_id, stay_date",
        {"days": days},
    )


def print_summary(warehouse: Warehouse, portfolio: Portfolio) -> None:
    frame = summary(warehouse)
    for hotel_id in frame["hotel_id"].unique().sort().to_list():
        hotel = portfolio.hotel(hotel_id)
        print(f"\n{hotel_id} {hotel.name} (capacity {hotel.capacity}) as of {LAST_NIGHT}: next 14 stay dates")
        print(f"  {'stay date':<12}{'sold':>6}{'1d':>6}{'7d':>6}{'vs STLY':>9}")
        for row in frame.filter(pl.col("hotel_id") == hotel_id).iter_rows(named=True):
            fmt = lambda v: "n/a" if v is None else f"{v:+d}"  # noqa: E731
            print(f"  {row['stay_date']!s:<12}{row['rooms_sold']:>6}{fmt(row['pickup_1d']):>6}"
                  f"{fmt(row['pickup_7d']):>6}{fmt(row['pace_vs_stly']):>9}")


def _quiet() -> None:
    """No noise on the console: Dagster's beta notices and its banner are not news to a demo user."""
    import dagster as dg

    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    warnings.filterwarnings("ignore", category=dg.PreviewWarning)


def _sandbox_portfolio(source: Path) -> tuple[Portfolio, dict[str, Any]]:
    """The configured portfolio with its sandbox base URLs removed (the sandbox is started on a free port)."""
    raw = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    stripped = yaml.safe_load(yaml.safe_dump(raw))
    for hotel in stripped.get("hotels") or []:
        for src in hotel.get("sources") or []:
            src.pop("base_url", None)
    return parse_portfolio(stripped, source), raw


def _write_portfolio(raw: dict[str, Any], sandbox: ServedSandbox | None, dest: Path) -> Path:
    """The portfolio the demo's code location loads: the configured one, pointed at the running sandbox."""
    if sandbox is not None:
        for hotel in raw.get("hotels") or []:
            for src in hotel.get("sources") or []:
                if src.get("type") in sandbox.credentials:
                    src["base_url"] = sandbox.base_url(src["type"])
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text("# Written by `make demo`: the configured portfolio pointed at its sandbox.\n"
                    + yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return dest


@contextlib.contextmanager
def demo_environment(reset: bool) -> Iterator[tuple[Warehouse, str]]:
    """Point this process at the demo's own folder (and warehouse, unless HOTEL_WAREHOUSE_URL is set)."""
    home = demo_dir()
    own_file = not os.environ.get("HOTEL_WAREHOUSE_URL")
    if own_file:
        os.environ["HOTEL_WAREHOUSE_URL"] = f"duckdb:///{home / 'warehouse.duckdb'}"
    home.mkdir(parents=True, exist_ok=True)
    for sub in ("inbox", "raw", "exports"):
        shutil.rmtree(home / sub, ignore_errors=True)  # the demo's own folders of an earlier run
    os.environ["HOTEL_PIPELINE_DATA_DIR"] = str(home)
    os.environ.setdefault("HOTEL_PIPELINE_PII_KEY", DEMO_PII_KEY)
    os.environ.setdefault("DAGSTER_HOME", str(settings.REPO_ROOT / "data" / "dagster_home"))
    instance_yaml = Path(os.environ["DAGSTER_HOME"]) / "dagster.yaml"
    if not instance_yaml.exists():  # what `make` does: the instance with the warehouse write pool
        instance_yaml.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(settings.REPO_ROOT / "data" / "dagster_instance.yaml", instance_yaml)
    warehouse = Warehouse()
    said = prepare_warehouse(warehouse, reset=reset, own_file=own_file)
    yield warehouse, said


def forget_earlier_demo_runs(instance: dg.DagsterInstance) -> int:
    """Delete the runs an earlier demo launched (tagged), so the UI shows one demo's nights, not several."""
    import dagster as dg

    ids = [r.dagster_run.run_id for r in instance.get_run_records(dg.RunsFilter(tags={DEMO_TAG: "true"}))]
    for run_id in ids:
        instance.delete_run(run_id)
    return len(ids)


def main(reset: bool = False) -> None:
    """``hotel-pipeline demo``: prepare the demo's own warehouse, run the nights, print where everything is."""
    started = time.monotonic()
    _quiet()
    source = settings.portfolio_path()
    print(f"hotel-pipeline demo: {FIRST_NIGHT} .. {LAST_NIGHT} of the bundled data set ({source.name})")
    with demo_environment(reset) as (warehouse, said), contextlib.ExitStack() as stack:
        print(f"  {said}")
        before = set(_tables(warehouse))
        portfolio, raw = _sandbox_portfolio(source)
        sandbox: SandboxProcess | None = None
        from hotel_pipeline.sources.pms.cadence import pms_sources

        if any(pms_sources(h) for h in portfolio.hotels):
            from hotel_pipeline.workshop.sandbox.pms.process import sandbox_process

            sandbox = stack.enter_context(sandbox_process(
                portfolio, local_instant(FIRST_NIGHT, portfolio.hotels[0].timezone, 2, 0)))
            print(f"  PMS sandbox on {sandbox.url} ({', '.join(sorted(sandbox.credentials))}; "
                  f"its own process, pid {sandbox.process.pid})")
        os.environ["HOTEL_PIPELINE_CONFIG"] = str(_write_portfolio(raw, sandbox, demo_dir() / "portfolio.yaml"))
        current_portfolio.cache_clear()
        portfolio = current_portfolio()
        import dagster as dg

        with dg.DagsterInstance.get() as instance:
            if forgotten := forget_earlier_demo_runs(instance):
                print(f"  removed the {forgotten} runs of the previous demo from the Dagster instance")
            print("pacing: nightly 02:00 sync and 03:00 recorder through the deployment's schedules and jobs")
            runs = run_pacing_demo(warehouse, instance, portfolio=portfolio, sandbox=sandbox, echo=print)
            pacing_took = time.monotonic() - started
            print(f"  {runs} Dagster runs in {pacing_took:.0f} s ({time.process_time():.0f} s of CPU)")
            print_summary(warehouse, portfolio)
            from hotel_pipeline.workshop.channel_demo import run_channel_demo
            from hotel_pipeline.workshop.occupancy_demo import run_occupancy_demo

            run_occupancy_demo(warehouse, instance)
            run_channel_demo(warehouse)  # H1's calendar and reservations to the Beds24 sandbox
            dining_started = time.monotonic()
            from hotel_pipeline.workshop.dining_demo import run_dining_demo

            print(f"\nrestaurant market: {DINING_DAYS:g} simulated days of the default market, polled every 60 s")
            dining = run_dining_demo(warehouse, days=DINING_DAYS)
            record_dining(Deployment(warehouse, instance, portfolio), dining)
            print(f"  dining took {time.monotonic() - dining_started:.0f} s")
        record_owned_tables(warehouse, before)
    home = demo_dir()
    served = sandbox.cpu_seconds if sandbox is not None else None
    served_cpu = f", and {served:.0f} s in the PMS sandbox's process" if served is not None else ""
    print(f"\ndone in {time.monotonic() - started:.0f} s ({time.process_time():.0f} s of CPU{served_cpu}).")
    print(f"  warehouse: {warehouse.display_url}")
    print(f"  demo data: {home} (inbox/, raw/, exports/)")
    print(f"  pace report: {home / 'exports' / 'pace_report.html'}; Parquet for BI tools: {home / 'exports'}/")
    print(f"  Dagster runs: {os.environ['DAGSTER_HOME']}")
    print("next: `make dev` opens the Dagster UI on these runs and this warehouse.")
