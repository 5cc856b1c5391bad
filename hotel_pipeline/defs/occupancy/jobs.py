"""Occupancy jobs and schedules: the restaurant's tables after the nightly sync, and the daily retention purge.

Both run in hotel-local time, one schedule per time zone of the portfolio: room nights at 03:30 (after the 02:00
sync and the 03:00 recorder), retention at 04:30. Restaurant CSV files dropped into the inbox start a restaurant run
through ``restaurant_inbox_sensor``.
"""


import dagster as dg

from hotel_pipeline.core import settings
from hotel_pipeline.core.clock import Clock, zone_slug
from hotel_pipeline.core.portfolio import Portfolio
from hotel_pipeline.core.warehouse import WAREHOUSE_POOL, Warehouse
from hotel_pipeline.defs.tables import record_shared, with_owned
from hotel_pipeline.occupancy.restaurant import restaurant_inbox_batch
from hotel_pipeline.privacy.retention import purge_expired

OCCUPANCY_ASSETS = ["hotels", "reservations", "reservation_nights", "daily_metrics", "hotel_policies", "night_meals",
                    "room_nights", "room_conflicts", "residents_daily", "restaurant_booking_records",
                    "restaurant_bookings", "dinner_gaps"]

occupancy_job = dg.define_asset_job(
    "occupancy_job", selection=with_owned(*OCCUPANCY_ASSETS),
    description="Room nights, the kitchen's forecast and restaurant links, from the latest synced state.")


def build_retention_job(portfolio: Portfolio) -> dg.JobDefinition:
    @dg.op(pool=WAREHOUSE_POOL)
    def purge_expired_detail(context: dg.OpExecutionContext, warehouse: Warehouse, clock: Clock) -> None:
        """Purge room nights, per-night board, restaurant bookings and names past each hotel's retention."""
        log = purge_expired(warehouse, portfolio, clock, f"run:{context.run_id}")
        record_shared(context, warehouse, "purge_expired_detail")
        for row in log.iter_rows(named=True):
            context.log.info(f"{row['hotel_id']} {row['table_name']}: {row['rows_purged']} purged "
                             f"(before {row['cutoff_date']})")

    @dg.job(name="retention_job", description="Purge room-level detail and names past each hotel's retention.")
    def retention_job() -> None:
        purge_expired_detail()

    return retention_job


def build_schedules(portfolio: Portfolio, retention_job: dg.JobDefinition) -> list[dg.ScheduleDefinition]:
    schedules = []
    for tz in portfolio.timezones:
        schedules.append(dg.ScheduleDefinition(
            name=f"occupancy_0330_{zone_slug(tz)}", cron_schedule="30 3 * * *", execution_timezone=tz, job=occupancy_job,
            default_status=dg.DefaultScheduleStatus.RUNNING,
            description=f"03:30 {tz}: room nights, residents_daily and restaurant links"))
        schedules.append(dg.ScheduleDefinition(
            name=f"retention_0430_{zone_slug(tz)}", cron_schedule="30 4 * * *", execution_timezone=tz, job=retention_job,
            default_status=dg.DefaultScheduleStatus.RUNNING,
            description=f"04:30 {tz}: purge room-level detail past retention"))
    return schedules


RESTAURANT_ASSETS = ["restaurant_booking_records", "restaurant_bookings", "dinner_gaps"]

restaurant_job = dg.define_asset_job(
    "restaurant_bookings_job", selection=dg.AssetSelection.assets(*RESTAURANT_ASSETS),
    description="Land restaurant bookings (API and inbox) and relink them to tonight's room nights.")


@dg.sensor(job=restaurant_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING)
def restaurant_inbox_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    """A run when restaurant CSV files wait in the inbox; the run lands them (and removes them from the inbox), so a
    batch is requested once (run key = digest of the batch, also the cursor)."""
    names, digest = restaurant_inbox_batch(settings.inbox_dir())
    if not names:
        return dg.SensorResult(skip_reason="no restaurant files in the inbox", cursor=context.cursor)
    if digest == context.cursor:
        return dg.SensorResult(skip_reason="this batch was already requested", cursor=digest)
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=f"restaurant-{digest}", tags={"files": str(len(names))})],
                           cursor=digest)
