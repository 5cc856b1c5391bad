"""Everything Dagster loads: per-domain definitions merged, SQL model assets, resources and executor set once.

The domain modules are imported as modules (not their ``defs`` by name): Dagster loads this module and accepts
exactly one ``Definitions`` object at its top level.
"""

from __future__ import annotations

import dagster as dg

from hotel_pipeline.defs.dining import definitions as dining
from hotel_pipeline.defs.pacing import definitions as pacing
from hotel_pipeline.defs.quality import definitions as quality
from hotel_pipeline.defs.sources.csv import definitions as csv_source
from hotel_pipeline.defs.sources.pms import definitions as pms_source
from hotel_pipeline.resources import default_resources
from hotel_pipeline.sql_models import model_assets


def build_definitions() -> dg.Definitions:
    core = dg.Definitions(
        assets=model_assets(),
        resources=default_resources(),
        # DuckDB has one writer: warehouse-writing steps share the WAREHOUSE_POOL; the rest may run in parallel.
        executor=dg.multiprocess_executor.configured({"max_concurrent": 2}),
    )
    return dg.Definitions.merge(core, csv_source.defs, pms_source.defs, pacing.defs, quality.defs, dining.defs)


defs = build_definitions()
