"""Schema changes never drop data: a header that gains a column migrates the table, one that changes a column's type
is refused with the statement to run, and an analyst's own columns stay, on both engines."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from hotel_pipeline.core import sql_models
from hotel_pipeline.core.portfolio import load_portfolio
from hotel_pipeline.core.warehouse import SchemaMismatch, Warehouse, migration
from hotel_pipeline.defs.pacing.checks import check_pacing_integrity
from hotel_pipeline.pacing import recorder
from hotel_pipeline_tests.pacing.helpers import NIGHT, SNAPSHOTS, small_historian
from hotel_pipeline_tests.pacing.test_append_only import raw_sql
from hotel_pipeline_tests.pipeline_helpers import clock_at

HISTORIAN_SQL = sql_models.settings.SQL_MODELS_DIR / "pacing_snapshots.sql"


def changed_historian(tmp_path: Path, old: str, new: str) -> sql_models.SqlModel:
    """The historian's model with one header line changed, as an upgrade would ship it."""
    text = HISTORIAN_SQL.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "models" / "pacing_snapshots.sql"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return sql_models.parse_model(path)


def rerun(warehouse: Warehouse) -> None:
    """A no-op re-run of the recorder: every snapshot is present, only the tables are ensured."""
    outcomes = recorder.take_snapshots(warehouse, load_portfolio(), clock_at(NIGHT, 5), SNAPSHOTS[0], NIGHT, ["H1"])
    assert {o.status for o in outcomes} == {"present"}


def test_header_gains_a_column_rows_and_guard_kept(warehouse: Warehouse, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    small_historian(warehouse, tmp_path / "data", monkeypatch)
    before = warehouse.read_table("pacing_snapshots", order_by="snapshot_date, stay_date")
    raw_sql(warehouse, "ALTER TABLE pacing_snapshots ADD COLUMN analyst_note VARCHAR")
    upgraded = changed_historian(
        tmp_path, "-- column origin VARCHAR:", "-- column booking_window VARCHAR: added by an upgrade\n-- column origin VARCHAR:"
    )
    monkeypatch.setattr(recorder, "model", lambda name: upgraded if name == "pacing_snapshots" else sql_models.model(name))
    rerun(warehouse)
    after = warehouse.read_table("pacing_snapshots", order_by="snapshot_date, stay_date")
    assert after.height == before.height == 4 * 365
    assert "booking_window" in after.columns and after["booking_window"].null_count() == after.height
    assert "analyst_note" in after.columns  # the analyst's column is left alone
    assert after.select(before.columns).equals(before)
    assert check_pacing_integrity(warehouse).passed
    if warehouse.dialect == "postgres":
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            raw_sql(warehouse, "DELETE FROM pacing_snapshots")


def test_type_change_of_a_table_with_history_is_refused_with_what_to_run(warehouse: Warehouse, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    small_historian(warehouse, tmp_path / "data", monkeypatch)
    retyped = changed_historian(tmp_path, "-- column rooms_sold INTEGER:", "-- column rooms_sold DOUBLE:")
    monkeypatch.setattr(recorder, "model", lambda name: retyped if name == "pacing_snapshots" else sql_models.model(name))
    with pytest.raises(SchemaMismatch, match=r"column rooms_sold is INTEGER in the warehouse but declared DOUBLE.*"
                                             r"ALTER TABLE pacing_snapshots ALTER COLUMN rooms_sold TYPE"):
        rerun(warehouse)
    assert warehouse.query("SELECT COUNT(*) AS n FROM pacing_snapshots")["n"][0] == 4 * 365


def test_rebuilt_model_changes_type_in_place_and_keeps_analyst_columns(warehouse: Warehouse, tmp_path: Path) -> None:
    """A ``table`` model is emptied and refilled each run anyway: its column type follows the header, no DROP."""
    path = tmp_path / "board.sql"
    header = "-- materialized: table\n-- column k VARCHAR: key\n-- column v {type}: value\n"
    path.write_text(header.format(type="INTEGER") + "select 'a' as k, 1 as v", encoding="utf-8")
    with warehouse.transaction() as tx:
        sql_models.run_model(tx, sql_models.parse_model(path))
    raw_sql(warehouse, "ALTER TABLE board ADD COLUMN note VARCHAR")
    path.write_text(header.format(type="DOUBLE") + "select 'a' as k, 1.5 as v", encoding="utf-8")
    with warehouse.transaction() as tx:
        sql_models.run_model(tx, sql_models.parse_model(path))
        assert migration.portable(tx.table_columns("board")["v"]) == "DOUBLE"
    frame = warehouse.read_table("board")
    assert frame.columns == ["k", "v", "note"] and frame["v"].to_list() == [1.5]


def test_missing_key_column_is_refused(warehouse: Warehouse) -> None:
    """A declared key column cannot be added to rows that exist without a value: refused, nothing changed."""
    from hotel_pipeline.core.warehouse import spec

    with warehouse.transaction() as tx:
        tx.ensure_table(spec("t_keyed", [("a", "VARCHAR", "")], primary_key=("a",)))
        tx.execute("INSERT INTO t_keyed (a) VALUES ('x')")
    wider = spec("t_keyed", [("a", "VARCHAR", ""), ("b", "VARCHAR", "")], primary_key=("a", "b"))
    with pytest.raises(SchemaMismatch, match="column b .* is missing"), warehouse.transaction() as tx:
        tx.ensure_table(wider)
    assert warehouse.read_table("t_keyed").rows() == [("x",)]
