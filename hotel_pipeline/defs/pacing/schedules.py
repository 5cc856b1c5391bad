"""The nightly recorder: 03:00 hotel-local, one schedule per time zone of the portfolio.

Each tick targets the snapshot_date partition = the local business date of that zone, for the hotels in it; the job
refreshes the unified model and live layer first, so the photograph is of the latest synced state. Hotels whose sync
failed or is stale are skipped by the recorder and logged in ``snapshot_log``.
"""


from zoneinfo import ZoneInfo

import dagster as dg

from hotel_pipeline.core.clock import zone_slug
from hotel_pipeline.core.partitions import last_snapshot_date
from hotel_pipeline.core.portfolio import Portfolio
from hotel_pipeline.defs.tables import with_owned

nightly_job = dg.define_asset_job(
    "nightly_pacing_job",
    selection=with_owned("hotels", "reservations", "reservation_nights", "daily_metrics", "pacing_snapshots",
                         "pickup"),
    description="Refresh the live layer, photograph it into the historian, recompute pickup.",
)

reconstruct_job = dg.define_asset_job(
    "reconstruct_history_job",
    selection=with_owned("pacing_snapshots"),
    description="Rebuild past snapshot dates from booking history (launch as a backfill: one run for the range).",
)


def recorder_schedules(portfolio: Portfolio) -> list[dg.ScheduleDefinition]:
    """One 03:00 schedule per time zone; with the clock frozen, ticks after its date request nothing."""
    last = last_snapshot_date(portfolio)
    schedules = []
    for tz in portfolio.timezones:
        hotel_ids = [h.id for h in portfolio.hotels if h.timezone == tz]

        def _evaluate(context: dg.ScheduleEvaluationContext, tz: str = tz, hotel_ids: list[str] = hotel_ids):
            business_date = context.scheduled_execution_time.astimezone(ZoneInfo(tz)).date()
            if last is not None and business_date > last:
                return dg.SkipReason(f"the clock is frozen at {last}: no snapshot partition {business_date}")
            return dg.RunRequest(
                partition_key=business_date.isoformat(),
                run_config={"ops": {"pacing_snapshots": {"config": {"hotels": hotel_ids}}}},
                tags={"recorder_timezone": tz},
            )

        schedules.append(dg.ScheduleDefinition(
            name=f"recorder_0300_{zone_slug(tz)}",
            cron_schedule="0 3 * * *",
            execution_timezone=tz,
            job=nightly_job,
            execution_fn=_evaluate,
            default_status=dg.DefaultScheduleStatus.RUNNING,
            description=f"03:00 {tz}: record today's snapshot for {', '.join(hotel_ids)}",
        ))
    return schedules
