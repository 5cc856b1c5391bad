"""A bounded loopback load on the real receiver process (``hotel-pipeline webhooks serve``), killed with SIGKILL and
restarted in the middle: nothing acknowledged is lost, wrong credentials are rejected, malformed bodies quarantined,
and every good event reaches the inbox and is applied exactly once. (``make bench`` runs 10,000 at 200/s.)"""

from __future__ import annotations

from pathlib import Path

from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.workshop.webhooks_bench import run_scenario, webhook_figures


def test_load_with_a_killed_receiver_loses_nothing_acknowledged(duckdb_warehouse: Warehouse, tmp_path: Path) -> None:
    run = run_scenario(tmp_path, duckdb_warehouse, count=500, rate=200)
    report, spool, deliveries = run.report, run.spool, run.deliveries
    assert report.unexpected == []
    lost = len(report.good_bodies - report.acknowledged)
    assert lost == 0, f"{lost} good deliveries never acknowledged (retries {report.retries})"
    assert report.retries > 0  # the kill really interrupted deliveries
    # A latency is a first attempt answered 200, from its request being sent; from the instant it was due it can only
    # be longer (the wait for a connection of the sender comes first). A delivery that found the receiver down is not
    # among them: it is a retry.
    sent, due = dict(report.ack_latency_ms), dict(report.due_latency_ms)
    assert sent.keys() == due.keys() and 0 < len(sent) < len(deliveries) - malformed_or_bad(deliveries)
    assert all(0 < sent[i] <= due[i] for i in sent)
    # Nothing acknowledged is lost: every key the receiver answered 200 for is in the journal, and nothing else.
    assert spool.keys() == report.ack_keys
    bad = sum(1 for d in deliveries if d.kind == "bad_credential")
    malformed = sum(1 for d in deliveries if d.kind == "malformed")
    assert report.rejected == bad and sum(spool.rejected().values()) == bad
    assert report.malformed == malformed
    assert sum(1 for r in spool.read() if r.record["type"] == "quarantined") == malformed

    first, second = run.first, run.second
    assert first.ingested == len(report.good_bodies) and first.quarantined == malformed
    assert all(not b.outcome.startswith("failed") for b in first.batches)
    inbox = duckdb_warehouse.read_table("webhook_inbox", "received_at")
    assert inbox.height == len(report.good_bodies) and inbox["applied_at"].null_count() == 0
    assert second.ingested == 0 and second.batches == []  # applied exactly once: nothing is left to apply
    quarantine = duckdb_warehouse.query("SELECT COUNT(*) AS n FROM quarantine WHERE source LIKE 'webhook:%'")
    assert quarantine["n"][0] == malformed

    # make bench's figures of the same run: its own check agrees, and no latency is missing
    figures = webhook_figures(run, lag=1.0, count=500, rate=200)
    assert all(f.section == "9 webhooks" and f.value is not None for f in figures)
    assert all(f.verdict in ("", "met", "MISSED") for f in figures)
    assert run.restart_seconds > 0.3  # the receiver really was down: killed, 0.3 s, then a new process
    assert "every good event stored and applied once" in figures[0].note


def malformed_or_bad(deliveries: list) -> int:
    return sum(1 for d in deliveries if d.kind in ("malformed", "bad_credential"))
