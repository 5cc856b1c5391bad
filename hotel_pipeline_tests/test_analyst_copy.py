"""Analysts read their own copy: a long read-only session on it never holds up a run, and a run that must wait for
the pipeline's own file says who holds it while it waits."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from hotel_pipeline.core.warehouse import Warehouse, WarehouseBusyError
from hotel_pipeline.core.warehouse.analyst_copy import analyst_path, publish_analyst_copy
from hotel_pipeline.core.warehouse.resource import duckdb_path
from hotel_pipeline.defs.warehouse.definitions import analyst_copy_sensor


def _write(warehouse: Warehouse, value: int) -> None:
    with warehouse.transaction() as tx:
        tx.execute("CREATE TABLE IF NOT EXISTS board (v INTEGER)")
        tx.execute("INSERT INTO board VALUES (:v)", {"v": value})


def test_a_long_analyst_session_on_the_copy_never_blocks_a_write(duckdb_warehouse: Warehouse) -> None:
    _write(duckdb_warehouse, 1)
    copy = publish_analyst_copy(duckdb_warehouse)
    assert copy == analyst_path(duckdb_path(duckdb_warehouse.url)) and copy.name == "warehouse.analyst.duckdb"
    # An analyst in another process keeps the copy open for the whole test.
    analyst = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=True); "
         "print(c.execute('select count(*) from board').fetchone()[0], flush=True); time.sleep(60)", str(copy)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert analyst.stdout.readline().strip() == "1"
        quick = Warehouse(url=duckdb_warehouse.url, busy_timeout_seconds=2)
        _write(quick, 2)  # the pipeline's own file is free: no wait at all
        second = publish_analyst_copy(quick)  # and the copy is swapped under the open session
        with duckdb.connect(str(second), read_only=True) as con:
            assert con.execute("select count(*) from board").fetchone()[0] == 2
        assert analyst.poll() is None  # the analyst's session is undisturbed
    finally:
        analyst.kill()
        analyst.wait()


def test_a_run_waiting_for_the_file_names_the_holder_while_it_waits(duckdb_warehouse: Warehouse,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    _write(duckdb_warehouse, 1)
    path = duckdb_path(duckdb_warehouse.url)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('open', flush=True); "
         "time.sleep(60)", str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        waiting = Warehouse(url=duckdb_warehouse.url, busy_timeout_seconds=1.5)
        with caplog.at_level(logging.WARNING), pytest.raises(WarehouseBusyError, match=f"PID {holder.pid}"):
            _write(waiting, 2)
        warned = [r.getMessage() for r in caplog.records if "waiting for the DuckDB warehouse" in r.getMessage()]
        assert warned and f"PID {holder.pid}" in warned[0] and "giving up in" in warned[0]
    finally:
        holder.kill()
        holder.wait()


def test_the_sensor_publishes_after_a_successful_run(duckdb_warehouse: Warehouse) -> None:
    _write(duckdb_warehouse, 7)
    with dg.instance_for_test() as instance:
        result = dg.materialize([_noop], instance=instance)
        with dg.build_run_status_sensor_context(
            sensor_name="analyst_copy_sensor", dagster_instance=instance, dagster_run=result.dagster_run,
            dagster_event=result.get_run_success_event(), resources={"warehouse": duckdb_warehouse},
        ) as context:
            analyst_copy_sensor(context)
    copy = analyst_path(duckdb_path(duckdb_warehouse.url))
    with duckdb.connect(str(copy), read_only=True) as con:
        assert con.execute("select v from board").fetchall() == [(7,)]
    assert not [p for p in os.listdir(copy.parent) if p.endswith(".tmp")]


@dg.asset
def _noop() -> None:
    time.sleep(0)


def test_postgres_has_nothing_to_publish(postgres_warehouse: Warehouse) -> None:
    assert publish_analyst_copy(postgres_warehouse) is None
    assert Path(".").exists()
