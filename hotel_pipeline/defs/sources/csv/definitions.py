"""Legacy CSV source definitions."""

import dagster as dg

from hotel_pipeline.core.portfolio import Portfolio
from hotel_pipeline.defs.sources.csv.assets import csv_import_job, csv_inbox_sensor, legacy_csv_import


def build_defs(portfolio: Portfolio) -> dg.Definitions:
    """This domain's Dagster objects for ``portfolio``."""
    return dg.Definitions(assets=[legacy_csv_import], jobs=[csv_import_job], sensors=[csv_inbox_sensor])
