"""Lineage you can see: every table the pipeline writes is an asset, and no model reads a table the graph lacks."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from hotel_pipeline.core.sql_models import ModelError, load_models, parse_model
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.definitions import defs
from hotel_pipeline.defs.tables import DECLARED_TABLES, OUTSIDE_DAGSTER, OWNED_TABLES, RECORDED_BY, SHARED_TABLES

GRAPH = defs.resolve_asset_graph()
KEYS = {k.to_user_string() for k in GRAPH.get_all_asset_keys()}
HEADER = "-- materialized: table\n-- column hotel_id VARCHAR: hotel\n"


def _model(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.sql"
    path.write_text(HEADER + body + "\n", encoding="utf-8")
    return path


def test_a_model_reading_a_bare_table_is_refused(tmp_path: Path) -> None:
    """The planted model reads reservation_versions without a marker: the runner names the table and the fix."""
    bare = _model(tmp_path, "planted", "select hotel_id from reservation_versions")
    with pytest.raises(ModelError, match="reads reservation_versions without a marker"):
        parse_model(bare)
    # Also found behind a comma join and in a subquery; a common table expression of the model is no table.
    hidden = _model(tmp_path, "hidden", "with cte as (select 1 as x) select v.hotel_id from {{ source('hotels') }} h, "
                                        "cte, reservation_versions v where h.hotel_id in (select hotel_id from rooms)")
    with pytest.raises(ModelError, match="reads reservation_versions, rooms without a marker"):
        parse_model(hidden)
    marked = _model(tmp_path, "marked", "with v as (select * from {{ source('reservation_versions') }}) "
                                        "select hotel_id from v")
    assert parse_model(marked).sources == ("reservation_versions",)
    assert parse_model(marked).deps == ["reservation_versions"]


def test_ref_names_a_model_and_source_a_table(tmp_path: Path) -> None:
    _model(tmp_path / "a", "one", "select hotel_id from {{ ref('nowhere') }}")
    with pytest.raises(ModelError, match=r"ref\(\) names no model of the folder: \['nowhere'\]"):
        load_models(tmp_path / "a")
    _model(tmp_path / "b", "one", "select hotel_id from {{ source('hotels') }}")
    _model(tmp_path / "b", "two", "select hotel_id from {{ source('one') }}")
    with pytest.raises(ModelError, match=r"source\(\) names a model: \['one'\]"):
        load_models(tmp_path / "b")


def undeclared_reads(keys: set[str]) -> dict[str, list[str]]:
    """Per model, what it reads or depends on that is no asset of the code location."""
    return {m.name: missing for m in load_models().values() if (missing := [d for d in m.deps if d not in keys])}


def test_every_table_a_model_reads_is_an_asset_of_the_code_location() -> None:
    assert undeclared_reads(KEYS) == {}
    # The check would see a table the code location does not declare (as if reservation_versions had no asset).
    assert undeclared_reads(KEYS - {"reservation_versions"}) == {"reservations": ["reservation_versions"]}
    # Nothing is a stand-in: every asset a model reads is built by an asset or declared as a written table.
    written = set(DECLARED_TABLES)
    for m in load_models().values():
        for d in m.deps:
            assert GRAPH.get(dg.AssetKey(d)).is_materializable or d in written, (m.name, d)


def test_a_model_reading_a_written_table_runs_after_its_writers() -> None:
    """Dagster orders a job by direct dependencies: a model reading reservation_versions names its writers too."""
    writers = {t.name: set(w) for t, _, w, _, _ in SHARED_TABLES}
    for m in load_models().values():
        for table in m.sources:
            assert writers.get(table, set()) <= set(m.deps), (m.name, table)


def test_the_lineage_runs_from_the_extracts_to_the_exports() -> None:
    """extract -> unified -> marts -> exports, through the tables themselves."""
    def parents(key: str) -> set[str]:
        return {p.to_user_string() for p in GRAPH.get(dg.AssetKey(key)).parent_keys}

    assert {"legacy_csv_import", "pms_extract"} <= parents("reservation_versions")
    assert "reservation_versions" in parents("reservations")
    assert "reservations" in parents("reservation_nights")
    assert "reservation_nights" in parents("daily_metrics")
    assert {"daily_metrics", "pacing_snapshots", "pickup"} <= parents("bi_exports")
    assert {"dining_slot_state", "dining_poll_state"} <= parents("market_metrics")
    assert "pacing_snapshots" in parents("snapshot_log")
    assert len(GRAPH.toposorted_asset_keys) == len(KEYS)  # acyclic: every key sorts


def test_every_written_table_is_recorded_by_the_steps_that_write_it() -> None:
    """A table one asset alone writes is a spec of that asset; every step named as writing a shared table exists;
    every job that runs a writer selects the tables it alone writes (else they would go unrecorded in that job)."""
    for writer, tables in OWNED_TABLES.items():
        assets_def = defs.get_assets_def(writer)
        assert {t.name for t in tables} | {writer} == {k.to_user_string() for k in assets_def.keys}, writer
        assert assets_def.can_subset, writer
    ops = {node.name for job in defs.resolve_all_job_defs() for node in job.graph.nodes}
    for table, _, _, _, outside in SHARED_TABLES:
        steps = set(RECORDED_BY[table.name])
        assert not GRAPH.get(dg.AssetKey(table.name)).is_materializable, table.name
        assert steps <= KEYS | ops, (table.name, steps - KEYS - ops)
        assert steps or outside, table.name
    assert OUTSIDE_DAGSTER == ("pii_access_log", "erasure_log")
    for job in defs.resolve_all_job_defs():
        keys = {k.to_user_string() for k in job.asset_layer.selected_asset_keys}
        for writer, tables in OWNED_TABLES.items():
            if writer in keys:
                assert {t.name for t in tables} <= keys, (job.name, writer)


def warehouse_tables(warehouse: Warehouse) -> set[str]:
    frame = warehouse.query("SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
                            "AND table_schema = current_schema()")
    return set(frame["table_name"].to_list())


@pytest.mark.slow(25)  # the session's short run, when it is the first to ask for it
def test_every_table_in_the_warehouse_after_a_pipeline_run_is_an_asset(short_run_on_duckdb) -> None:
    """The demo's short run (imports, live layer, historian, pickup, exports) leaves only tables that are assets, and
    the Dagster instance holds a materialisation of every one of them: the UI shows none as "Never materialized"
    (the session's shared run, on a fresh DuckDB warehouse)."""
    tables = warehouse_tables(short_run_on_duckdb.warehouse)
    assert {"reservation_versions", "quarantine", "integration_status", "snapshot_log", "pickup"} <= tables
    assert sorted(tables - KEYS) == []
    assert {t.name for w in ("legacy_csv_import", "pacing_snapshots") for t in OWNED_TABLES[w]} <= tables
    assert sorted(tables - short_run_on_duckdb.materialized) == []
