"""Cloudbeds through the sandbox: exact reservations (whole data set once), incremental nights despite the
dateModified trap, faults incl. shifted pages and HTTP-200 errors, rebuild, secrets."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from hotel_pipeline.clock import local_instant
from hotel_pipeline.connectors.extract import current_status
from hotel_pipeline.sandbox.pms.faults import Faults
from hotel_pipeline.sandbox.pms.harness import running_sandbox
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

VENDOR = "cloudbeds"
TZ = "Europe/Lisbon"
ALL_COLUMNS = ["status", "booked_on", "cancelled_on", "checked_out_on", "arrival_date", "departure_date", "nights",
               "room_type", "room_number", "adults", "meal_plan"]


def at(day: date):
    return local_instant(day, TZ, 3)


@pytest.fixture
def sb(small_world):
    small_world.set_now(at(date(2016, 7, 20)))
    with running_sandbox(small_world, [VENDOR]) as running:
        yield running


def test_full_extract_on_postgres(postgres_warehouse: Warehouse, tmp_path: Path) -> None:
    """The same exactness on the Postgres warehouse (a fortnight of arrivals keeps it quick)."""
    from hotel_pipeline.sandbox.pms.world import World

    world = World(hotel_ids=["H1"], arrival_from=date(2016, 7, 1), arrival_to=date(2016, 7, 14))
    now = at(date(2016, 7, 10))
    world.set_now(now)
    with running_sandbox(world, [VENDOR]) as running:
        result = extract(running, postgres_warehouse, VENDOR, "H1", now, tmp_path / "raw")
        assert result.records > 500
        assert mismatches(running, postgres_warehouse, VENDOR, "H1", now, ALL_COLUMNS) == {}
        assert current_status(postgres_warehouse, "H1", VENDOR)["last_status"] == "ok"


def test_full_extract_gives_exactly_the_data_set(sb, duckdb_warehouse: Warehouse, tmp_path: Path) -> None:
    warehouse = duckdb_warehouse
    now = at(date(2016, 7, 20))
    result = extract(sb, warehouse, VENDOR, "H1", now, tmp_path / "raw")
    assert result.mode == "full" and result.records > 3000
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


def test_shifted_pages_and_in_body_errors_lose_nothing(sb, duckdb_warehouse: Warehouse, tmp_path: Path) -> None:
    sb.set_faults(VENDOR, Faults(seed=5, page_shift_rate=0.15, error_rate=0.1))
    now = at(date(2016, 7, 20))
    result = extract(sb, duckdb_warehouse, VENDOR, "H1", now, tmp_path / "raw")
    assert result.stats.retries > 0
    assert mismatches(sb, duckdb_warehouse, VENDOR, "H1", now, ALL_COLUMNS) == {}


def test_modified_from_alone_would_miss_check_outs(sb, duckdb_warehouse: Warehouse, tmp_path: Path) -> None:
    """The trap is real (dateModified ignores front-desk changes) and the stay window closes it."""
    start = date(2016, 7, 10)
    sb.set_now(at(start))
    extract(sb, duckdb_warehouse, VENDOR, "H1", at(start), tmp_path / "raw")
    blind = Warehouse(url=f"duckdb:///{tmp_path / 'blind.duckdb'}")
    extract(sb, blind, VENDOR, "H1", at(start), tmp_path / "raw2")
    now = at(start + timedelta(days=1))
    sb.set_now(now)
    extract(sb, blind, VENDOR, "H1", now, tmp_path / "raw2", stay_window_days=-400)  # window in the future: off
    assert mismatches(sb, blind, VENDOR, "H1", now).get("status", 0) > 0
    extract(sb, duckdb_warehouse, VENDOR, "H1", now, tmp_path / "raw")
    assert mismatches(sb, duckdb_warehouse, VENDOR, "H1", now, ALL_COLUMNS) == {}


def test_rebuild_from_raw_equals_original(sb, duckdb_warehouse: Warehouse, tmp_path: Path) -> None:
    check_rebuild_from_raw(sb, duckdb_warehouse, VENDOR, tmp_path)


def test_bad_credentials_fail_typed_and_keep_the_cursor(sb, duckdb_warehouse: Warehouse, tmp_path: Path) -> None:
    check_bad_credentials_keep_the_cursor(sb, duckdb_warehouse, VENDOR, tmp_path, "CLOUDBEDS_API_KEY_H1")


def test_no_secret_in_raw_zone_warehouse_or_errors(sb, duckdb_warehouse: Warehouse, tmp_path: Path) -> None:
    check_no_secret_anywhere(sb, duckdb_warehouse, VENDOR, tmp_path, "CLOUDBEDS_API_KEY_H1")


@pytest.mark.slow
def test_whole_data_set_as_of_the_end(warehouse_tmp: Path) -> None:
    """Every booking of the data set (both hotels, all final) through Cloudbeds: exactly the data set."""
    from hotel_pipeline.dataset import load_history
    from hotel_pipeline.sandbox.pms.world import World

    world = World(load_history())
    now = at(date(2017, 9, 16))
    world.set_now(now)
    wh = Warehouse(url=f"duckdb:///{warehouse_tmp / 'all.duckdb'}")
    with running_sandbox(world, [VENDOR]) as running:
        total = 0
        for hotel_id in ("H1", "H2"):
            result = extract(running, wh, VENDOR, hotel_id, now, warehouse_tmp / "raw")
            total += result.records
            assert mismatches(running, wh, VENDOR, hotel_id, now, ALL_COLUMNS) == {}
    assert total == 119_390


@pytest.fixture
def warehouse_tmp(tmp_path: Path) -> Path:
    return tmp_path
