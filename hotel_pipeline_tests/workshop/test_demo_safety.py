"""`make demo` never deletes what it did not create: its own tables or file only, or a refusal unless --reset."""

from __future__ import annotations

import pytest

from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.workshop.demo import DemoRefused, _tables, prepare_warehouse, record_owned_tables


def test_a_foreign_table_is_refused_and_kept(warehouse: Warehouse) -> None:
    """On today's main the demo dropped every table of the schema; now it refuses and names the table."""
    warehouse.execute("CREATE TABLE analyst_notes (note VARCHAR)")
    warehouse.execute("INSERT INTO analyst_notes VALUES ('keep me')")
    with pytest.raises(DemoRefused, match="analyst_notes"):
        prepare_warehouse(warehouse)
    assert warehouse.query("SELECT note FROM analyst_notes")["note"].to_list() == ["keep me"]


def test_the_demo_deletes_exactly_the_tables_it_recorded(warehouse: Warehouse) -> None:
    before = set(_tables(warehouse))
    warehouse.execute("CREATE TABLE pickup (x INTEGER)")  # as if the demo had built it
    record_owned_tables(warehouse, before)
    assert "deleted 2 table(s)" in prepare_warehouse(warehouse)  # pickup and demo_owned_tables
    assert _tables(warehouse) == []
    warehouse.execute("CREATE TABLE pickup (x INTEGER)")
    record_owned_tables(warehouse, set())
    warehouse.execute("CREATE TABLE analyst_notes (note VARCHAR)")  # added by someone else since
    with pytest.raises(DemoRefused, match="analyst_notes"):
        prepare_warehouse(warehouse)
    assert set(_tables(warehouse)) == {"pickup", "analyst_notes", "demo_owned_tables"}
    prepare_warehouse(warehouse, reset=True)  # told to: everything goes
    assert _tables(warehouse) == []


def test_the_demo_recreates_its_own_file(tmp_path) -> None:
    own = Warehouse(url=f"duckdb:///{tmp_path / 'demo' / 'warehouse.duckdb'}")
    own.execute("CREATE TABLE leftover (x INTEGER)")
    said = prepare_warehouse(own, own_file=True)
    assert "recreated" in said and _tables(own) == []
