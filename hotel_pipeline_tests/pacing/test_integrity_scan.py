"""The integrity check verifies the whole historian, old snapshots included, with one cheap scan, and digests sealed
before that scan existed (or by an engine whose hash function changed) are re-sealed only when they still match."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from hotel_pipeline.core.portfolio import load_portfolio
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.defs.pacing.checks import check_pacing_integrity
from hotel_pipeline.pacing.append_only import BY_MD5, BY_SNAPSHOT, BY_TOTAL
from hotel_pipeline.pacing.recorder import take_snapshots
from hotel_pipeline_tests.pacing.helpers import NIGHT, SNAPSHOTS, small_historian
from hotel_pipeline_tests.pacing.test_append_only import raw_sql
from hotel_pipeline_tests.pipeline_helpers import clock_at

OLDEST = SNAPSHOTS[0]
#: On Postgres the saboteur must first disarm the guard.
UNGUARD = "ALTER TABLE pacing_snapshots DISABLE TRIGGER USER"


def rerun(warehouse: Warehouse) -> None:
    """The next write of the historian: every snapshot present, tables and digests ensured."""
    again = take_snapshots(warehouse, load_portfolio(), clock_at(NIGHT, 5), SNAPSHOTS[0], NIGHT, ["H1"])
    assert {o.status for o in again} == {"present"}


def digests(warehouse: Warehouse) -> dict[date, tuple]:
    frame = warehouse.query("SELECT snapshot_date, rows_hash, hash_canary FROM pacing_snapshot_digests")
    return {r[0]: r[1:] for r in frame.iter_rows()}


def assert_names(warehouse: Warehouse, named: list[str], method: str) -> None:
    """The check fails, naming exactly ``named``, found the way ``method`` says."""
    result = check_pacing_integrity(warehouse)
    assert not result.passed
    assert result.metadata["differing"].value == named
    assert result.metadata["verified_by"].value == method


def test_an_old_snapshot_with_two_values_swapped_is_named(warehouse: Warehouse, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Two stay dates of the oldest snapshot trade their rooms sold: same row count, same total of rooms and the same
    bag of values per column, still named (a hash that combined columns linearly would miss it)."""
    small_historian(warehouse, tmp_path / "data", monkeypatch)
    clean = check_pacing_integrity(warehouse)
    assert clean.passed and clean.metadata["verified_by"].value == BY_TOTAL
    frame = warehouse.query("SELECT stay_date, rooms_sold FROM pacing_snapshots WHERE snapshot_date = :s",
                            {"s": OLDEST}).sort("rooms_sold", "stay_date")
    (quiet, few), (busy, many) = frame.row(0), frame.row(-1)
    assert many != few
    raw_sql(warehouse, *([UNGUARD] if warehouse.dialect == "postgres" else []),
            f"UPDATE pacing_snapshots SET rooms_sold = CASE WHEN stay_date = DATE '{busy}' THEN {few} ELSE {many} END "
            f"WHERE snapshot_date = DATE '{OLDEST}' AND stay_date IN (DATE '{busy}', DATE '{quiet}')")
    rerun(warehouse)  # a later write of the historian neither re-digests nor blesses the old snapshot
    assert_names(warehouse, [f"H1 {OLDEST}: rows altered"], BY_SNAPSHOT)


def test_digests_from_before_the_hash_sum_are_resealed_only_where_the_md5_still_holds(
        warehouse: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A warehouse digested by an earlier release (no rows_hash) in which a snapshot was altered: the next write
    re-seals the untouched snapshots, the altered one keeps its old seal and the check names it by md5."""
    small_historian(warehouse, tmp_path / "data", monkeypatch)
    sealed = digests(warehouse)
    raw_sql(warehouse, *([UNGUARD] if warehouse.dialect == "postgres" else []),
            "ALTER TABLE pacing_snapshot_digests DROP COLUMN rows_hash",
            "ALTER TABLE pacing_snapshot_digests DROP COLUMN hash_canary",
            f"UPDATE pacing_snapshots SET recorded_at = recorded_at + INTERVAL '1 second' "
            f"WHERE snapshot_date = DATE '{SNAPSHOTS[1]}' AND stay_date = DATE '{SNAPSHOTS[1]}'")
    rerun(warehouse)
    resealed = digests(warehouse)
    assert resealed[SNAPSHOTS[1]] == (None, None)
    assert {d: v for d, v in resealed.items() if d != SNAPSHOTS[1]} == {
        d: v for d, v in sealed.items() if d != SNAPSHOTS[1]}
    assert_names(warehouse, [f"H1 {SNAPSHOTS[1]}: rows altered"], BY_MD5)


def test_a_changed_hash_function_is_resealed_from_md5_and_the_scan_holds_again(
        duckdb_warehouse: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Digests whose canary is not the engine's (as after an upgrade that changed its hash) are compared by md5 until
    the next write re-seals them; afterwards the one-scan comparison passes again."""
    small_historian(duckdb_warehouse, tmp_path / "data", monkeypatch)
    sealed = digests(duckdb_warehouse)
    raw_sql(duckdb_warehouse, "UPDATE pacing_snapshot_digests SET rows_hash = rows_hash + 1, "
                              "hash_canary = hash_canary + 1")
    before = check_pacing_integrity(duckdb_warehouse)
    assert before.passed and before.metadata["verified_by"].value == BY_MD5
    rerun(duckdb_warehouse)
    assert digests(duckdb_warehouse) == sealed
    after = check_pacing_integrity(duckdb_warehouse)
    assert after.passed and after.metadata["verified_by"].value == BY_TOTAL
