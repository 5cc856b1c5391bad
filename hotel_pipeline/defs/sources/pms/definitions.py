"""PMS source definitions: the per-hotel extract asset, its job and its two schedules.

Resources it needs (registered centrally): ``warehouse``, ``clock`` and ``pms`` (``PmsConnectors``).
"""

import dagster as dg

from hotel_pipeline.core.portfolio import Portfolio
from hotel_pipeline.defs.sources.pms.assets import (
    pms_extract,
    pms_extract_job,
    pms_incremental_schedule,
    pms_reconcile_schedule,
)


def build_defs(portfolio: Portfolio) -> dg.Definitions:
    """This domain's Dagster objects for ``portfolio``."""
    return dg.Definitions(assets=[pms_extract], jobs=[pms_extract_job],
                          schedules=[pms_incremental_schedule, pms_reconcile_schedule])
