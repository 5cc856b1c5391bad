"""Pacing domain definitions: live layer, historian, pickup, the nightly recorder."""

import dagster as dg

from hotel_pipeline.defs.pacing.assets import hotels, pacing_snapshots
from hotel_pipeline.defs.pacing.schedules import nightly_job, reconstruct_job, recorder_schedules
from hotel_pipeline.portfolio import current_portfolio

defs = dg.Definitions(
    assets=[hotels, pacing_snapshots],
    jobs=[nightly_job, reconstruct_job],
    schedules=recorder_schedules(current_portfolio()),
)
