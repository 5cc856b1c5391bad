"""Reports domain: the pace report asset (PNG per hotel shown in the UI, one HTML page in the exports folder)."""

import base64

import dagster as dg

from hotel_pipeline.core import settings
from hotel_pipeline.core.portfolio import Portfolio
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.reports.publish import publish_reports


@dg.asset(
    group_name="reports",
    kinds={"python", "matplotlib", "html"},
    deps=["pickup", "pacing_snapshots"],
    automation_condition=dg.AutomationCondition.eager(),
    description="Pace report per hotel: booking curves of the next nights against last year's, pickup 1/7/30 days "
                "and pace vs STLY over the next 90 nights, occupancy and ADR, integration health. The PNG shows "
                "here; the whole report is exports/pace_report.html.",
)
def pace_report(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    published = publish_reports(warehouse, settings.exports_dir())
    metadata: dict = {"page": dg.MetadataValue.path(str(published.page))}
    for hotel_id, png in published.png_bytes.items():
        data = published.data[hotel_id]
        metadata[f"{hotel_id} pace report"] = dg.MetadataValue.md(
            f"**{hotel_id} {data['name']}**, as of {data['as_of']}\n\n"
            f"![{hotel_id} pace report](data:image/png;base64,{base64.b64encode(png).decode()})")
    context.log.info(f"pace report of {', '.join(published.pngs)} written to {published.page}")
    return dg.MaterializeResult(metadata=metadata)


def build_defs(portfolio: Portfolio) -> dg.Definitions:
    """This domain's Dagster objects for ``portfolio``."""
    return dg.Definitions(assets=[pace_report])
