"""A bounded loopback load on the real receiver process (``hotel-pipeline webhooks serve``), killed with SIGKILL and
restarted in the middle: nothing acknowledged is lost, wrong credentials are rejected, malformed bodies quarantined,
and every good event reaches the inbox and is applied exactly once. (``make bench`` runs 10,000 at 200/s.)"""

from __future__ import annotations

import os
import time
from datetime import date
from pathlib import Path

import yaml

from hotel_pipeline.core.clock import Clock, local_instant
from hotel_pipeline.core.portfolio import load_portfolio
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.sources.pms import connector_classes
from hotel_pipeline.webhooks.apply import run_once
from hotel_pipeline.webhooks.spool import Spool
from hotel_pipeline.webhooks.vendors import default_secret_env
from hotel_pipeline.workshop.sandbox.pms.harness import running_sandbox
from hotel_pipeline.workshop.sandbox.pms.vendors import vendor_classes
from hotel_pipeline.workshop.sandbox.pms.world import World
from hotel_pipeline.workshop.sandbox.webhooks.harness import ReceiverProcess
from hotel_pipeline.workshop.sandbox.webhooks.load import plan, run_load
from hotel_pipeline.workshop.sandbox.webhooks.sender import Target
from hotel_pipeline_tests.pms.helpers import FAST_RETRY, extract

NOW = local_instant(date(2016, 7, 20), "Europe/Lisbon", 12)
VENDOR_OF = {"H1": "mews", "H2": "cloudbeds"}


def write_portfolio(path: Path, sb) -> None:
    hotels = []
    for hotel_id, vendor in VENDOR_OF.items():
        source = sb.hotel(vendor, hotel_id).sources[0]
        hotels.append({"id": hotel_id, "name": hotel_id, "timezone": "Europe/Lisbon", "currency": "EUR",
                       "capacity": 250, "sources": [{"type": vendor, **source.options}]})
    path.write_text(yaml.safe_dump({"hotels": hotels}))


def test_load_with_a_killed_receiver_loses_nothing_acknowledged(duckdb_warehouse: Warehouse, tmp_path: Path,
                                                                 monkeypatch) -> None:
    world = World(hotel_ids=["H1", "H2"], arrival_from=date(2016, 7, 1), arrival_to=date(2016, 7, 31), now=NOW)
    with running_sandbox(world, ["mews", "cloudbeds"]) as sb:
        for key, value in sb.env.items():
            monkeypatch.setenv(key, value)
        config = tmp_path / "portfolio.yaml"
        write_portfolio(config, sb)
        secrets = {default_secret_env(v, h): f"{v}-{h}-webhook-secret" for h, v in VENDOR_OF.items()}
        for key, value in secrets.items():
            monkeypatch.setenv(key, value)
        raw = tmp_path / "raw"
        for hotel_id, vendor in VENDOR_OF.items():
            extract(sb, duckdb_warehouse, vendor, hotel_id, NOW, raw)
        spool_root = tmp_path / "spool"
        receiver = ReceiverProcess({"HOTEL_PIPELINE_CONFIG": str(config), "HOTEL_PIPELINE_CLOCK": NOW.isoformat(),
                                    **secrets}, spool_root).start()
        try:
            targets = [Target(v, h, receiver.url, secrets[default_secret_env(v, h)]) for h, v in VENDOR_OF.items()]
            refs = {h: [vendor_classes()[v].reservation_id(h, r) for r in
                        world.state(h)["booking_ref"].to_list()[:300]] for h, v in VENDOR_OF.items()}
            deliveries = plan(targets, refs, 500, duplicates=0.10, bad=0.05, malformed=0.01)

            def crash() -> None:
                receiver.kill()
                time.sleep(0.3)
                receiver.start()

            report = run_load(deliveries, rate=200, crash=(250, crash), retry_wait=0.5)
        finally:
            receiver.stop()

        spool = Spool(spool_root)
        assert report.unexpected == []
        assert report.retries > 0  # the kill really interrupted deliveries
        # Nothing acknowledged is lost: every key the receiver answered 200 for is in the journal.
        stored = spool.keys()
        assert report.ack_keys <= stored and stored == report.ack_keys
        assert report.acknowledged == report.good_bodies  # with the vendors' retries, every good event got through
        bad = sum(1 for d in deliveries if d.kind == "bad_credential")
        malformed = sum(1 for d in deliveries if d.kind == "malformed")
        assert report.rejected == bad and sum(spool.rejected().values()) == bad
        assert report.malformed == malformed
        assert sum(1 for r in spool.read() if r.record["type"] == "quarantined") == malformed

        os.environ.update(sb.env)
        portfolio = load_portfolio(config)

        def connector(hotel, source):
            return connector_classes()[source.type](hotel, source, retry=FAST_RETRY, throttle=False)

        clock = Clock(frozen_at=NOW.isoformat())
        first = run_once(duckdb_warehouse, portfolio, clock, spool, make_connector=connector, raw_root=raw)
        second = run_once(duckdb_warehouse, portfolio, clock, spool, make_connector=connector, raw_root=raw)

    assert first.ingested == len(report.good_bodies) and first.quarantined == malformed
    assert all(not b.outcome.startswith("failed") for b in first.batches)
    inbox = duckdb_warehouse.read_table("webhook_inbox", "received_at")
    assert inbox.height == len(report.good_bodies) and inbox["applied_at"].null_count() == 0
    assert second.ingested == 0 and second.batches == []  # applied exactly once: nothing is left to apply
    quarantine = duckdb_warehouse.query("SELECT COUNT(*) AS n FROM quarantine WHERE source LIKE 'webhook:%'")
    assert quarantine["n"][0] == malformed
