"""PMS source definitions: the per-hotel extract asset, its job and its two schedules.

Resources it needs (registered centrally): ``warehouse``, ``clock`` and ``pms`` (``PmsConnectors``).
"""

import dagster as dg

from hotel_pipeline.core.portfolio import Portfolio
from hotel_pipeline.defs.sources.pms.assets import (
    build_pms_extract,
    build_pms_schedules,
    pms_extract_job,
)


def build_defs(portfolio: Portfolio) -> dg.Definitions:
    """This domain's Dagster objects for ``portfolio``."""
    return dg.Definitions(assets=[build_pms_extract(portfolio)], jobs=[pms_extract_job],
                          schedules=build_pms_schedules(portfolio))
