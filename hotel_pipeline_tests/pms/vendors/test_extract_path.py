"""All seven vendors through the real extract path (``run_extract``) into a warehouse, parametrised over the vendor.

The same checks for each: a full extract is exactly the data set's reservations for the vendor's scope
(helpers.SCOPES), on DuckDB or, for RMS, Postgres; nightly incrementals follow the history with the cursor committed
alongside the data (and a failed night moves nothing); the issue's fault mix plus repeated/shifted pages changes
nothing; the raw zone alone rebuilds the warehouse; no credential reaches the raw zone, the warehouse or an error. What only one vendor does (Mews' 408s, Cloudbeds' HTTP-200 errors and its unreliable modified time, wrong
credentials) is tested in that vendor's module (test_mews.py, test_cloudbeds.py, vendors/test_<vendor>.py).
"""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import pytest

from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.sources.pms.errors import ConnectorError
from hotel_pipeline.sources.pms.extract import current_status, rebuild_from_raw
from hotel_pipeline.sources.pms.http import RetryPolicy
from hotel_pipeline.sources.pms.raw import iter_raw
from hotel_pipeline.workshop.sandbox.pms.faults import Faults
from hotel_pipeline_tests.pms.helpers import (
    FAULT_MIX,
    NOW,
    SCOPES,
    SMALL_PAGES,
    Scope,
    at,
    check_full_extract,
    extract,
    mismatches,
    scan_for_secrets,
    serving,
    unified_state,
)

VENDORS = list(SCOPES)
#: The full extract runs on DuckDB, RMS's on Postgres (Cloudbeds' module runs one on Postgres too, on a fortnight).
ENGINES = {"rms": "postgres"}
#: The issue's fault mix plus each vendor's paging faults (a page served twice, a page one record off; Mews' keyset
#: paging cannot shift, so it meets repeats only).
PAGE_FAULTS = {"page_repeat_rate": 0.05, "page_shift_rate": 0.05}


@pytest.fixture(params=VENDORS)
def vendor(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def scope(vendor: str) -> Scope:
    return SCOPES[vendor]


@pytest.fixture
def sb(scope_world, vendor: str):
    with serving(scope_world(vendor), vendor) as running:
        yield running


def run(sb, warehouse: Warehouse, vendor: str, now, raw: Path, **kwargs):
    sb.set_now(now)
    return extract(sb, warehouse, vendor, "H1", now, raw, **{**SMALL_PAGES[vendor], **kwargs})


@pytest.mark.parametrize(("vendor", "engine"), [(v, ENGINES.get(v, "duckdb")) for v in VENDORS],
                         indirect=["vendor"])
def test_full_extract_equals_the_data_set(sb, vendor: str, scope: Scope, engine: str,
                                          request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """On the engine's warehouse (the ``duckdb_warehouse`` or ``postgres_warehouse`` fixture)."""
    warehouse: Warehouse = request.getfixturevalue(f"{engine}_warehouse")
    check_full_extract(sb, warehouse, vendor, NOW, tmp_path / "raw", scope, **SMALL_PAGES[vendor])


def test_incremental_nights_follow_the_history(sb, vendor: str, scope: Scope, duckdb_warehouse: Warehouse,
                                               tmp_path: Path) -> None:
    """Seven nights of incrementals; the third night's extract fails (every call 503): nothing of it is committed,
    the cursor stays, and the next night catches up."""
    start = date(2016, 7, 10)
    run(sb, duckdb_warehouse, vendor, at(start), tmp_path / "raw")
    changed = 0
    for offset in range(1, 8):
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
        assert mismatches(sb, duckdb_warehouse, vendor, "H1", now, scope.columns) == {}, offset
    assert changed > 100  # check-ins, check-outs, cancellations and new bookings really flowed


def test_faults_change_nothing(sb, vendor: str, scope: Scope, duckdb_warehouse: Warehouse, tmp_path: Path) -> None:
    clean = run(sb, duckdb_warehouse, vendor, NOW, tmp_path / "clean")
    expected = unified_state(duckdb_warehouse, vendor, "H1")
    faulty_wh = Warehouse(url=f"duckdb:///{tmp_path / 'faulty.duckdb'}")
    sb.set_faults(vendor, Faults(seed=11, **FAULT_MIX, **PAGE_FAULTS))
    faulty = run(sb, faulty_wh, vendor, NOW, tmp_path / "faulty")
    assert faulty.stats.retries > 0 and faulty.stats.errors > 0
    assert faulty.pages > clean.pages  # repeated/shifted pages were noticed and read again
    assert faulty.records == clean.records
    assert unified_state(faulty_wh, vendor, "H1").equals(expected)
    assert mismatches(sb, faulty_wh, vendor, "H1", NOW, scope.columns) == {}
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
    """Each of the vendor's credential variables in turn unset: a typed error that names the variable; no secret in
    the error, the raw zone or the warehouse."""
    errors = []
    for name in list(sb.env):
        real = sb.env.pop(name)
        os.environ.pop(name, None)
        try:
            with pytest.raises(ConnectorError) as info:
                run(sb, duckdb_warehouse, vendor, NOW, tmp_path / "raw")
        finally:
            sb.env[name] = real
        assert name in str(info.value)
        errors.append(str(info.value))
    dump = [str(duckdb_warehouse.read_table(t).to_dicts()) for t in ("integration_status", "reservation_versions")]
    assert scan_for_secrets(sb.secrets(), tmp_path, texts=errors + dump) == []
