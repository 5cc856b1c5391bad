"""The warehouse resource behaves the same on both engines: types, bind parameters, atomic transactions."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from hotel_pipeline.core.warehouse import Warehouse, spec

T = spec("t_basic", [("a", "VARCHAR", ""), ("b", "INTEGER", ""), ("d", "DATE", ""), ("x", "DOUBLE", "")],
         primary_key=("a",))


def test_roundtrip_and_bind_parameters(warehouse: Warehouse) -> None:
    warehouse.ensure_tables(T)
    frame = T.conform(pl.DataFrame({"a": ["x", 'y,"q', "", "it's"], "b": [1, None, 3, 4],
                                    "d": [dt.date(2016, 1, 1)] * 4, "x": [1.5, None, 2.0, 3.0]}))
    with warehouse.transaction() as tx:
        assert tx.insert_frame("t_basic", frame) == 4
    # A value that would break formatted SQL goes through untouched as a parameter.
    got = warehouse.query("SELECT a, b FROM t_basic WHERE a = :a", {"a": "it's"})
    assert got.rows() == [("it's", 4)]
    back = warehouse.read_table("t_basic", order_by="a")
    assert back["a"].to_list() == ["", "it's", "x", 'y,"q']
    assert back["x"].to_list() == [2.0, 3.0, 1.5, None]


def test_failed_transaction_leaves_previous_state(warehouse: Warehouse) -> None:
    warehouse.ensure_tables(T)
    warehouse.execute("INSERT INTO t_basic (a, b) VALUES (:a, :b)", {"a": "keep", "b": 1})
    with pytest.raises(RuntimeError), warehouse.transaction() as tx:
        tx.execute("DELETE FROM t_basic")
        tx.execute("INSERT INTO t_basic (a, b) VALUES (:a, :b)", {"a": "half", "b": 2})
        raise RuntimeError("crash in the middle of a write")
    assert warehouse.read_table("t_basic")["a"].to_list() == ["keep"]


def test_data_dictionary_is_in_step_with_the_code() -> None:
    """docs/warehouse.md lists every table exactly as declared; regenerate with python -m hotel_pipeline.core.warehouse_docs."""
    from hotel_pipeline.core.warehouse_docs import DOC, updated

    text = DOC.read_text(encoding="utf-8")
    assert updated(text) == text
    for table in ("reservations", "daily_metrics", "pacing_snapshots", "snapshot_log", "pickup", "quarantine",
                  "integration_status", "slot_events", "venue_metrics", "market_metrics", "alert_events",
                  "alert_funnel"):
        assert f"### `{table}`" in text


def test_a_table_is_read_on_one_connection(warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whether the table exists and its rows come from one open of the warehouse: on DuckDB every open reads the
    file's catalogue (and waits while another process holds the file), and the checks read several tables a night."""
    from hotel_pipeline.pacing.reads import read_table

    warehouse.ensure_tables(T)
    warehouse.execute("INSERT INTO t_basic (a, b) VALUES (:a, :b)", {"a": "one", "b": 1})
    backend = warehouse.backend
    opened = []
    real = backend.connection

    def counting(write: bool):
        opened.append(write)
        return real(write)

    monkeypatch.setattr(backend, "connection", counting)
    assert warehouse.read_table("t_basic")["a"].to_list() == ["one"]
    assert read_table(warehouse, "t_basic")["a"].to_list() == ["one"]
    assert read_table(warehouse, "t_missing") is None
    assert opened == [False, False, False]
