"""Webhook benchmark and load scenario: the real receiver process under a bounded loopback load, killed with SIGKILL
and restarted in the middle, then the inbox applied through the sandbox's Mews and Cloudbeds APIs.

``run_scenario`` is what the load test runs small (``hotel_pipeline_tests/webhooks/test_load.py``) and ``make bench``
runs at 10,000 deliveries, 200/s (``run_webhooks_bench``). Figures: acknowledgement latency p50/p99 (from the request
being sent to its 200 being read, first attempts answered 200; the same from the instant each was due beside it), how
long the receiver was down, the apply run's duration for the whole inbox, and the end-to-end lag of one fresh event
from receipt to ``daily_metrics`` (without the sensor's wait of at most one interval, 15 s).
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import yaml

from hotel_pipeline.core.clock import Clock, local_instant
from hotel_pipeline.core.portfolio import load_portfolio
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.sources.pms import connector_classes
from hotel_pipeline.sources.pms.extract import run_extract
from hotel_pipeline.sources.pms.http import RetryPolicy
from hotel_pipeline.webhooks.apply import RunResult, run_once
from hotel_pipeline.webhooks.spool import Spool
from hotel_pipeline.webhooks.vendors import default_secret_env
from hotel_pipeline.workshop.sandbox.pms.harness import running_sandbox
from hotel_pipeline.workshop.sandbox.pms.vendors import vendor_classes
from hotel_pipeline.workshop.sandbox.pms.world import World
from hotel_pipeline.workshop.sandbox.webhooks.harness import ReceiverProcess
from hotel_pipeline.workshop.sandbox.webhooks.load import Delivery, LoadReport, plan, run_load
from hotel_pipeline.workshop.sandbox.webhooks.sender import Target

NOW = local_instant(date(2016, 7, 20), "Europe/Lisbon", 12)
VENDOR_OF = {"H1": "mews", "H2": "cloudbeds"}
FAST_RETRY = RetryPolicy(max_attempts=10, backoff_base_seconds=0.005, backoff_cap_seconds=0.05, timeout_seconds=5.0,
                         max_retry_after_seconds=0.01)


@dataclass
class ScenarioResult:
    deliveries: list[Delivery]
    report: LoadReport
    spool: Spool
    first: RunResult
    second: RunResult
    apply_seconds: float
    warehouse: Warehouse
    #: seconds from the SIGKILL to the new process answering (0 without a crash)
    restart_seconds: float = 0.0


def _portfolio_yaml(path: Path, sb) -> None:  # noqa: ANN001 - a RunningSandbox
    hotels = []
    for hotel_id, vendor in VENDOR_OF.items():
        source = sb.hotel(vendor, hotel_id).sources[0]
        hotels.append({"id": hotel_id, "name": hotel_id, "timezone": "Europe/Lisbon", "currency": "EUR",
                       "capacity": 250, "sources": [{"type": vendor, **source.options}]})
    path.write_text(yaml.safe_dump({"hotels": hotels}))


def run_scenario(workdir: Path, warehouse: Warehouse, count: int, rate: float, *, crash: bool = True,
                 arrival_to: date = date(2016, 7, 31)) -> ScenarioResult:
    """Load the receiver process with ``count`` deliveries at ``rate``/s (10% duplicates, 5% wrong credentials, 1%
    malformed), SIGKILL and restart it halfway, then apply the inbox twice (the second run must find nothing)."""
    world = World(hotel_ids=list(VENDOR_OF), arrival_from=date(2016, 7, 1), arrival_to=arrival_to, now=NOW)
    saved = dict(os.environ)
    try:
        with running_sandbox(world, list(VENDOR_OF.values())) as sb:
            os.environ.update(sb.env)
            config = workdir / "portfolio.yaml"
            _portfolio_yaml(config, sb)
            secrets = {default_secret_env(v, h): f"{v}-{h}-webhook-secret" for h, v in VENDOR_OF.items()}
            os.environ.update(secrets)
            portfolio = load_portfolio(config)
            raw = workdir / "raw"

            def connector(hotel, source):  # noqa: ANN001, ANN202
                return connector_classes()[source.type](hotel, source, retry=FAST_RETRY, throttle=False)

            for hotel in portfolio.hotels:
                c = connector(hotel, hotel.sources[0])
                try:
                    run_extract(warehouse, c, now=NOW, mode="full", raw_root=raw)
                finally:
                    c.close()
            spool_root = workdir / "spool"
            receiver = ReceiverProcess({"HOTEL_PIPELINE_CONFIG": str(config), "HOTEL_PIPELINE_CLOCK": NOW.isoformat(),
                                        **secrets}, spool_root).start()
            try:
                targets = [Target(v, h, receiver.url, secrets[default_secret_env(v, h)]) for h, v in VENDOR_OF.items()]
                refs = {h: [vendor_classes()[v].reservation_id(h, r) for r in world.state(h)["booking_ref"].to_list()]
                        for h, v in VENDOR_OF.items()}
                deliveries = plan(targets, refs, count, duplicates=0.10, bad=0.05, malformed=0.01)

                def restart() -> None:
                    killed = time.perf_counter()
                    receiver.kill()
                    time.sleep(0.3)
                    receiver.start()  # returns once the new process answers
                    restarted.append(time.perf_counter() - killed)

                restarted: list[float] = []

                report = run_load(deliveries, rate, crash=(count // 2, restart) if crash else None, retry_wait=0.5)
            finally:
                receiver.stop()
            spool = Spool(spool_root)
            clock = Clock(frozen_at=NOW.isoformat())
            started = time.perf_counter()
            first = run_once(warehouse, portfolio, clock, spool, make_connector=connector, raw_root=raw)
            apply_seconds = time.perf_counter() - started
            second = run_once(warehouse, portfolio, clock, spool, make_connector=connector, raw_root=raw)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return ScenarioResult(deliveries, report, spool, first, second, apply_seconds, warehouse, sum(restarted))


def measure_lag(workdir: Path) -> float:
    """Seconds from one fresh Mews event's receipt to its night on ``daily_metrics`` (receiver thread, apply run)."""
    from hotel_pipeline.core.sql_models import run_model
    from hotel_pipeline.pacing.hotels import write_hotels
    from hotel_pipeline.webhooks.vendors import portfolio_endpoints
    from hotel_pipeline.workshop.sandbox.webhooks.harness import receiver_thread
    from hotel_pipeline.workshop.sandbox.webhooks.sender import WebhookSender

    warehouse = Warehouse(url=f"duckdb:///{workdir / 'lag.duckdb'}")
    day = date(2016, 7, 20)
    morning = local_instant(day, "Europe/Lisbon", 3)
    world = World(hotel_ids=["H1"], arrival_from=date(2016, 7, 1), arrival_to=date(2016, 8, 31), now=morning)
    saved = dict(os.environ)
    try:
        with running_sandbox(world, ["mews"]) as sb:
            os.environ.update(sb.env)
            os.environ["HOTEL_MEWS_WEBHOOK_SECRET_H1"] = "bench-token"
            hotel = sb.hotel("mews", "H1")
            from hotel_pipeline.core.portfolio import Portfolio

            portfolio = Portfolio(hotels=(hotel,))
            c = connector_classes()["mews"](hotel, hotel.sources[0], retry=FAST_RETRY, throttle=False)
            run_extract(warehouse, c, now=morning, mode="full", raw_root=workdir / "lag-raw")
            c.close()
            clock = Clock(frozen_at=morning.isoformat())
            with warehouse.transaction() as tx:
                write_hotels(tx, portfolio, clock)
                for name in ("reservations", "reservation_nights", "daily_metrics"):
                    run_model(tx, name, {"run_at": clock.now_naive_utc()})
            spool = Spool(workdir / "lag-spool")
            evening = local_instant(day, "Europe/Lisbon", 23, 59)
            with receiver_thread(portfolio_endpoints(portfolio), spool) as url:
                sender = WebhookSender(world, [Target("mews", "H1", url, "bench-token")], duplicate_rate=0.0)
                started = time.perf_counter()
                sender.advance(evening)
                sender.close()
            run_once(warehouse, portfolio, Clock(frozen_at=(evening + timedelta(minutes=1)).isoformat()), spool,
                     make_connector=lambda h, s: connector_classes()[s.type](h, s, retry=FAST_RETRY, throttle=False),
                     raw_root=workdir / "lag-raw")
            return time.perf_counter() - started
    finally:
        os.environ.clear()
        os.environ.update(saved)


