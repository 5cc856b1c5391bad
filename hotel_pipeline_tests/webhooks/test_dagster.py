"""The webhook domain in Dagster: the sensor asks for a run when the receiver's journal grows (and not again for the
same bytes), the asset ingests it and reports what it did; the code location registers both."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from hotel_pipeline.core.clock import Clock
from hotel_pipeline.core.portfolio import parse_portfolio
from hotel_pipeline.core.portfolio_resource import PortfolioResource
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.defs.webhooks.assets import webhook_events, webhook_inbox_sensor
from hotel_pipeline.sources.pms.resource import PmsConnectors
from hotel_pipeline.webhooks.resource import WebhookSpool
from hotel_pipeline.webhooks.spool import Spool, stamp


def test_sensor_and_asset(duckdb_warehouse: Warehouse, tmp_path: Path) -> None:
    spool_root = tmp_path / "spool"
    resource = WebhookSpool(root=str(spool_root))
    context = dg.build_sensor_context(cursor=None, resources={"webhooks": resource})
    assert webhook_inbox_sensor(context).run_requests == []  # nothing received yet

    writer = Spool(spool_root).writer()
    base = {"vendor": "mews", "hotel_id": "H1", "received_at": stamp(datetime(2016, 7, 20, 10, tzinfo=UTC))}
    writer.submit({**base, "type": "accepted", "key": "b-1", "kind": "other", "ids": [], "event_id": None,
                   "extra": {}, "body": "{}"}).result()
    writer.submit({**base, "type": "quarantined", "key": "q-1", "reason": "not JSON", "body": "{"}).result()
    writer.close()

    result = webhook_inbox_sensor(dg.build_sensor_context(cursor=None, resources={"webhooks": resource}))
    assert len(result.run_requests) == 1
    again = webhook_inbox_sensor(dg.build_sensor_context(cursor=result.cursor, resources={"webhooks": resource}))
    assert again.run_requests == []

    portfolio = parse_portfolio({"hotels": [{"id": "H1", "name": "Resort", "timezone": "Europe/Lisbon",
                                             "currency": "EUR", "capacity": 10,
                                             "sources": [{"type": "mews", "base_url": "http://127.0.0.1:9"}]}]})
    done = dg.materialize([webhook_events], resources={
        "warehouse": duckdb_warehouse, "clock": Clock(frozen_at="2016-07-20T12:00:00+00:00"),
        "pms": PmsConnectors(raw_dir=str(tmp_path / "raw")), "webhooks": resource,
        "portfolio": PortfolioResource.of(portfolio)})
    meta = done.asset_materializations_for_node("webhook_events")[0].metadata
    assert meta["ingested"].value == 1 and meta["quarantined"].value == 1
    # Every table the step wrote is recorded: its own two as its multi_asset, the shared ones as logged events.
    recorded = {m.asset_key.to_user_string() for m in done.asset_materializations_for_node("webhook_events")}
    assert recorded == {"webhook_events", "webhook_spool_cursor", "webhook_inbox", "reservation_versions",
                        "quarantine", "integration_status", "rooms", "guests", "guest_keys", "guest_vault"}
    inbox = duckdb_warehouse.read_table("webhook_inbox")
    assert inbox["outcome"].to_list() == ["ignored: nothing to fetch"]


def test_the_code_location_has_the_webhook_domain() -> None:
    from hotel_pipeline.definitions import defs

    assert defs.get_sensor_def("webhook_inbox_sensor") is not None
    assert defs.resolve_job_def("webhook_apply_job") is not None
