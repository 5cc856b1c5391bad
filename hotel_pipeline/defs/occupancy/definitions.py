"""Occupancy domain definitions: policies, per-night board, room nights, restaurant links, checks, jobs, schedules."""

import dagster as dg

from hotel_pipeline.core.portfolio import Portfolio
from hotel_pipeline.defs.occupancy.assets import build_assets
from hotel_pipeline.defs.occupancy.checks import CHECKS
from hotel_pipeline.defs.occupancy.jobs import (
    build_retention_job,
    build_schedules,
    occupancy_job,
    restaurant_inbox_sensor,
    restaurant_job,
)


def build_defs(portfolio: Portfolio) -> dg.Definitions:
    """This domain's Dagster objects for ``portfolio``."""
    retention_job = build_retention_job(portfolio)
    return dg.Definitions(assets=build_assets(portfolio), asset_checks=CHECKS,
                          jobs=[occupancy_job, restaurant_job, retention_job],
                          schedules=build_schedules(portfolio, retention_job), sensors=[restaurant_inbox_sensor])
