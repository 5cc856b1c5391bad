"""Webhook definitions: the inbox asset, its job, the inbox sensor and the spool resource (key ``webhooks``)."""

import dagster as dg

from hotel_pipeline.core.portfolio import Portfolio
from hotel_pipeline.defs.webhooks.assets import webhook_events, webhook_inbox_sensor, webhook_job
from hotel_pipeline.webhooks.resource import WebhookSpool


def build_defs(portfolio: Portfolio) -> dg.Definitions:
    """This domain's Dagster objects for ``portfolio``."""
    return dg.Definitions(assets=[webhook_events], jobs=[webhook_job], sensors=[webhook_inbox_sensor],
                          resources={"webhooks": WebhookSpool()})
