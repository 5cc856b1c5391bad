"""``make demo``: the contract's demo on the embedded default, driven through Dagster like production.

Fresh warehouse; each night T (2016-07-18 .. 2016-07-31) every hotel syncs at 02:00 local the way the portfolio
says (the demo portfolio: H1 pulled from the Mews sandbox, H2 from the Cloudbeds sandbox, whose clock moves with the
demo; data/portfolio_csv.yaml: daily legacy exports of business dates 2016-07-17 .. 2016-07-30 through the inbox),
then the 03:00 recorder job photographs snapshot T. On the first night the past (2015-07-01 .. 2016-07-17) is
reconstructed from booking history in one backfill run. Both portfolios give the same figures (tested). The runs go
to the Dagster instance under DAGSTER_HOME, so ``make dev`` shows them afterwards.
"""

from __future__ import annotations

import contextlib
import os
import time
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import polars as pl

from hotel_pipeline.core import settings
from hotel_pipeline.core.clock import Clock, date_range, local_instant
from hotel_pipeline.core.partitions import HOTELS_PARTITIONS
from hotel_pipeline.core.portfolio import Portfolio, current_portfolio
from hotel_pipeline.core.warehouse import Warehouse, identifier
from hotel_pipeline.core.warehouse.resource import duckdb_path
from hotel_pipeline.definitions import defs
from hotel_pipeline.defs.quality.checks import BLOCKING_CHECKS
from hotel_pipeline.defs.sources.csv.assets import plan_inbox_run
from hotel_pipeline.defs.sources.pms.assets import PmsConnectors, pms_sources
from hotel_pipeline.workshop.channel_demo import run_channel_demo
from hotel_pipeline.workshop.legacy_exports import write_daily_exports
from hotel_pipeline.workshop.occupancy_demo import run_occupancy_demo
from hotel_pipeline.workshop.sandbox.pms.harness import sandbox_for_portfolio

RECONSTRUCT_FROM = date(2015, 7, 1)
FIRST_NIGHT = date(2016, 7, 18)
LAST_NIGHT = date(2016, 7, 31)

LIVE_ASSETS = ["hotels", "reservations", "reservation_nights", "daily_metrics"]
#: csv_import_job's selection: import the inbox files, then refresh the unified model and the live layer.
IMPORT_ASSETS = ["legacy_csv_import", *LIVE_ASSETS]


def _assets(names: list[str]) -> list[dg.AssetsDefinition]:
    """The definitions' own (resource-free) asset objects, for ``dg.materialize`` with the demo's resources."""
    by_key = {k: a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition) for k in a.keys}
    return list({id(by_key[dg.AssetKey(n)]): by_key[dg.AssetKey(n)] for n in names}.values())


def _contracts(names: list[str]) -> list[dg.AssetChecksDefinition]:
    """The blocking pandera contracts of the assets in ``names``: a demo run stops where a production run would."""
    return [c for c in BLOCKING_CHECKS if {s.asset_key.to_user_string() for s in c.check_specs} <= set(names)]


def _materialize(names: list[str], warehouse: Warehouse, clock: Clock, instance: dg.DagsterInstance,
                 run_config: dict | None = None, partition_key: str | None = None, tags: dict | None = None) -> None:
    # The console shows warnings only; every event still goes to the instance's event log (make dev shows it).
    config = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}, **(run_config or {})}
    pms = PmsConnectors(throttle=False)  # the loopback sandbox needs no politeness; real vendors keep the default
    result = dg.materialize(
        [*_assets(names), *_contracts(names)], instance=instance,
        resources={"warehouse": warehouse, "clock": clock, "pms": pms},
        run_config=config, partition_key=partition_key, tags=tags or {},
        selection=names,
    )
    if not result.success:
        raise RuntimeError(f"demo run of {names} failed")


class DemoRefused(RuntimeError):
    """The demo would have to delete data it did not create."""


def fresh_warehouse(warehouse: Warehouse) -> None:
    """The demo starts from an empty warehouse so its figures are exactly the contract's."""
    if warehouse.dialect == "duckdb":
        path = duckdb_path(warehouse.url)
        for p in (path, path.with_name(path.name + ".wal")):
            p.unlink(missing_ok=True)
    else:
        tables = warehouse.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
            "AND table_type = 'BASE TABLE'"
        )["table_name"].to_list()
        with warehouse.transaction() as tx:
            for table in tables:
                tx.execute(f"DROP TABLE IF EXISTS {identifier(table)} CASCADE")


