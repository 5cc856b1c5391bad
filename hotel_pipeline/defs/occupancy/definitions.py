"""Occupancy domain definitions: policies, per-night board, room nights and their blocking checks."""

import dagster as dg

from hotel_pipeline.core.portfolio import Portfolio
from hotel_pipeline.defs.occupancy.assets import build_assets
from hotel_pipeline.defs.occupancy.checks import CHECKS


def build_defs(portfolio: Portfolio) -> dg.Definitions:
    """This domain's Dagster objects for ``portfolio``."""
    return dg.Definitions(assets=build_assets(portfolio), asset_checks=CHECKS)
