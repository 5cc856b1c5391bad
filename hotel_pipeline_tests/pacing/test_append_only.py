"""The historian is append-only on both engines: refused by Postgres itself, by the pipeline's write path everywhere,
and where neither can stop a writer (an analyst's DuckDB session), made evident by the blocking integrity check."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa

from hotel_pipeline.core import settings
from hotel_pipeline.core.portfolio import load_portfolio
from hotel_pipeline.core.warehouse import Warehouse, WarehouseError
from hotel_pipeline.core.warehouse.resource import duckdb_path
from hotel_pipeline.defs.pacing.checks import BLOCKING_CHECKS, check_pacing_integrity
from hotel_pipeline.pacing.recorder import take_snapshots
from hotel_pipeline_tests.pacing.helpers import NIGHT, SNAPSHOTS, small_historian
from hotel_pipeline_tests.pipeline_helpers import clock_at


def raw_sql(warehouse: Warehouse, *statements: str) -> None:
    """Statements sent the way an analyst would: straight to the engine, not through the pipeline's write path."""
    if warehouse.dialect == "postgres":
        with warehouse.backend.engine.begin() as con:
            for s in statements:
                con.execute(sa.text(s))
    else:
        with duckdb.connect(str(duckdb_path(warehouse.url))) as con:
            for s in statements:
                con.execute(s)


