"""Exports domain: the marts as hive-partitioned Parquet for BI tools, rewritten whole after each night."""

import dagster as dg

from hotel_pipeline.core import settings
from hotel_pipeline.core.portfolio import Portfolio
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.exports.parquet import MARTS, export_marts


@dg.asset(
    group_name="exports",
    kinds={"python", "parquet"},
    deps=[m.table for m in MARTS],
    automation_condition=dg.AutomationCondition.eager(),
    description="pacing_snapshots, pickup and daily_metrics as hive-partitioned Parquet under exports/ "
                "(pacing_snapshots/hotel_id=.../snapshot_date=.../part-0.parquet); same warehouse, same files.",
)
def bi_exports(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    dest = settings.exports_dir()
    written = export_marts(warehouse, dest)
    context.log.info(f"exported {written} to {dest}")
    return dg.MaterializeResult(metadata={
        "folder": dg.MetadataValue.path(str(dest)),
        **{f"{table} rows": w["rows"] for table, w in written.items()},
        **{f"{table} files": w["files"] for table, w in written.items()},
    })


#: What the nightly run hands to analysts once pickup is fresh: the Parquet exports and the pace report.
publish_job = dg.define_asset_job(
    "publish_job", selection=dg.AssetSelection.assets("bi_exports", "pace_report"),
    description="Write the BI exports and the pace report from the warehouse as it stands.",
)


def build_defs(portfolio: Portfolio) -> dg.Definitions:
    """This domain's Dagster objects for ``portfolio``."""
    return dg.Definitions(assets=[bi_exports], jobs=[publish_job])
