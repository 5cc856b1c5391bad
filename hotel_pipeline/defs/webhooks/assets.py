"""The webhook asset and sensor: the inbox's spool read with a cursor, applied to the live board.

``webhook_events`` ingests what the receiver stored and applies every pending inbox row (see
``hotel_pipeline.webhooks.apply``); its metadata carries the lag per hotel (received -> applied), which also goes to
``integration_status`` (source ``<vendor>_webhooks``). ``webhook_inbox_sensor`` looks at the receiver's journal every
15 s and requests a run when it grew past its cursor; the run reads the journal from the cursor committed in the
warehouse (``webhook_spool_cursor``) and applies whatever is pending, so nothing depends on the sensor's own cursor.
"""


from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from hotel_pipeline.core.clock import Clock
from hotel_pipeline.core.portfolio_resource import PortfolioResource
from hotel_pipeline.core.warehouse import WAREHOUSE_POOL, Warehouse
from hotel_pipeline.defs.tables import owned_specs, written
from hotel_pipeline.sources.pms.resource import PmsConnectors
from hotel_pipeline.webhooks.apply import run_once
from hotel_pipeline.webhooks.inbox import WEBHOOK_INBOX
from hotel_pipeline.webhooks.resource import WebhookSpool

SENSOR_INTERVAL_SECONDS = 15


@dg.multi_asset(
    name="webhook_events",
    specs=[dg.AssetSpec(
        "webhook_events", group_name="webhooks", kinds={"python", "duckdb", "postgres"}, deps=["daily_metrics"],
        metadata={"dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn(c.name, c.type, description=c.doc) for c in WEBHOOK_INBOX.columns])},
        description="Webhook deliveries moved into webhook_inbox and applied: named reservations fetched, merged, "
                    "and daily_metrics and pickup updated for the stay dates they touch."),
        *owned_specs("webhook_events", "webhooks")],
    pool=WAREHOUSE_POOL,
    can_subset=True,
)
def webhook_events(context: dg.AssetExecutionContext, warehouse: Warehouse, clock: Clock, pms: PmsConnectors,
                   webhooks: WebhookSpool, portfolio: PortfolioResource) -> Iterator[dg.MaterializeResult]:
    result = run_once(warehouse, portfolio.get(), clock, webhooks.spool(), make_connector=pms.connector,
                      raw_root=Path(pms.raw_dir))
    failed = [b for b in result.batches if b.outcome.startswith("failed")]
    for b in failed:
        context.log.warning(f"{b.hotel_id} {b.vendor}: {b.outcome} (events stay pending)")
    yield from written(context, warehouse, dg.MaterializeResult(asset_key="webhook_events", metadata={
        "ingested": result.ingested,
        "quarantined": result.quarantined,
        "events_applied": sum(b.events for b in result.batches if not b.outcome.startswith("failed")),
        "events_pending_after_failure": sum(b.events for b in failed),
        "new_versions": sum(b.accepted for b in result.batches),
        "board_rows_changed": sum(b.board_rows_changed for b in result.batches),
        "lag_by_hotel": dg.MetadataValue.json(result.lag_by_hotel()),
        "rejected_credentials": dg.MetadataValue.json(webhooks.spool().rejected()),
    }))


webhook_job = dg.define_asset_job("webhook_apply_job", selection=[webhook_events],
                                  description="Apply the webhook inbox to the live board.")


@dg.sensor(job=webhook_job, minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
           default_status=dg.DefaultSensorStatus.RUNNING)
def webhook_inbox_sensor(context: dg.SensorEvaluationContext, webhooks: WebhookSpool) -> dg.SensorResult:
    """A run when the receiver's journal grew past the cursor (its size in bytes; it only grows)."""
    size = webhooks.spool().size()
    seen = int(context.cursor or 0)
    if size <= seen:
        return dg.SensorResult(skip_reason="nothing new in the webhook inbox")
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=f"webhooks-{size}")], cursor=str(size))
