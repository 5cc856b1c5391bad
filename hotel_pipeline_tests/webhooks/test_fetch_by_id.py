"""The webhook apply path fetches the reservations an event names, by id, for every vendor whose API has an id
filter; Stayntouch (none documented) falls back to the incremental pull. Real HTTP both ways: the sandbox vendor
sends a day of webhooks to the receiver, the apply run fetches from the same sandbox (requests held to its spec)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from hotel_pipeline.core.clock import Clock, local_instant
from hotel_pipeline.core.portfolio import Portfolio
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.sources.pms import connector_classes
from hotel_pipeline.webhooks.apply import run_once
from hotel_pipeline.webhooks.spool import Spool
from hotel_pipeline.webhooks.vendors import portfolio_endpoints
from hotel_pipeline.workshop.sandbox.pms.harness import expected_reservations, running_sandbox
from hotel_pipeline.workshop.sandbox.pms.world import World
from hotel_pipeline.workshop.sandbox.webhooks.harness import receiver_thread
from hotel_pipeline.workshop.sandbox.webhooks.sender import Target, WebhookSender
from hotel_pipeline_tests.pms.helpers import FAST_RETRY, current_reservations, extract

T = date(2016, 7, 20)
TZ = "Europe/Lisbon"
SECRET = "webhook-secret-for-tests"
BY_ID = ["cloudbeds", "beds24", "opera", "rms", "mews"]


@pytest.mark.parametrize("vendor", [*BY_ID, "stayntouch"])
def test_named_reservations_are_fetched_by_id(duckdb_warehouse: Warehouse, tmp_path: Path, vendor: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    warehouse = duckdb_warehouse
    world = World(hotel_ids=["H1"], arrival_from=date(2016, 7, 10), arrival_to=date(2016, 8, 10))
    morning = local_instant(T, TZ, 3)
    evening = local_instant(T, TZ, 23, 59) + timedelta(seconds=59)
    world.set_now(morning)
    secret = f"user:{SECRET}" if vendor == "rms" else SECRET
    monkeypatch.setenv(f"HOTEL_{vendor.upper()}_WEBHOOK_SECRET_H1", secret)
    with running_sandbox(world, [vendor]) as sb:
        for name, value in sb.env.items():
            monkeypatch.setenv(name, value)
        portfolio = Portfolio(hotels=(sb.hotel(vendor, "H1"),))
        raw = tmp_path / "raw"
        extract(sb, warehouse, vendor, "H1", morning, raw)
        cursor = warehouse.query("SELECT cursor FROM integration_status WHERE source = :s", {"s": vendor})["cursor"]
        spool = Spool(tmp_path / "spool")
        with receiver_thread(portfolio_endpoints(portfolio), spool, now=lambda: evening) as url:
            sender = WebhookSender(world, [Target(vendor, "H1", url, secret)], duplicate_rate=0.0)
            report = sender.advance(evening)
            sender.close()
        assert report.changes > 5 and report.failed == 0

        calls: list[str] = []

        def connector(hotel, source):
            made = connector_classes()[source.type](hotel, source, retry=FAST_RETRY, throttle=False)
            fetch_ids, fetch = made.fetch_ids, made.fetch
            made.fetch_ids = lambda ids: (calls.append("ids"), fetch_ids(ids))[1]  # type: ignore[method-assign]
            made.fetch = lambda window: (calls.append(window.mode), fetch(window))[1]  # type: ignore[method-assign]
            return made

        run_once(warehouse, portfolio, Clock(frozen_at=evening.isoformat()), spool, make_connector=connector,
                 raw_root=raw)

    named = sorted({i for text in warehouse.read_table("webhook_inbox", "received_at")["external_ids"].to_list()
                    for i in json.loads(text or "[]")})
    assert named
    if vendor in BY_ID:
        assert calls == ["ids"]  # only the named records were read, no incremental pull
        after = warehouse.query("SELECT cursor FROM integration_status WHERE source = :s", {"s": vendor})["cursor"]
        assert after.to_list() == cursor.to_list()  # a fetch by id is no complete window: the cursor stays
    else:  # no id filter documented: the incremental pull reads every change since the cursor, and commits it
        assert calls == ["incremental"]
        after = warehouse.query("SELECT cursor FROM integration_status WHERE source = :s", {"s": vendor})["cursor"]
        assert after.to_list() != cursor.to_list()
    want = expected_reservations(world, vendor, "H1", evening).filter(pl.col("external_id").is_in(named))
    got = current_reservations(warehouse, vendor, "H1").filter(pl.col("external_id").is_in(named))
    columns = ["external_id", "status", "arrival_date", "departure_date", "cancelled_on"]
    assert got.select(columns).sort("external_id").to_dicts() == want.select(columns).sort("external_id").to_dicts()
