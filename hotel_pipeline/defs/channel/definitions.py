"""Channel domain definitions: what Beds24 should sell, the outbox of changes and the jobs that push and reconcile.

Assets (group ``channel``): ``channel_blocks`` / ``channel_rates`` (the block and rate sources: CSV files in
``<inbox>/channel/``, and Mews ``rates/getPricing`` for a hotel whose rates come from Mews), ``channel_availability``
(per hotel, room type and night) and ``channel_outbox`` (the changes queued since the last push). The sensor
``channel_outbox_sensor`` starts ``channel_drain_job`` whenever rows wait; ``channel_plan_schedule`` re-plans every 15
minutes; ``channel_reconcile_schedule`` reads Beds24 back every 6 hours. Hotels come from the channel configuration
(``HOTEL_CHANNEL_CONFIG``, default data/channel.yaml) intersected with the portfolio.
"""


from collections.abc import Iterator

import dagster as dg

from hotel_pipeline.channel import outbox
from hotel_pipeline.channel.availability import refresh_availability
from hotel_pipeline.channel.client import Beds24Client
from hotel_pipeline.channel.config import channel_hotels
from hotel_pipeline.channel.drain import drain_hotel
from hotel_pipeline.channel.inbox import import_inbox
from hotel_pipeline.channel.mews_rates import import_mews_rates
from hotel_pipeline.channel.push import plan_hotel
from hotel_pipeline.channel.reconcile import reconcile_hotel
from hotel_pipeline.channel.tables import CHANNEL_AVAILABILITY, CHANNEL_OUTBOX
from hotel_pipeline.core.clock import Clock
from hotel_pipeline.core.portfolio import Portfolio
from hotel_pipeline.core.portfolio_resource import PortfolioResource
from hotel_pipeline.core.warehouse import WAREHOUSE_POOL, Warehouse
from hotel_pipeline.defs.tables import record_shared, written

GROUP = "channel"


def _schema(spec) -> dg.TableSchema:  # noqa: ANN001 - a TableSpec
    return dg.TableSchema(columns=[dg.TableColumn(c.name, c.type, description=c.doc) for c in spec.columns])


@dg.asset(group_name=GROUP, kinds={"python"}, pool=WAREHOUSE_POOL,
          description="Rooms out of order (blocks_*.csv of the channel inbox, or rows written directly).")
def channel_blocks(context: dg.AssetExecutionContext, warehouse: Warehouse, clock: Clock) -> dg.MaterializeResult:
    """Apply the block files of the channel inbox (idempotent upserts by block id)."""
    report = import_inbox(warehouse, clock.now_naive_utc(), kinds=("blocks",))
    return dg.MaterializeResult(metadata={"files": report.files, "rows": report.blocks})


@dg.asset(group_name=GROUP, kinds={"python"}, pool=WAREHOUSE_POOL,
          description="Nightly rate and minimum stay per room type and rate plan (rates_*.csv, Mews getPricing).")
def channel_rates(context: dg.AssetExecutionContext, warehouse: Warehouse, clock: Clock,
                  portfolio: PortfolioResource) -> dg.MaterializeResult:
    """Apply the rate files of the channel inbox and fetch Mews prices for hotels priced in Mews."""
    report = import_inbox(warehouse, clock.now_naive_utc(), kinds=("rates",))
    mews = {}
    for hotel, tz in channel_hotels(portfolio.get()):
        if hotel.rates == "mews":
            mews[hotel.hotel_id] = import_mews_rates(warehouse, portfolio.get().hotel(hotel.hotel_id), hotel,
                                                     clock.business_date(tz), clock.now_naive_utc())
    return dg.MaterializeResult(metadata={"files": report.files, "rows_from_csv": report.rates,
                                          "nights_from_mews": dg.MetadataValue.json(mews)})


@dg.asset(
    group_name=GROUP, kinds={"python", "polars"}, pool=WAREHOUSE_POOL,
    deps=["reservations", channel_blocks, channel_rates],
    metadata={"dagster/column_schema": _schema(CHANNEL_AVAILABILITY)},
    description="Per hotel, room type and night of the next 365: physical rooms, sold, out of order, available "
                "(never below zero, overbooking reported) and the rate and minimum stay to push.",
)
def channel_availability(context: dg.AssetExecutionContext, warehouse: Warehouse, clock: Clock,
                         portfolio: PortfolioResource) -> dg.MaterializeResult:
    messages, rows, overbooked = [], 0, 0
    for hotel, tz in channel_hotels(portfolio.get()):
        frame, issues = refresh_availability(warehouse, hotel, clock.business_date(tz), clock.now_naive_utc())
        rows += frame.height
        overbooked += int((frame["overbooked"] > 0).sum())
        messages += issues.messages(hotel.hotel_id)
    for m in messages:
        context.log.warning(m)
    return dg.MaterializeResult(metadata={"dagster/row_count": rows, "overbooked_nights": overbooked,
                                          "mapping_issues": dg.MetadataValue.json(messages)})


@dg.asset_check(asset=channel_availability, pool=WAREHOUSE_POOL,
                description="Every room type and rate plan with data has a Beds24 mapping (else it is not pushed).")
def channel_mapping_complete(warehouse: Warehouse, clock: Clock, portfolio: PortfolioResource) -> dg.AssetCheckResult:
    from hotel_pipeline.channel.availability import compute_availability

    messages = []
    for hotel, tz in channel_hotels(portfolio.get()):
        with warehouse.transaction() as tx:
            _, issues = compute_availability(tx, hotel, clock.business_date(tz), clock.now_naive_utc())
        messages += issues.messages(hotel.hotel_id)
    return dg.AssetCheckResult(passed=not messages, severity=dg.AssetCheckSeverity.WARN,
                               metadata={"issues": dg.MetadataValue.json(messages)})