def run_webhooks_bench(count: int = 10_000, rate: float = 200.0) -> list:
    """Figures for ``make bench`` (section "8 webhooks")."""
    with tempfile.TemporaryDirectory(prefix="webhooks-bench-") as tmp:
        workdir = Path(tmp)
        warehouse = Warehouse(url=f"duckdb:///{workdir / 'bench.duckdb'}")
        result = run_scenario(workdir, warehouse, count, rate, arrival_to=date(2016, 9, 30))
        lag = measure_lag(workdir)
    return webhook_figures(result, lag, count, rate)


def webhook_figures(result: ScenarioResult, lag: float, count: int, rate: float) -> list:
    """The section's figures from one scenario and one lag measurement (what the load test checks too)."""
    from hotel_pipeline.workshop.bench import Figure, verdict

    r = result.report
    good = len(r.good_bodies)
    applied = sum(b.events for b in result.first.batches)
    ok = (not r.unexpected and r.acknowledged == r.good_bodies and result.first.ingested == good
          and result.second.ingested == 0)
    note = (f"{count} deliveries at {rate:g}/s, receiver SIGKILLed and restarted at {count // 2}; {good} good, "
            f"{r.rejected} wrong credentials (401), {r.malformed} malformed (400), {r.retries} retried; "
            f"{'every good event stored and applied once' if ok else 'CHECK FAILED'}")
    calm = count // 2
    p99, calm_p99, due_p99 = r.percentile(0.99), r.percentile(0.99, calm), r.percentile(0.99, from_due=True)
    section = "9 webhooks"
    return [
        Figure(section, "ack latency p50", round(r.percentile(0.5), 1), "ms", note=note),
        Figure(section, "ack latency p99", round(p99, 1), "ms", "< 50 ms", verdict(p99, 50),
               note=f"first attempts answered 200, request sent -> 200 read, over the whole run ({len(r.ack_latency_ms)} "
                    "deliveries, the kill included); a delivery that found the receiver down is a retry, not a latency"),
        Figure(section, "ack latency p50 before the kill", round(r.percentile(0.5, calm), 1), "ms"),
        Figure(section, "ack latency p99 before the kill", round(calm_p99, 1), "ms", "< 50 ms", verdict(calm_p99, 50)),
        Figure(section, "ack latency p99 from the instant due", round(due_p99, 1), "ms",
               note="the same deliveries, counting their wait for one of the sender's 16 connections and the "
                    "sender's own lateness on a busy machine"),
        Figure(section, "receiver down (SIGKILL -> new process answering)", round(result.restart_seconds, 2), "s",
               note="deliveries due meanwhile were refused and retried by the sender, as vendors do"),
        Figure(section, f"apply run for {applied} events", round(result.apply_seconds, 2), "s",
               note="one run: journal -> webhook_inbox, fetch by id (Mews, Cloudbeds), board"),
        Figure(section, "lag receipt -> daily_metrics (one day's events)", round(lag, 2), "s",
               "< 15 s sensor interval + fetch", verdict(lag, 15),
               note="plus the sensor's wait, at most one 15 s interval"),
    ]


if __name__ == "__main__":
    for figure in run_webhooks_bench():
        print(figure)
