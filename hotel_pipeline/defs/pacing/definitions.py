"""Pacing domain definitions: live layer, historian, pickup, the nightly recorder and the checks of those tables."""

import dagster as dg

from hotel_pipeline.core.portfolio import Portfolio
from hotel_pipeline.defs.pacing.assets import build_pacing_snapshots, hotels
from hotel_pipeline.defs.pacing.checks import BLOCKING_CHECKS, WARNING_CHECKS
from hotel_pipeline.defs.pacing.schedules import nightly_job, reconstruct_job, recorder_schedules


def build_defs(portfolio: Portfolio) -> dg.Definitions:
    """This domain's Dagster objects for ``portfolio``."""
    return dg.Definitions(
        assets=[hotels, build_pacing_snapshots(portfolio)],
        asset_checks=[*BLOCKING_CHECKS, *WARNING_CHECKS],
        jobs=[nightly_job, reconstruct_job],
        schedules=recorder_schedules(portfolio),
    )