def run_pacing_demo(warehouse: Warehouse, instance: dg.DagsterInstance, inbox: Path | None = None,
                    first_night: date = FIRST_NIGHT, last_night: date = LAST_NIGHT,
                    reconstruct_from: date = RECONSTRUCT_FROM, portfolio: Portfolio | None = None) -> None:
    """One sync + recorder cycle per night, the past reconstructed on the first night.

    Each hotel syncs the way the portfolio says: a legacy CSV hotel gets the export of the business day that just
    ended dropped into the inbox and imported (the sensor's planner picks it up); a PMS hotel is pulled from the
    loopback sandbox, whose clock moves with the demo's (full extract on the first night, incremental after).
    """
    portfolio = portfolio or current_portfolio()
    tz = portfolio.hotels[0].timezone
    inbox = inbox or settings.inbox_dir()
    csv_hotels = [h.id for h in portfolio.hotels if h.source("csv")]
    pms_hotels = [h.id for h in portfolio.hotels if pms_sources(h)]
    for stale in inbox.glob("*_hotel_bookings_asof_*.csv"):
        stale.unlink()
    cursor = None
    with contextlib.ExitStack() as stack:
        sandbox = None
        if pms_hotels:
            sandbox = stack.enter_context(
                sandbox_for_portfolio(portfolio, local_instant(first_night, tz, 2, 0), throttle=False))
            instance.add_dynamic_partitions(HOTELS_PARTITIONS.name, pms_hotels)
        for night in date_range(first_night, last_night):
            clock = Clock(frozen_at=local_instant(night, tz, 2, 0).isoformat())
            if csv_hotels:
                exported = night - timedelta(days=1)
                write_daily_exports(inbox, exported, exported, csv_hotels)
                files, cursor = plan_inbox_run(inbox, cursor)
                _materialize(["legacy_csv_import"], warehouse, clock, instance,
                             run_config={"ops": {"legacy_csv_import": {"config": {
                                 "files": [str(inbox / f) for f in files]}}}})
            if sandbox is not None:
                sandbox.world.set_now(clock.now())
                for hotel_id in pms_hotels:
                    _materialize(["pms_extract"], warehouse, clock, instance, partition_key=hotel_id)
            _materialize(LIVE_ASSETS, warehouse, clock, instance)
            if night == first_night:
                _materialize(["pacing_snapshots"], warehouse, clock, instance, tags={
                    "dagster/asset_partition_range_start": reconstruct_from.isoformat(),
                    "dagster/asset_partition_range_end": (first_night - timedelta(days=1)).isoformat(),
                })
            recorder_clock = Clock(frozen_at=local_instant(night, tz, 3, 0).isoformat())
            _materialize(LIVE_ASSETS, warehouse, recorder_clock, instance)
            _materialize(["pacing_snapshots"], warehouse, recorder_clock, instance, partition_key=night.isoformat())
            _materialize(["pickup"], warehouse, recorder_clock, instance)


def summary(warehouse: Warehouse, days: int = 14) -> pl.DataFrame:
    return warehouse.query(
        "SELECT hotel_id, stay_date, rooms_sold, pickup_1d, pickup_7d, pace_vs_stly FROM pickup "
        "WHERE stay_date < as_of_date + :days ORDER BY hotel_id, stay_date",
        {"days": days},
    )


def print_summary(warehouse: Warehouse) -> None:
    frame = summary(warehouse)
    for hotel_id in frame["hotel_id"].unique().sort().to_list():
        hotel = current_portfolio().hotel(hotel_id)
        print(f"\n{hotel_id} {hotel.name} (capacity {hotel.capacity}) as of {LAST_NIGHT}: next 14 stay dates")
        print(f"  {'stay date':<12}{'sold':>6}{'1d':>6}{'7d':>6}{'vs STLY':>9}")
        for row in frame.filter(pl.col("hotel_id") == hotel_id).iter_rows(named=True):
            fmt = lambda v: "n/a" if v is None else f"{v:+d}"  # noqa: E731
            print(f"  {row['stay_date']!s:<12}{row['rooms_sold']:>6}{fmt(row['pickup_1d']):>6}"
                  f"{fmt(row['pickup_7d']):>6}{fmt(row['pace_vs_stly']):>9}")


def main(reset: bool = False) -> None:
    started = time.monotonic()
    os.environ.setdefault("DAGSTER_HOME", str(settings.data_dir() / "dagster_home"))
    Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    warehouse = Warehouse()
    fresh_warehouse(warehouse)
    with dg.DagsterInstance.get() as instance:
        run_pacing_demo(warehouse, instance)
        run_occupancy_demo(warehouse, instance)
        run_channel_demo(warehouse)  # H1's calendar and reservations to the Beds24 sandbox
    counts = warehouse.query(
        "SELECT origin, COUNT(DISTINCT snapshot_date) AS dates, COUNT(*) AS rows_ FROM pacing_snapshots GROUP BY origin "
        "ORDER BY origin"
    )
    print(f"warehouse: {warehouse.display_url}")
    for origin, dates, rows in counts.iter_rows():
        print(f"pacing_snapshots {origin}: {dates} snapshot dates, {rows} rows")
    print_summary(warehouse)
    print(f"\npacing demo took {time.monotonic() - started:.1f} s")
    dining_started = time.monotonic()
    from hotel_pipeline.workshop.dining_demo import run_dining_demo

    print("\nrestaurant market: one simulated week of the default market, polled every 60 s")
    run_dining_demo(warehouse)
    print(f"dining demo took {time.monotonic() - dining_started:.1f} s; total {time.monotonic() - started:.1f} s")
