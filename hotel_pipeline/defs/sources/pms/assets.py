"""The PMS extract asset, its job and schedules.

Why this shape:
- one asset, partitioned by hotel (one partition per hotel of the portfolio the code location is built from): each
  hotel's extract is its own run, so a failing vendor or hotel never fails another hotel's partition;
- the run config picks the mode (``auto`` = full then incremental, or ``reconcile``); two schedules drive it: the
  incremental one ticks every 15 minutes, the reconciliation one every hour, and each hotel's source says how often
  it wants either (``incremental_every_minutes``, default 15; ``reconcile_every_hours``, default 6; window
  ``reconcile_days``, default 7);
- a time-window freshness policy flags a hotel whose extract has not succeeded for 2 hours (warn after 1 hour);
- the asset writes the warehouse, so it runs in ``WAREHOUSE_POOL``.
"""


from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import dagster as dg
from pydantic import Field

from hotel_pipeline.core.clock import Clock
from hotel_pipeline.core.partitions import hotel_partitions
from hotel_pipeline.core.portfolio import Portfolio
from hotel_pipeline.core.portfolio_resource import PortfolioResource
from hotel_pipeline.core.warehouse import WAREHOUSE_POOL, Warehouse
from hotel_pipeline.defs.tables import written
from hotel_pipeline.sources.pms.cadence import due_hotels, pms_sources
from hotel_pipeline.sources.pms.errors import ConnectorError
from hotel_pipeline.sources.pms.extract import record_failure, run_extract
from hotel_pipeline.sources.pms.resource import PmsConnectors

PMS_EXTRACT_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=2),
                                                       warn_window=timedelta(hours=1))


class PmsExtractConfig(dg.Config):
    mode: str = Field(default="auto", description="auto (full first, then incremental), incremental, full or reconcile")


def extract_pms(context: dg.AssetExecutionContext, config: PmsExtractConfig, warehouse: Warehouse, clock: Clock,
                pms: PmsConnectors, portfolio: PortfolioResource) -> Iterator[dg.MaterializeResult]:
    hotels = portfolio.get()
    hotel = hotels.hotel(context.partition_key)
    sources = pms_sources(hotel)
    if not sources:
        context.log.info(f"{hotel.id} has no PMS source; nothing to extract")
        yield dg.MaterializeResult(metadata={"sources": "none"})
        return
    metadata: dict = {}
    for source in sources:
        try:
            connector = pms.connector(hotel, source)
        except ConnectorError as exc:  # e.g. a credential variable not set: the recorder must see the failure
            record_failure(warehouse, hotel.id, source.type, clock.now(), str(exc))
            raise
        try:
            result = run_extract(warehouse, connector, now=clock.now(), mode=config.mode, raw_root=Path(pms.raw_dir),
                                 limits=hotels.import_limits)
        finally:
            connector.close()
        context.log.info(f"{hotel.id} {source.type} {result.mode}: {result.records} records, "
                         f"{result.accepted.accepted} accepted, {result.stats.requests} requests")
        metadata.update({f"{source.type}.{k}": v for k, v in result.metadata().items()})
    yield from written(context, warehouse, dg.MaterializeResult(asset_key="pms_extract", metadata=metadata))


def build_pms_extract(portfolio: Portfolio) -> dg.AssetsDefinition:
    """The ``pms_extract`` asset, one partition per hotel of ``portfolio``."""
    return dg.asset(
        name="pms_extract",
        group_name="sources_pms",
        kinds={"python", "polars"},
        pool=WAREHOUSE_POOL,
        partitions_def=hotel_partitions(portfolio),
        freshness_policy=PMS_EXTRACT_FRESHNESS,
        description="Reservations, rooms and guests of one hotel pulled from its PMS API into the raw zone and the "
                    "unified model; the cursor moves in the same transaction as the data.",
    )(extract_pms)


pms_extract_job = dg.define_asset_job("pms_extract_job", selection=dg.AssetSelection.assets("pms_extract"))


def _requests(context: dg.ScheduleEvaluationContext, kind: str, portfolio: Portfolio) -> list[dg.RunRequest]:
    tick = context.scheduled_execution_time
    minute = tick.hour * 60 + tick.minute
    due = due_hotels(portfolio, kind, minute)
    return [
        dg.RunRequest(
            run_key=f"{kind}-{hotel_id}-{tick.isoformat()}",
            partition_key=hotel_id,
            run_config={"ops": {"pms_extract": {"config": {"mode": mode}}}},
            tags={"pms/mode": mode},
        )
        for hotel_id, mode in due
    ]


def build_pms_schedules(portfolio: Portfolio) -> list[dg.ScheduleDefinition]:
    """The incremental and reconciliation schedules of ``portfolio``'s hotels (stopped by default)."""

    @dg.schedule(job=pms_extract_job, cron_schedule="*/15 * * * *", execution_timezone="UTC",
                 default_status=dg.DefaultScheduleStatus.STOPPED,
                 description="Ticks every 15 min; each hotel is pulled every incremental_every_minutes of its source "
                             "(default 15).")
    def pms_incremental_schedule(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
        """Incremental pulls (per source ``incremental_every_minutes``, default 15)."""
        return _requests(context, "incremental", portfolio)

    @dg.schedule(job=pms_extract_job, cron_schedule="0 * * * *", execution_timezone="UTC",
                 default_status=dg.DefaultScheduleStatus.STOPPED,
                 description="Ticks hourly; each hotel is re-read every reconcile_every_hours of its source (default "
                             "6 h) over the last reconcile_days (default 7).")
    def pms_reconcile_schedule(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
        """Reconciliation re-reads (per source ``reconcile_every_hours``, default 6; window ``reconcile_days``)."""
        return _requests(context, "reconcile", portfolio)

    return [pms_incremental_schedule, pms_reconcile_schedule]
