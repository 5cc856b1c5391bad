"""Mews through the sandbox: exact reservations, incremental nights, faults, 408 shrinking, rebuild, secrets."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from hotel_pipeline.clock import local_instant
from hotel_pipeline.connectors.extract import current_status
from hotel_pipeline.sandbox.pms.faults import Faults
from hotel_pipeline.sandbox.pms.harness import running_sandbox
from hotel_pipeline.sandbox.pms.world import World
from hotel_pipeline.warehouse import Warehouse
from hotel_pipeline_tests.pms.helpers import (
    FAULT_MIX,
    check_bad_credentials_keep_the_cursor,
    check_no_secret_anywhere,
    check_rebuild_from_raw,
    extract,
    mismatches,
    unified_state,
)

VENDOR = "mews"
TZ = "Europe/Lisbon"
ALL_COLUMNS = ["status", "booked_on", "cancelled_on", "checked_out_on", "arrival_date", "departure_date", "nights",
               "room_type", "room_number", "adults", "babies", "meal_plan"]


def at(day: date):
    return local_instant(day, TZ, 3)


@pytest.fixture(scope="module")
def mews_world() -> World:
    """H1 arrivals of July to mid-August 2016 (~2,700 bookings): Mews' nightly order items make it the heaviest
    vendor to serve, and this is enough to page (1000 per page), chunk and see every status."""
    return World(hotel_ids=["H1"], arrival_from=date(2016, 7, 1), arrival_to=date(2016, 8, 15))


@pytest.fixture
def sb(mews_world):
    mews_world.set_now(at(date(2016, 7, 20)))
    with running_sandbox(mews_world, [VENDOR]) as running:
        yield running


def test_full_extract_gives_exactly_the_data_set(sb, duckdb_warehouse: Warehouse, tmp_path: Path) -> None:
    """(Both engines are covered by the Cloudbeds module; Mews runs on DuckDB to keep the suite fast.)"""
    warehouse = duckdb_warehouse
    now = at(date(2016, 7, 20))
    result = extract(sb, warehouse, VENDOR, "H1", now, tmp_path / "raw")
    assert result.mode == "full" and result.records > 1500
    assert mismatches(sb, warehouse, VENDOR, "H1", now, ALL_COLUMNS) == {}
    status = current_status(warehouse, "H1", VENDOR)
    assert status["last_status"] == "ok" and status["cursor"].startswith("2016-07-20T02:00")
    assert warehouse.query("SELECT COUNT(*) AS n FROM rooms")["n"][0] > 100
    guests = warehouse.query("SELECT * FROM guests")
    assert guests.height == result.records and guests["email_token"].null_count() == 0


def test_incremental_nights_follow_the_history(sb, duckdb_warehouse: Warehouse, tmp_path: Path) -> None:
    start = date(2016, 7, 10)
    sb.set_now(at(start))
    extract(sb, duckdb_warehouse, VENDOR, "H1", at(start), tmp_path / "raw")
    changed = 0
    for offset in range(1, 8):
        now = at(start + timedelta(days=offset))
        sb.set_now(now)
        result = extract(sb, duckdb_warehouse, VENDOR, "H1", now, tmp_path / "raw")
        assert result.mode == "incremental"
        changed += result.accepted.changed + result.accepted.new
        assert mismatches(sb, duckdb_warehouse, VENDOR, "H1", now, ALL_COLUMNS) == {}, offset
    assert changed > 100  # check-ins, check-outs, cancellations and new bookings really flowed


def test_faults_change_nothing(sb, duckdb_warehouse: Warehouse, tmp_path: Path) -> None:
    now = at(date(2016, 7, 20))
    clean = extract(sb, duckdb_warehouse, VENDOR, "H1", now, tmp_path / "clean")
    expected = unified_state(duckdb_warehouse, VENDOR, "H1")
    faulty_wh = Warehouse(url=f"duckdb:///{tmp_path / 'faulty.duckdb'}")
    sb.set_faults(VENDOR, Faults(seed=11, page_repeat_rate=0.05, **FAULT_MIX))
    faulty = extract(sb, faulty_wh, VENDOR, "H1", now, tmp_path / "faulty")
    assert faulty.stats.retries > 0 and faulty.stats.errors > 0
    assert faulty.records == clean.records
    assert unified_state(faulty_wh, VENDOR, "H1").equals(expected)


def test_heavy_queries_are_split_not_lost(sb, duckdb_warehouse: Warehouse, tmp_path: Path) -> None:
    sb.sandbox.handlers[VENDOR].heavy_query_limit = 300
    now = at(date(2016, 7, 20))
    result = extract(sb, duckdb_warehouse, VENDOR, "H1", now, tmp_path / "raw")
    assert result.stats.errors > 0  # the 408s happened
    assert mismatches(sb, duckdb_warehouse, VENDOR, "H1", now, ALL_COLUMNS) == {}


def test_rebuild_from_raw_equals_original(sb, duckdb_warehouse: Warehouse, tmp_path: Path) -> None:
    check_rebuild_from_raw(sb, duckdb_warehouse, VENDOR, tmp_path)


def test_bad_credentials_fail_typed_and_keep_the_cursor(sb, duckdb_warehouse: Warehouse, tmp_path: Path) -> None:
    check_bad_credentials_keep_the_cursor(sb, duckdb_warehouse, VENDOR, tmp_path, "MEWS_ACCESS_TOKEN_H1")


def test_no_secret_in_raw_zone_warehouse_or_errors(sb, duckdb_warehouse: Warehouse, tmp_path: Path) -> None:
    check_no_secret_anywhere(sb, duckdb_warehouse, VENDOR, tmp_path, "MEWS_CLIENT_TOKEN_H1")


def test_sandbox_refuses_intervals_longer_than_three_months(sb) -> None:
    import httpx

    creds = sb.credentials[VENDOR]["H1"]
    body = {"ClientToken": creds["client_token"], "AccessToken": creds["access_token"], "Client": "test",
            "UpdatedUtc": {"StartUtc": "2016-01-01T00:00:00Z", "EndUtc": "2016-04-15T00:00:00Z"},
            "Limitation": {"Count": 10}}
    url = sb.server.base_url(VENDOR) + "/api/connector/v1/reservations/getAll/2023-06-06"
    refused = httpx.post(url, json=body)
    assert refused.status_code == 400 and "3 months" in refused.json()["Message"]
    body["UpdatedUtc"]["EndUtc"] = "2016-03-15T00:00:00Z"
    assert httpx.post(url, json=body).status_code == 200
