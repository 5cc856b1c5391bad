"""Pacing domain assets: the hotels dimension (with each hotel's business date) and the historian.

``reservations``, ``reservation_nights``, ``daily_metrics`` and ``pickup`` are SQL models (dbt_like_sql/); the historian
is a Python asset around its SQL model because it decides per hotel whether to record, reconstruct or skip.
"""


from collections.abc import Iterator
from datetime import date, timedelta

import dagster as dg

from hotel_pipeline.core.clock import Clock
from hotel_pipeline.core.partitions import snapshot_partitions
from hotel_pipeline.core.portfolio import Portfolio
from hotel_pipeline.core.portfolio_resource import PortfolioResource
from hotel_pipeline.core.sql_models import column_schema, model
from hotel_pipeline.core.warehouse import WAREHOUSE_POOL, Warehouse
from hotel_pipeline.defs.tables import owned_specs, written
from hotel_pipeline.pacing.hotels import HOTELS, write_hotels
from hotel_pipeline.pacing.recorder import take_snapshots


@dg.asset(
    group_name="reference",
    kinds={"python", "duckdb", "postgres"},
    pool=WAREHOUSE_POOL,
    metadata={"dagster/column_schema": dg.TableSchema(
        columns=[dg.TableColumn(c.name, c.type, description=c.doc) for c in HOTELS.columns])},
)
def hotels(warehouse: Warehouse, clock: Clock, portfolio: PortfolioResource) -> dg.MaterializeResult:
    """The portfolio (the ``portfolio`` resource) with each hotel's business date at the run's clock."""
    with warehouse.transaction() as tx:
        frame = write_hotels(tx, portfolio.get(), clock)
    return dg.MaterializeResult(metadata={
        "dagster/row_count": frame.height,
        "business_dates": dg.MetadataValue.json({r["hotel_id"]: str(r["business_date"]) for r in frame.to_dicts()}),
    })


class SnapshotConfig(dg.Config):
    """Restrict a run to some hotels (default: all of the portfolio)."""

    hotels: list[str] = []


_PACING = model("pacing_snapshots")


def record_snapshots(context: dg.AssetExecutionContext, config: SnapshotConfig, warehouse: Warehouse,
                     clock: Clock, portfolio: PortfolioResource) -> Iterator[dg.MaterializeResult]:
    """Append-only historian, partitioned by snapshot_date: today's partition is recorded, past ones reconstructed;
    with it ``snapshot_log`` (what each hotel and date did) and ``snapshot_digests`` (the append-only seal)."""
    window = context.partition_time_window
    start = date.fromisoformat(window.start.strftime("%Y-%m-%d"))
    end = date.fromisoformat(window.end.strftime("%Y-%m-%d")) - timedelta(days=1)
    outcomes = take_snapshots(warehouse, portfolio.get(), clock, start, end, config.hotels or None)
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    skipped = [o for o in outcomes if o.status == "skipped"]
    for o in skipped[:20]:
        context.log.warning(f"snapshot {o.hotel_id} {o.snapshot_date} skipped: {o.reason}")
    yield from written(context, warehouse, dg.MaterializeResult(asset_key="pacing_snapshots", metadata={
        "snapshot_range": f"{start} .. {end}",
        "hotel_dates_recorded": counts.get("recorded", 0),
        "hotel_dates_reconstructed": counts.get("reconstructed", 0),
        "hotel_dates_skipped": counts.get("skipped", 0),
        "hotel_dates_already_present": counts.get("present", 0),
        "skipped": dg.MetadataValue.json([f"{o.hotel_id} {o.snapshot_date}: {o.reason}" for o in skipped[:50]]),
    }))


def build_pacing_snapshots(portfolio: Portfolio) -> dg.AssetsDefinition:
    """The historian, partitioned by the snapshot dates of ``portfolio`` (history start .. the clock's today), with
    the two tables it alone writes.

    Those two are not partitioned: a run records each of them once with its row count, whatever range it covers.
    Partitioned alike, a year's backfill logged a planned and a materialisation event per date for each (766 more
    events, two thirds of the run's cost on the SQLite instance storage) to say what one event says.
    """
    return dg.multi_asset(
        name="pacing_snapshots",
        specs=[dg.AssetSpec(
            "pacing_snapshots", description=_PACING.description, group_name="pacing",
            partitions_def=snapshot_partitions(portfolio),
            deps=["hotels", "reservation_nights", "daily_metrics"], kinds={"sql", "duckdb", "postgres"},
            metadata={"dagster/column_schema": column_schema(_PACING),
                      "sql_file": "dbt_like_sql/pacing_snapshots.sql", "append_only": True}),
            *owned_specs("pacing_snapshots", "pacing")],
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=WAREHOUSE_POOL,
        can_subset=True,
    )(record_snapshots)
