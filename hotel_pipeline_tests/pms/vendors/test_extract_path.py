"""OPERA, RMS, Stayntouch, Newbook and Beds24 through the real extract path (``run_extract``) into a warehouse.

The same checks as test_mews.py, parametrised over the five vendors: a full extract is exactly the data set's
reservations for the scope; nightly incrementals follow the history with the cursor committed alongside the data
(and a failed night moves nothing); the issue's fault mix plus repeated/shifted pages changes nothing; the raw zone
alone rebuilds the warehouse; no credential reaches the raw zone, the warehouse or an error. One hotel, a month of
arrivals, so the whole module stays small.
"""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import pytest

from hotel_pipeline.clock import local_instant
from hotel_pipeline.connectors.errors import ConnectorError
from hotel_pipeline.connectors.extract import current_status, rebuild_from_raw
from hotel_pipeline.connectors.http import RetryPolicy
from hotel_pipeline.connectors.raw import iter_raw
from hotel_pipeline.sandbox.pms.faults import Faults
from hotel_pipeline.sandbox.pms.harness import running_sandbox
from hotel_pipeline.sandbox.pms.world import World
from hotel_pipeline.warehouse import Warehouse
from hotel_pipeline_tests.pms.helpers import (
    FAULT_MIX,
    SMALL_PAGES,
    current_reservations,
    extract,
    mismatches,
    scan_for_secrets,
    unified_state,
)

VENDORS = ["opera", "rms", "stayntouch", "newbook", "beds24"]
TZ = "Europe/Lisbon"
ALL_COLUMNS = ["status", "booked_on", "cancelled_on", "checked_out_on", "arrival_date", "departure_date", "nights",
               "room_type", "room_number", "adults", "children", "babies", "meal_plan", "channel"]
#: The issue's fault mix plus each vendor's paging faults (a page served twice, a page one record off).
PAGE_FAULTS = {"page_repeat_rate": 0.05, "page_shift_rate": 0.05}


def at(day: date):
    return local_instant(day, TZ, 3)


NOW = at(date(2016, 7, 20))


@pytest.fixture(scope="module")
def world() -> World:
    """H1 arrivals of July 2016 (~1,800 bookings, every status and meal plan, early check-outs, cancellations)."""
    return World(hotel_ids=["H1"], arrival_from=date(2016, 7, 1), arrival_to=date(2016, 7, 31))