@dg.asset(
    group_name=GROUP, kinds={"python"}, pool=WAREHOUSE_POOL, deps=[channel_availability],
    metadata={"dagster/column_schema": _schema(CHANNEL_OUTBOX)},
    description="Durable outbox of changes for Beds24: the nights that changed since the last push (as from/to "
                "runs) and the reservations created, changed or cancelled outside Beds24.",
)
def channel_outbox(context: dg.AssetExecutionContext, warehouse: Warehouse, clock: Clock,
                   portfolio: PortfolioResource) -> Iterator[dg.MaterializeResult]:
    queued = {}
    for hotel, tz in channel_hotels(portfolio.get()):
        report = plan_hotel(warehouse, hotel, clock.business_date(tz), clock.now(), refresh=False)
        queued[hotel.hotel_id] = {"calendar_rows": report.calendar.rooms, "nights": report.calendar.nights,
                                  "creates": report.bookings.creates, "updates": report.bookings.updates,
                                  "cancels": report.bookings.cancels,
                                  "not_pushed_back_from_beds24": report.bookings.skipped_channel_origin}
    yield from written(context, warehouse, dg.MaterializeResult(asset_key="channel_outbox", metadata={
        "queued": dg.MetadataValue.json(queued), "states": dg.MetadataValue.json(outbox.counts(warehouse))}))


@dg.op(pool=WAREHOUSE_POOL)
def drain_channel_outbox(context: dg.OpExecutionContext, warehouse: Warehouse, clock: Clock,
                         portfolio: PortfolioResource) -> None:
    """Send the queued changes to Beds24 within its credit budget; resumes whatever an earlier run left."""
    for hotel, _ in channel_hotels(portfolio.get()):
        report, stats = drain_hotel(warehouse, hotel, clock.now)
        context.log.info(f"{hotel.hotel_id}: acknowledged {report.acknowledged} ({report.read_back_acknowledged} by "
                         f"read-back), failed {report.failed}; {stats.requests} requests, {stats.credits} credits, "
                         f"{stats.retries} retries, waited {stats.waited_seconds:.1f} s")
        if report.failed:
            context.log.warning(f"{hotel.hotel_id}: {report.failed} rows failed; see channel_outbox.last_error")
    record_shared(context, warehouse, "drain_channel_outbox")


@dg.op(pool=WAREHOUSE_POOL)
def reconcile_channel(context: dg.OpExecutionContext, warehouse: Warehouse, clock: Clock,
                      portfolio: PortfolioResource) -> None:
    """Read Beds24 back; record drift in channel_drift and queue drifted nights again."""
    for hotel, tz in channel_hotels(portfolio.get()):
        with Beds24Client(hotel.base_url, hotel.refresh_token()) as client:
            r = reconcile_hotel(warehouse, hotel, client, clock.business_date(tz), clock.now())
        context.log.info(f"{hotel.hotel_id}: {r.nights_checked} nights, {r.bookings_checked} bookings checked; "
                         f"drift {r.calendar_drift} calendar values, {r.booking_drift} booking fields")
    record_shared(context, warehouse, "reconcile_channel")


@dg.job(description="Drain channel_outbox into Beds24.")
def channel_drain_job() -> None:
    drain_channel_outbox()


@dg.job(description="Compare Beds24's calendar and bookings with what it acknowledged; record channel_drift.")
def channel_reconcile_job() -> None:
    reconcile_channel()


channel_plan_job = dg.define_asset_job(
    "channel_plan_job", selection=dg.AssetSelection.assets(channel_blocks, channel_rates, channel_availability,
                                                           channel_outbox),
    description="Refresh the block and rate sources and the availability, and queue what changed for Beds24.")


@dg.sensor(job=channel_drain_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Starts channel_drain_job when channel_outbox has pending or sent rows and no drain is running.")
def channel_outbox_sensor(context: dg.SensorEvaluationContext, warehouse: Warehouse) -> dg.SensorResult:
    counts = outbox.counts(warehouse)
    waiting = counts["pending"] + counts["sent"]
    if not waiting:
        return dg.SensorResult(skip_reason="channel_outbox has nothing to send")
    running = context.instance.get_runs(filters=dg.RunsFilter(
        job_name="channel_drain_job", statuses=[dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.STARTED,
                                                dg.DagsterRunStatus.NOT_STARTED]), limit=1)
    if running:
        return dg.SensorResult(skip_reason="a drain is already running")
    return dg.SensorResult(run_requests=[dg.RunRequest(tags={"channel_rows_waiting": str(waiting)})])


def build_defs(portfolio: Portfolio) -> dg.Definitions:
    """This domain's Dagster objects for ``portfolio``."""
    return dg.Definitions(
        assets=[channel_blocks, channel_rates, channel_availability, channel_outbox],
        asset_checks=[channel_mapping_complete],
        jobs=[channel_drain_job, channel_reconcile_job, channel_plan_job],
        sensors=[channel_outbox_sensor],
        schedules=[
            dg.ScheduleDefinition(name="channel_plan_schedule", cron_schedule="*/15 * * * *", job=channel_plan_job,
                                  description="Every 15 minutes: queue what changed for Beds24."),
            dg.ScheduleDefinition(name="channel_reconcile_schedule", cron_schedule="30 */6 * * *",
                                  job=channel_reconcile_job,
                                  description="Every 6 hours: read Beds24 back and record channel_drift."),
        ],
    )
