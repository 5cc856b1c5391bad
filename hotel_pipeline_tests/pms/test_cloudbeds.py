"""Cloudbeds through the sandbox beyond the shared checks of vendors/test_extract_path.py: the full extract on
Postgres, shifted pages with HTTP-200 errors, the dateModified trap, a wrong API key, the whole data set (slow)."""

from __future__ import annotations

from datetime import UTC, date, timedelta
from pathlib import Path

import pytest

from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.sources.pms.extract import current_status
from hotel_pipeline.workshop.sandbox.pms.faults import Faults
from hotel_pipeline.workshop.sandbox.pms.harness import running_sandbox
from hotel_pipeline.workshop.sandbox.pms.world import World
from hotel_pipeline_tests.pms.helpers import (
    NOW,
    SCOPES,
    Scope,
    at,
    check_bad_credentials_keep_the_cursor,
    check_full_extract,
    extract,
    mismatches,
    serving,
)

VENDOR = "cloudbeds"
COLUMNS = SCOPES[VENDOR].columns
#: A fortnight of arrivals around NOW for the Postgres run (quick, and still every status and meal plan).
FORTNIGHT = Scope(date(2016, 7, 8), date(2016, 7, 21), 500, COLUMNS)


@pytest.fixture
def sb(scope_world):
    with serving(scope_world(VENDOR), VENDOR) as running:
        yield running


def test_full_extract_on_postgres(postgres_warehouse: Warehouse, tmp_path: Path) -> None:
    """The shared full-extract checks (DuckDB: vendors/test_extract_path.py) on the Postgres warehouse."""
    world = World(hotel_ids=["H1"], arrival_from=FORTNIGHT.arrival_from, arrival_to=FORTNIGHT.arrival_to)
    with serving(world, VENDOR) as running:
        check_full_extract(running, postgres_warehouse, VENDOR, NOW, tmp_path / "raw", FORTNIGHT)


def test_shifted_pages_and_in_body_errors_lose_nothing(sb, duckdb_warehouse: Warehouse, tmp_path: Path) -> None:
    sb.set_faults(VENDOR, Faults(seed=5, page_shift_rate=0.15, error_rate=0.1))
    result = extract(sb, duckdb_warehouse, VENDOR, "H1", NOW, tmp_path / "raw")
    assert result.stats.retries > 0
    assert mismatches(sb, duckdb_warehouse, VENDOR, "H1", NOW, COLUMNS) == {}
    # The health row says what the recovered errors were and when, not just how many.
    status = current_status(duckdb_warehouse, "H1", VENDOR)
    assert status["last_status"] == "ok" and status["errors"] == result.stats.errors > 0
    assert f"{result.stats.errors} error(s) retried" in status["last_error"]
    assert status["last_error_at"] == NOW.astimezone(UTC).replace(tzinfo=None)
    # A later clean sync keeps that error and its time (errors counts the latest attempt only).
    sb.set_faults(VENDOR, Faults())
    later = NOW + timedelta(hours=1)
    sb.set_now(later)
    assert extract(sb, duckdb_warehouse, VENDOR, "H1", later, tmp_path / "raw").stats.errors == 0
    clean = current_status(duckdb_warehouse, "H1", VENDOR)
    assert clean["errors"] == 0 and (clean["last_error"], clean["last_error_at"]) == (
        status["last_error"], status["last_error_at"])


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
    assert mismatches(sb, duckdb_warehouse, VENDOR, "H1", now, COLUMNS) == {}


def test_bad_credentials_fail_typed_and_keep_the_cursor(sb, duckdb_warehouse: Warehouse, tmp_path: Path) -> None:
    check_bad_credentials_keep_the_cursor(sb, duckdb_warehouse, VENDOR, tmp_path, "CLOUDBEDS_API_KEY_H1")


@pytest.mark.slow(40)
def test_whole_data_set_as_of_the_end(tmp_path: Path) -> None:
    """Every booking of the data set (both hotels, all final) through Cloudbeds: exactly the data set."""
    from hotel_pipeline.sources.csv.dataset import load_history

    world = World(load_history())
    now = at(date(2017, 9, 16))
    world.set_now(now)
    wh = Warehouse(url=f"duckdb:///{tmp_path / 'all.duckdb'}")
    with running_sandbox(world, [VENDOR]) as running:
        total = 0
        for hotel_id in ("H1", "H2"):
            result = extract(running, wh, VENDOR, hotel_id, now, tmp_path / "raw")
            total += result.records
            assert mismatches(running, wh, VENDOR, hotel_id, now, COLUMNS) == {}
    assert total == 119_390
