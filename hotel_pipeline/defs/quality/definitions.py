"""Quality domain definitions: asset checks only; resources (``warehouse``) and executor come from the root."""

import dagster as dg

from hotel_pipeline.defs.quality.checks import BLOCKING_CHECKS, WARNING_CHECKS

defs = dg.Definitions(asset_checks=[*BLOCKING_CHECKS, *WARNING_CHECKS])
