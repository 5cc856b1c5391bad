"""Beds24's inventory webhook for a hotel that pushes to Beds24 as its channel manager: the receiver has a route for
it (whatever the hotel's PMS), and the run hands ``SYNC_ROOM`` to the channel domain's reconciliation."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import yaml

from hotel_pipeline.core.clock import Clock
from hotel_pipeline.core.portfolio import parse_portfolio
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.webhooks.apply import run_once
from hotel_pipeline.webhooks.spool import Spool
from hotel_pipeline.webhooks.vendors import portfolio_endpoints
from hotel_pipeline.workshop.sandbox.webhooks.harness import receiver_thread

FIXTURE = Path(__file__).parent / "fixtures" / "beds24_inventory_webhook_payload.json"


def test_sync_room_goes_to_channel_reconciliation(duckdb_warehouse: Warehouse, tmp_path: Path, monkeypatch) -> None:
    config = tmp_path / "channel.yaml"
    config.write_text(yaml.safe_dump({"hotels": {"H1": {
        "beds24": {"base_url": "http://127.0.0.1:9/beds24", "refresh_token_env": "HOTEL_TEST_BEDS24_REFRESH_H1"},
        "room_types": {"A": 500001}, "rate_plans": {"BAR": "price1"}}}}))
    monkeypatch.setenv("HOTEL_CHANNEL_CONFIG", str(config))
    monkeypatch.setenv("HOTEL_BEDS24_WEBHOOK_SECRET_H1", "b24-secret")
    portfolio = parse_portfolio({"hotels": [{"id": "H1", "name": "Resort", "timezone": "Europe/Lisbon",
                                             "currency": "EUR", "capacity": 10,
                                             "sources": [{"type": "mews", "base_url": "http://127.0.0.1:9"}]}]})
    endpoints = portfolio_endpoints(portfolio)
    assert {(e.vendor, e.hotel_id) for e in endpoints} == {("mews", "H1"), ("beds24", "H1")}
    spool = Spool(tmp_path / "spool")
    body = FIXTURE.read_bytes()  # roomId 123456: not one of H1's rooms, so the reconciliation has nothing to read
    with receiver_thread(endpoints, spool) as url:
        answer = httpx.post(f"{url}/webhooks/beds24/H1", content=body, headers={"X-Webhook-Secret": "b24-secret"})
    assert answer.status_code == 200
    result = run_once(duckdb_warehouse, portfolio, Clock(frozen_at="2016-07-31T02:00:00+00:00"), spool)
    assert result.ingested == 1
    inbox = duckdb_warehouse.read_table("webhook_inbox")
    assert inbox["kind"].to_list() == ["inventory"]
    assert inbox["outcome"].to_list() == ["dispatched to channel reconciliation"]
    assert json.loads(spool.read_at(inbox["raw_file"][0])["body"])["action"] == "SYNC_ROOM"
