"""Writes land whole or not at all even when the process is killed; a held DuckDB file is waited for, then named."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest

from hotel_pipeline.core.sql_models import run_model
from hotel_pipeline.core.warehouse import Warehouse, WarehouseBusyError, spec

T = spec("t_durable", [("k", "INTEGER", ""), ("v", "VARCHAR", "")], primary_key=("k",))


def _seed(warehouse: Warehouse) -> pl.DataFrame:
    warehouse.ensure_tables(T)
    with warehouse.transaction() as tx:
        tx.execute("DELETE FROM t_durable")
        tx.insert_frame("t_durable", pl.DataFrame({"k": list(range(1000)), "v": ["before"] * 1000},
                                                  schema=T.polars_schema()))
    return warehouse.read_table("t_durable", order_by="k")


KILLER = textwrap.dedent("""
    import os, signal, sys
    import polars as pl
    from hotel_pipeline.core.warehouse import Warehouse
    w = Warehouse(url=sys.argv[1])
    with w.transaction() as tx:
        tx.execute("DELETE FROM t_durable")
        tx.insert_frame("t_durable", pl.DataFrame({"k": list(range(50000)), "v": ["half"] * 50000},
                                                  schema={"k": pl.Int32, "v": pl.String}))
        tx.execute("UPDATE t_durable SET v = 'torn' WHERE k < 10")
        print("WRITTEN", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # dies inside the transaction, before COMMIT
""")


def test_killed_writer_leaves_previous_state(warehouse: Warehouse) -> None:
    before = _seed(warehouse)
    proc = subprocess.run([sys.executable, "-c", KILLER, warehouse.url], capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert "WRITTEN" in proc.stdout  # the kill came after the writes, in the middle of the transaction
    after = warehouse.read_table("t_durable", order_by="k")
    assert after.equals(before)


MODEL_KILLER = textwrap.dedent("""
    import os, signal, sys, threading
    from hotel_pipeline.core.sql_models import run_model
    from hotel_pipeline.core.warehouse import Warehouse
    w = Warehouse(url=sys.argv[1])
    with w.transaction() as tx:
        run_model(tx, "reservations", {})
        print("WRITTEN", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
""")


def test_killed_model_rebuild_keeps_the_old_table(duckdb_warehouse: Warehouse) -> None:
    """A table model is rebuilt as DELETE + INSERT in one transaction: a kill in between shows the old rows."""
    import datetime as dt

    from hotel_pipeline.unified import accept_reservations

    with duckdb_warehouse.transaction() as tx:
        accept_reservations(tx, pl.DataFrame({"hotel_id": ["H1"], "source": ["csv"], "external_id": ["1"],
                                              "status": ["confirmed"], "nights": [2]}),
                            source_as_of=dt.datetime(2016, 1, 1), synced_at=dt.datetime(2016, 1, 1), batch_id="b")
        run_model(tx, "reservations", {})
    before = duckdb_warehouse.read_table("reservations")
    proc = subprocess.run([sys.executable, "-c", MODEL_KILLER, duckdb_warehouse.url], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == -signal.SIGKILL and "WRITTEN" in proc.stdout, proc.stderr
    assert duckdb_warehouse.read_table("reservations").equals(before)


HOLDER = textwrap.dedent("""
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)   # an analyst's session
    con.execute("SELECT COUNT(*) FROM t_durable").fetchall()
    print("HOLDING", flush=True)
    time.sleep(float(sys.argv[2]))
    con.close()
""")


def _hold(path: Path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "HOLDING"
    return proc


def test_write_waits_for_an_analyst_session(duckdb_warehouse: Warehouse, tmp_path: Path) -> None:
    _seed(duckdb_warehouse)
    holder = _hold(tmp_path / "warehouse.duckdb", 2.0)
    try:
        duckdb_warehouse.execute("UPDATE t_durable SET v = 'after' WHERE k = 1")  # retried until the session ends
    finally:
        holder.wait(timeout=30)
    assert duckdb_warehouse.query("SELECT v FROM t_durable WHERE k = 1")["v"][0] == "after"


def test_lock_held_too_long_names_the_holder(duckdb_warehouse: Warehouse, tmp_path: Path) -> None:
    _seed(duckdb_warehouse)
    impatient = Warehouse(url=duckdb_warehouse.url, busy_timeout_seconds=1.0)
    holder = _hold(tmp_path / "warehouse.duckdb", 30.0)
    try:
        with pytest.raises(WarehouseBusyError) as err:
            impatient.execute("UPDATE t_durable SET v = 'x' WHERE k = 1")
        assert f"PID {holder.pid}" in str(err.value)
        assert "read_only" in str(err.value) or "close that session" in str(err.value)
    finally:
        holder.send_signal(signal.SIGTERM)
        holder.wait(timeout=30)
    assert duckdb_warehouse.query("SELECT v FROM t_durable WHERE k = 1")["v"][0] == "before"


def test_workspace_loads_like_dagster_dev_without_deprecations(tmp_path: Path) -> None:
    """What `dagster dev -w workspace.yaml` loads: the workspace validates, and no deprecated API is in use."""
    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONWARNINGS": "always", "DAGSTER_HOME": str(tmp_path)}
    (tmp_path / "dagster.yaml").write_text((repo / "data" / "dagster_instance.yaml").read_text())
    proc = subprocess.run([str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-w",
                           "workspace.yaml"], capture_output=True, text=True, timeout=300, env=env, cwd=repo)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    assert "Validation successful for code location hotel_pipeline.definitions" in output
    assert "DeprecationWarning" not in output and "is deprecated" not in output, output[-3000:]
    code = ("import warnings; warnings.simplefilter('always'); import hotel_pipeline.definitions as d; "
            "print(len(d.defs.get_repository_def().asset_graph.get_all_asset_keys()))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env, cwd=repo)
    assert proc.returncode == 0 and int(proc.stdout.strip().splitlines()[-1]) >= 13, proc.stderr[-3000:]
    assert "Deprecat" not in proc.stderr, proc.stderr[-3000:]


@pytest.mark.parametrize("first_time", [False, True], ids=["rebuilt", "created"])
def test_concurrent_rewrites_on_postgres_leave_one_copy(postgres_warehouse: Warehouse, tmp_path: Path,
                                                         first_time: bool) -> None:
    """Two runs rebuilding the same table at once (two nightly runs of one date, an extract of one hotel twice), also
    when neither finds the table yet: the second waits for the first to commit, then replaces its rows; both copies
    never stay (under READ COMMITTED a plain DELETE + INSERT keeps both, and a blocking check then fails on
    duplicate keys)."""
    import threading
    import time

    from hotel_pipeline.core.clock import Clock
    from hotel_pipeline.core.portfolio import parse_portfolio
    from hotel_pipeline.core.sql_models import parse_model
    from hotel_pipeline.pacing.hotels import write_hotels

    path = tmp_path / "t_rebuilt.sql"
    path.write_text("-- materialized: table\n-- column k INTEGER: a key\nselect 1 as k union all select 2 as k\n")
    m = parse_model(path)
    portfolio = parse_portfolio({"hotels": [{"id": "H1", "name": "One", "timezone": "UTC", "currency": "EUR",
                                             "capacity": 10}]})
    clock = Clock(frozen_at="2016-07-20T03:00:00+00:00")

    def rewrite(tx) -> None:
        run_model(tx, m)
        write_hotels(tx, portfolio, clock)

    if not first_time:
        with postgres_warehouse.transaction() as tx:
            rewrite(tx)
    first_written, errors = threading.Event(), []

    def first() -> None:
        try:
            with postgres_warehouse.transaction() as tx:
                rewrite(tx)
                first_written.set()
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline and not postgres_warehouse.query(
                        "SELECT 1 AS w FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND datname = current_database() AND pid <> pg_backend_pid()").height:
                    time.sleep(0.02)  # commit only once the second run is waiting on this one
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
            first_written.set()

    def second() -> None:
        first_written.wait(30)
        try:
            with postgres_warehouse.transaction() as tx:
                rewrite(tx)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert postgres_warehouse.query("SELECT k FROM t_rebuilt ORDER BY k")["k"].to_list() == [1, 2]
    assert postgres_warehouse.query("SELECT hotel_id FROM hotels")["hotel_id"].to_list() == ["H1"]
