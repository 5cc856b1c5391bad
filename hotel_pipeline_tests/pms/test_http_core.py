"""The shared HTTP core against the real sandbox: the client budget keeps us under the vendor's limit, server 429s
are waited out (Retry-After), and exhausted retries raise the typed error that says what happened."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from hotel_pipeline.core.clock import local_instant
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.sources.csv.dataset import load_history
from hotel_pipeline.sources.pms.errors import ServerError
from hotel_pipeline.sources.pms.extract import run_extract
from hotel_pipeline.sources.pms.http import RetryPolicy
from hotel_pipeline.workshop.pms_bench import run_pms_bench
from hotel_pipeline.workshop.sandbox.pms.faults import Faults, SlidingWindow
from hotel_pipeline.workshop.sandbox.pms.harness import running_sandbox
from hotel_pipeline.workshop.sandbox.pms.world import World
from hotel_pipeline_tests.pms.helpers import FAST_RETRY, extract, mismatches

NOW = local_instant(date(2016, 7, 20), "Europe/Lisbon", 3)


@pytest.fixture(scope="module")
def tiny_world() -> World:
    world = World(load_history(), hotel_ids=["H1"], arrival_from=date(2016, 7, 1), arrival_to=date(2016, 7, 14))
    world.set_now(NOW)
    return world


def _limited_sandbox(world: World):
    return running_sandbox(world, ["cloudbeds"], throttle=True)


def test_client_budget_stays_under_the_vendor_limit(tiny_world, tmp_path: Path) -> None:
    with _limited_sandbox(tiny_world) as sb:
        handler = sb.sandbox.handlers["cloudbeds"]
        handler._window = SlidingWindow(3, 0.5)  # a tight vendor budget: 3 requests per 0.5 s
        wh = Warehouse(url=f"duckdb:///{tmp_path / 'w.duckdb'}")
        import os

        from hotel_pipeline.sources.pms.cloudbeds import CloudbedsConnector

        os.environ.update(sb.env)
        hotel = sb.hotel("cloudbeds", "H1", rate_limit={"requests": 3, "per_seconds": 0.55})
        connector = CloudbedsConnector(hotel, hotel.sources[0], retry=FAST_RETRY)
        result = run_extract(wh, connector, now=NOW, mode="full", raw_root=tmp_path / "raw")
        connector.close()
        assert result.stats.requests > 3
        assert result.stats.throttle_waits > 0  # the client waited for its budget ...
        assert result.stats.errors == 0  # ... so the vendor never had to say 429
        assert mismatches(sb, wh, "cloudbeds", "H1", NOW) == {}


def test_server_429s_are_waited_out_with_retry_after(tiny_world, tmp_path: Path) -> None:
    with _limited_sandbox(tiny_world) as sb:
        sb.sandbox.handlers["cloudbeds"]._window = SlidingWindow(2, 0.3)
        wh = Warehouse(url=f"duckdb:///{tmp_path / 'w.duckdb'}")
        retry = RetryPolicy(max_attempts=10, backoff_base_seconds=0.01, timeout_seconds=2, max_retry_after_seconds=0.3)
        result = extract(sb, wh, "cloudbeds", "H1", NOW, tmp_path / "raw", retry=retry)  # client throttle off
        assert result.stats.throttle_waits > 0 and result.stats.retries > 0
        assert mismatches(sb, wh, "cloudbeds", "H1", NOW) == {}


def test_exhausted_retries_raise_a_typed_error_that_says_what_happened(tiny_world, tmp_path: Path) -> None:
    with running_sandbox(tiny_world, ["mews"], faults={"mews": Faults(error_rate=1.0)}) as sb:
        wh = Warehouse(url=f"duckdb:///{tmp_path / 'w.duckdb'}")
        with pytest.raises(ServerError) as info:
            extract(sb, wh, "mews", "H1", NOW, tmp_path / "raw", retry=RetryPolicy(
                max_attempts=3, backoff_base_seconds=0.001, timeout_seconds=2))
        message = str(info.value)
        assert "mews POST /api/connector/v1/reservations/getAll/2023-06-06" in message
        assert "HTTP 50" in message and "3 attempts" in message
        raw_files = list((tmp_path / "raw").rglob("*.json.gz"))
        assert len(raw_files) == 1  # the failed extract is on record (incomplete), nothing was normalised


def test_bench_reports_requests_against_the_minimum() -> None:
    """Every one of the seven vendors runs (RMS logs in with its credentials from the environment)."""
    results = run_pms_bench(arrival_from=date(2016, 7, 1), arrival_to=date(2016, 7, 7), now=NOW)
    assert sorted(results) == ["beds24", "cloudbeds", "mews", "newbook", "opera", "rms", "stayntouch"]
    assert len({figures["records"] for figures in results.values()}) == 1  # the same bookings through every API
    for vendor, figures in results.items():
        assert figures["records"] > 100, vendor
        assert figures["requests"] >= figures["minimum_requests"] > 0, vendor
        assert figures["seconds_at_documented_limit"] > 0, vendor