def test_postgres_refuses_update_delete_and_truncate_from_anyone(postgres_warehouse: Warehouse, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    small_historian(postgres_warehouse, tmp_path / "data", monkeypatch)
    for statement in ("UPDATE pacing_snapshots SET rooms_sold = 0", "DELETE FROM pacing_snapshots",
                      "TRUNCATE pacing_snapshots"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            raw_sql(postgres_warehouse, statement)
    assert postgres_warehouse.query("SELECT COUNT(*) AS n FROM pacing_snapshots")["n"][0] == 4 * 365


@pytest.mark.parametrize("sabotage", [
    "DROP TRIGGER pacing_snapshots_no_truncate ON pacing_snapshots",
    "ALTER TABLE pacing_snapshots DISABLE TRIGGER USER",
    "CREATE OR REPLACE FUNCTION pacing_snapshots_append_only() RETURNS trigger AS $$ BEGIN RETURN NULL; END $$ "
    "LANGUAGE plpgsql",
])
def test_postgres_guard_is_reinstalled_on_every_write(postgres_warehouse: Warehouse, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch, sabotage: str) -> None:
    """A dropped, disabled or neutered guard is back after the next write of the historian (here a no-op re-run)."""
    small_historian(postgres_warehouse, tmp_path / "data", monkeypatch)
    raw_sql(postgres_warehouse, sabotage)
    again = take_snapshots(postgres_warehouse, load_portfolio(), clock_at(NIGHT), SNAPSHOTS[0], NIGHT, ["H1"])
    assert {o.status for o in again} == {"present"}
    for statement in ("TRUNCATE pacing_snapshots", "DELETE FROM pacing_snapshots"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            raw_sql(postgres_warehouse, statement)


@pytest.mark.parametrize("statement", [
    "UPDATE pacing_snapshots SET rooms_sold = 0",
    "delete from pacing_snapshots where hotel_id = 'H1'",
    "TRUNCATE TABLE pacing_snapshots",
])
def test_the_pipeline_write_path_refuses_rewrites_on_both_engines(warehouse: Warehouse, statement: str) -> None:
    """Whatever code builds the statement, a Tx refuses to rewrite the historian (DuckDB has no trigger to do it)."""
    with pytest.raises(WarehouseError, match="pacing_snapshots is append-only"):
        warehouse.execute(statement)


def test_integrity_check_names_every_altered_or_missing_snapshot(warehouse: Warehouse, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    small_historian(warehouse, tmp_path / "data", monkeypatch)
    clean = check_pacing_integrity(warehouse)
    assert clean.passed, clean.description
    assert clean.metadata["snapshots_digested"].value == 4
    # On Postgres the saboteur must first disarm the guard and make a partition for the month of the planted rows.
    unguard = ["ALTER TABLE pacing_snapshots DISABLE TRIGGER USER",
               "CREATE TABLE pacing_snapshots_y2015m06 PARTITION OF pacing_snapshots "
               "FOR VALUES FROM ('2015-06-01') TO ('2015-07-01')"] if warehouse.dialect == "postgres" else []
    raw_sql(
        warehouse, *unguard,
        "UPDATE pacing_snapshots SET net_revenue = net_revenue + 1 "
        "WHERE snapshot_date = DATE '2015-07-01' AND stay_date = DATE '2015-07-05'",
        "DELETE FROM pacing_snapshots WHERE snapshot_date = DATE '2015-07-02' AND stay_date = DATE '2015-07-09'",
        "DELETE FROM pacing_snapshots WHERE snapshot_date = DATE '2015-07-03'",
        "INSERT INTO pacing_snapshots (hotel_id, snapshot_date, stay_date, rooms_sold, capacity_count, net_revenue, "
        "origin, recorded_at) VALUES ('H1', DATE '2015-06-30', DATE '2015-06-30', 3, 187, 300.0, 'recorded', "
        "TIMESTAMP '2015-06-30 02:00:00')",
        "UPDATE pacing_snapshots SET origin = 'reconstructed' WHERE snapshot_date = DATE '2015-07-04' "
        "AND stay_date = DATE '2015-07-04'",
    )
    result = check_pacing_integrity(warehouse)
    assert not result.passed
    assert result.metadata["differing"].value == [
        "H1 2015-06-30: unrecorded: rows written outside the recorder",
        "H1 2015-07-01: rows altered",
        "H1 2015-07-02: rows deleted",
        "H1 2015-07-03: missing: every row of the snapshot is gone",
        "H1 2015-07-04: rows altered",
    ]
    assert "H1 2015-07-03: missing" in result.description


def test_integrity_check_is_a_blocking_check_of_the_historian() -> None:
    check = next(c for c in BLOCKING_CHECKS if any(s.name == "pacing_snapshots_integrity" for s in c.check_specs))
    spec = next(iter(check.check_specs))
    assert spec.asset_key.to_user_string() == "pacing_snapshots" and spec.blocking


#: A statement that would rewrite or remove the historian, however it is spelled.
_REWRITE = re.compile(
    r"\b(update|delete\s+from|truncate(\s+table)?|drop\s+table(\s+if\s+exists)?)\s+(only\s+)?pacing_snapshots\b",
    re.IGNORECASE,
)


def test_no_production_code_rewrites_or_drops_the_historian() -> None:
    """Production code and SQL models never name the historian in an UPDATE, DELETE, TRUNCATE or DROP TABLE, and
    no production DROP TABLE takes a table name from a variable except the runner's temporary stages."""
    roots = [settings.REPO_ROOT / "hotel_pipeline", settings.SQL_MODELS_DIR]
    files = [p for r in roots for p in r.rglob("*") if p.suffix in {".py", ".sql"} and "workshop" not in p.parts]
    assert len(files) > 50
    offenders = [f"{p}: {m.group(0)}" for p in files for m in _REWRITE.finditer(p.read_text(encoding="utf-8"))]
    assert offenders == []
    dynamic_drops = [
        f"{p.relative_to(settings.REPO_ROOT)}: {line.strip()}" for p in files
        for line in p.read_text(encoding="utf-8").splitlines() if re.search(r"DROP TABLE[^\"']*\{", line)
    ]
    assert dynamic_drops == [
        "hotel_pipeline/core/sql_models.py: tx.execute(f\"DROP TABLE IF EXISTS {stage}\")",
        "hotel_pipeline/core/warehouse/resource.py: self.execute(f\"DROP TABLE IF EXISTS {identifier(name)}\")",
    ]


def test_digest_of_an_untouched_historian_survives_a_rerun(duckdb_warehouse: Warehouse, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A re-run adds nothing and re-digests nothing; a new night adds exactly its digest."""
    small_historian(duckdb_warehouse, tmp_path / "data", monkeypatch)
    before = duckdb_warehouse.read_table("pacing_snapshot_digests", order_by="snapshot_date")
    take_snapshots(duckdb_warehouse, load_portfolio(), clock_at(NIGHT, 5), SNAPSHOTS[0], NIGHT, ["H1"])
    assert duckdb_warehouse.read_table("pacing_snapshot_digests", order_by="snapshot_date").equals(before)
    assert before["snapshot_date"].to_list() == SNAPSHOTS and set(before["row_count"]) == {365}
    assert date(2015, 7, 4) in before["snapshot_date"].to_list()