@pytest.fixture(params=VENDORS)
def vendor(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def sb(world: World, vendor: str):
    world.set_now(NOW)
    with running_sandbox(world, [vendor]) as running:
        yield running


def run(sb, warehouse: Warehouse, vendor: str, now, raw: Path, **kwargs):
    sb.set_now(now)
    return extract(sb, warehouse, vendor, "H1", now, raw, **{**SMALL_PAGES[vendor], **kwargs})


@pytest.mark.parametrize(("vendor", "engine"), [(v, "postgres" if v == "rms" else "duckdb") for v in VENDORS],
                         indirect=["vendor"])
def test_full_extract_equals_the_data_set(sb, vendor: str, engine: str, request: pytest.FixtureRequest,
                                          tmp_path: Path) -> None:
    """RMS runs on Postgres (the ``postgres_warehouse`` fixture), the others on DuckDB."""
    warehouse: Warehouse = request.getfixturevalue(f"{engine}_warehouse")
    result = run(sb, warehouse, vendor, NOW, tmp_path / "raw")
    assert result.mode == "full" and result.records > 1000 and result.quarantined == 0
    assert mismatches(sb, warehouse, vendor, "H1", NOW, ALL_COLUMNS) == {}
    got = current_reservations(warehouse, vendor, "H1")
    assert set(got["status"]) == {"confirmed", "checked_in", "checked_out", "cancelled", "no_show"}
    assert set(got["meal_plan"]) >= {"RO", "BB", "HB"}
    status = current_status(warehouse, "H1", vendor)
    assert status["last_status"] == "ok" and status["cursor"] == NOW.isoformat()
    guests = warehouse.query("SELECT COUNT(*) AS n FROM guests WHERE source = :s", {"s": vendor})["n"][0]
    assert guests == result.records
    assert warehouse.query("SELECT COUNT(*) AS n FROM rooms WHERE source = :s", {"s": vendor})["n"][0] > 50


def test_incremental_nights_follow_the_history(sb, vendor: str, duckdb_warehouse: Warehouse, tmp_path: Path) -> None:
    """Five nights of incrementals; the third night's extract fails (every call 503): nothing of it is committed,
    the cursor stays, and the next night catches up."""
    start = date(2016, 7, 10)
    run(sb, duckdb_warehouse, vendor, at(start), tmp_path / "raw")
    changed = 0
    for offset in range(1, 6):
        now = at(start + timedelta(days=offset))
        if offset == 3:
            before = current_status(duckdb_warehouse, "H1", vendor)["cursor"]
            versions = duckdb_warehouse.query("SELECT COUNT(*) AS n FROM reservation_versions")["n"][0]
            sb.set_faults(vendor, Faults(error_rate=1.0))
            with pytest.raises(ConnectorError):
                run(sb, duckdb_warehouse, vendor, now, tmp_path / "raw",
                    retry=RetryPolicy(max_attempts=2, backoff_base_seconds=0.001, timeout_seconds=2))
            sb.set_faults(vendor, Faults())
            status = current_status(duckdb_warehouse, "H1", vendor)
            assert status["last_status"] == "failed" and status["cursor"] == before
            assert duckdb_warehouse.query("SELECT COUNT(*) AS n FROM reservation_versions")["n"][0] == versions
            continue
        result = run(sb, duckdb_warehouse, vendor, now, tmp_path / "raw")
        assert result.mode == "incremental"
        changed += result.accepted.changed + result.accepted.new
        assert current_status(duckdb_warehouse, "H1", vendor)["cursor"] == now.isoformat() == result.cursor
        assert mismatches(sb, duckdb_warehouse, vendor, "H1", now, ALL_COLUMNS) == {}, offset
    assert changed > 100  # check-ins, check-outs, cancellations and new bookings really flowed


def test_faults_change_nothing(sb, vendor: str, duckdb_warehouse: Warehouse, tmp_path: Path) -> None:
    clean = run(sb, duckdb_warehouse, vendor, NOW, tmp_path / "clean")
    expected = unified_state(duckdb_warehouse, vendor, "H1")
    faulty_wh = Warehouse(url=f"duckdb:///{tmp_path / 'faulty.duckdb'}")
    sb.set_faults(vendor, Faults(seed=11, **FAULT_MIX, **PAGE_FAULTS))
    faulty = run(sb, faulty_wh, vendor, NOW, tmp_path / "faulty")
    assert faulty.stats.retries > 0 and faulty.stats.errors > 0
    assert faulty.pages > clean.pages  # repeated/shifted pages were noticed and read again
    assert faulty.records == clean.records
    assert unified_state(faulty_wh, vendor, "H1").equals(expected)
    assert mismatches(sb, faulty_wh, vendor, "H1", NOW, ALL_COLUMNS) == {}
    dump = [str(faulty_wh.read_table(t).to_dicts()) for t in ("integration_status", "reservation_versions")]
    assert scan_for_secrets(sb.secrets(), tmp_path, texts=dump) == []


def test_rebuild_from_raw_equals_original(sb, vendor: str, duckdb_warehouse: Warehouse, tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    for day in (date(2016, 7, 14), date(2016, 7, 15), date(2016, 7, 16)):
        run(sb, duckdb_warehouse, vendor, at(day), raw)
    run(sb, duckdb_warehouse, vendor, at(date(2016, 7, 16)), raw, mode="reconcile")
    rebuilt = Warehouse(url=f"duckdb:///{tmp_path / 'rebuilt.duckdb'}")
    results = rebuild_from_raw(rebuilt, raw)
    assert [r.mode for r in results] == ["full", "incremental", "incremental", "reconcile"]
    for table in ("reservation_versions", "rooms", "guests"):
        assert rebuilt.read_table(table, "source, hotel_id, external_id").equals(
            duckdb_warehouse.read_table(table, "source, hotel_id, external_id")), table
    headers = [doc for _, doc in iter_raw(raw)]
    assert all(doc["complete"] for doc in headers)
    assert scan_for_secrets(sb.secrets(), raw) == []


def test_a_missing_credential_is_named_never_shown(sb, vendor: str, duckdb_warehouse: Warehouse,
                                                   tmp_path: Path) -> None:
    name = next(iter(sb.env))
    real = sb.env.pop(name)
    os.environ.pop(name, None)
    try:
        with pytest.raises(ConnectorError) as info:
            run(sb, duckdb_warehouse, vendor, NOW, tmp_path / "raw")
    finally:
        sb.env[name] = real
    assert name in str(info.value)
    assert scan_for_secrets(sb.secrets(), tmp_path, texts=[str(info.value)]) == []
