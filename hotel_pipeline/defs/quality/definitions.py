"""Quality domain definitions: asset checks only; resources (``warehouse``) and executor come from the root."""

import dagster as dg

from hotel_pipeline.core.portfolio import Portfolio
from hotel_pipeline.defs.quality.checks import BLOCKING_CHECKS, WARNING_CHECKS


def build_defs(portfolio: Portfolio) -> dg.Definitions:
    """This domain's Dagster objects for ``portfolio``."""
    return dg.Definitions(asset_checks=[*BLOCKING_CHECKS, *WARNING_CHECKS])
