"""The warehouse's own Dagster objects: after every successful run, publish the analysts' copy (DuckDB)."""

import dagster as dg

from hotel_pipeline.core.portfolio import Portfolio
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.core.warehouse.analyst_copy import publish_analyst_copy


@dg.run_status_sensor(run_status=dg.DagsterRunStatus.SUCCESS, default_status=dg.DefaultSensorStatus.RUNNING,
                      minimum_interval_seconds=30, name="analyst_copy_sensor")
def analyst_copy_sensor(context: dg.RunStatusSensorContext, warehouse: Warehouse) -> dg.SkipReason | None:
    """A run succeeded: swap in a fresh read-only copy of the DuckDB warehouse for analysts (no-op on Postgres)."""
    published = publish_analyst_copy(warehouse)
    if published is None:
        return dg.SkipReason("nothing to publish (Postgres serves analysts directly)")
    context.log.info(f"analyst copy published at {published} after run {context.dagster_run.run_id}")
    return None


def build_defs(portfolio: Portfolio) -> dg.Definitions:
    """This domain's Dagster objects for ``portfolio``."""
    return dg.Definitions(sensors=[analyst_copy_sensor])
