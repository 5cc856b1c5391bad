"""A held DuckDB warehouse is opened once per unit of work (a run, a step, a sensor tick), not once per statement;
other processes wait for it meanwhile, and no pair of waits can deadlock."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from hotel_pipeline.core.warehouse import Warehouse, duckdb_backend
from hotel_pipeline.core.warehouse.resource import duckdb_path
from hotel_pipeline_tests.pipeline_helpers import clock_at


class FileOpens:
    """How often this process really opened ``path``: a ``duckdb.connect`` made while no descriptor of the process
    points at the file (DuckDB keeps one open for as long as its database instance lives)."""

    def __init__(self, path: Path) -> None:
        self.path = str(path.resolve())
        self.count = 0
        self.calls = 0

    def file_is_open(self) -> bool:
        for fd in os.listdir("/proc/self/fd"):
            try:
                if os.readlink(f"/proc/self/fd/{fd}") == self.path:
                    return True
            except OSError:  # a descriptor closed while we looked
                continue
        return False


@contextmanager
def counting_opens(path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FileOpens]:
    opens, real_connect = FileOpens(path), duckdb.connect

    def connect(database: str = ":memory:", *args: object, **kwargs: object) -> duckdb.DuckDBPyConnection:
        if str(Path(database).resolve()) == opens.path:
            opens.calls += 1
            opens.count += not opens.file_is_open()
        return real_connect(database, *args, **kwargs)

    with monkeypatch.context() as mp:
        mp.setattr(duckdb, "connect", connect)
        yield opens


def other_process_can_open(path: Path) -> bool:
    """Whether another process can open the file for writing right now (the pipeline's own kind of open)."""
    proc = subprocess.run([sys.executable, "-c", "import duckdb, sys; duckdb.connect(sys.argv[1]).close()", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 or "lock" in proc.stderr.lower(), proc.stderr
    return proc.returncode == 0


@pytest.fixture
def never_idle(monkeypatch: pytest.MonkeyPatch) -> None:
    """A held file stays open however long the test pauses (starting a process to look at it takes a while)."""
    monkeypatch.setattr(duckdb_backend, "IDLE_RELEASE_SECONDS", 600.0)


def _write(warehouse: Warehouse, value: int) -> None:
    with warehouse.transaction() as tx:
        tx.execute("CREATE TABLE IF NOT EXISTS board (v INTEGER)")
        tx.execute("INSERT INTO board VALUES (:v)", {"v": value})


def test_held_opens_once_reentrantly_and_keeps_other_processes_out(duckdb_warehouse: Warehouse, never_idle: None,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = duckdb_path(duckdb_warehouse.url)
    _write(duckdb_warehouse, 0)
    with counting_opens(path, monkeypatch) as opens:
        with duckdb_warehouse.held():
            assert other_process_can_open(path)  # nothing is opened before the first statement
            for value in range(1, 11):
                _write(duckdb_warehouse, value)
                assert duckdb_warehouse.query("SELECT MAX(v) AS m FROM board")["m"][0] == value
            with duckdb_warehouse.held():  # reentrant: the inner block's end keeps the file open
                assert duckdb_warehouse.table_exists("board")
            assert not other_process_can_open(path)
        assert opens.count == 1 and opens.calls > 20
        assert other_process_can_open(path)  # the last hold's end closed it
        _write(duckdb_warehouse, 11)  # unheld again: every statement opens the file
        assert duckdb_warehouse.query("SELECT COUNT(*) AS n FROM board")["n"][0] == 12
        assert opens.count == 3


def test_holds_from_many_threads_share_one_open(duckdb_warehouse: Warehouse, never_idle: None,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    path = duckdb_path(duckdb_warehouse.url)
    _write(duckdb_warehouse, 0)
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def work(offset: int) -> None:
        try:
            start.wait(30)
            with duckdb_warehouse.held():
                for value in range(offset, offset + 10):
                    _write(duckdb_warehouse, value)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    with counting_opens(path, monkeypatch) as opens, duckdb_warehouse.held():
        _write(duckdb_warehouse, 1)  # (threads opening at the very same moment would each count as an open here)
        threads = [threading.Thread(target=work, args=(100 * i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert errors == []
        assert opens.count == 1
    assert duckdb_warehouse.query("SELECT COUNT(*) AS n FROM board")["n"][0] == 42
    assert other_process_can_open(path)


WRITER = textwrap.dedent("""
    import sys
    from hotel_pipeline.core.warehouse import Warehouse
    w = Warehouse(url=sys.argv[1], busy_timeout_seconds=float(sys.argv[2]))
    print("STARTING", flush=True)
    with w.transaction() as tx:
        tx.execute("INSERT INTO board VALUES (2)")
    print("WRITTEN", flush=True)
""")


def test_a_holder_writing_while_another_process_waits_to_write_never_deadlocks(duckdb_warehouse: Warehouse,
                                                                               never_idle: None) -> None:
    """The other process waits for the file without keeping anything the holder needs: the holder's write goes
    through at once, and the other process writes as soon as the hold ends."""
    _write(duckdb_warehouse, 1)
    with duckdb_warehouse.held():
        assert duckdb_warehouse.query("SELECT COUNT(*) AS n FROM board")["n"][0] == 1  # the file is now held
        other = subprocess.Popen([sys.executable, "-c", WRITER, duckdb_warehouse.url, "20"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert other.stdout is not None and other.stdout.readline().strip() == "STARTING"
            time.sleep(2.0)  # the other process is now inside its write, waiting for the file
            started = time.monotonic()
            _write(duckdb_warehouse, 3)
            took = time.monotonic() - started
        except BaseException:
            other.kill()
            raise
    out, err = other.communicate(timeout=60)
    assert took < 5.0, f"the holder's write waited {took:.1f} s for the other process"
    assert other.returncode == 0 and "WRITTEN" in out, err[-2000:]
    assert sorted(duckdb_warehouse.query("SELECT v FROM board")["v"].to_list()) == [1, 2, 3]


def test_a_holder_waiting_between_statements_lets_the_file_go(duckdb_warehouse: Warehouse,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A unit of work that waits, between statements, for another process that needs the file (in Dagster: a run of
    the in-process executor waiting for the pool slot of another run's step, which waits for the file) lets the file
    go once it has been idle for IDLE_RELEASE_SECONDS: the other process gets in, and the holder goes on after it."""
    path = duckdb_path(duckdb_warehouse.url)
    _write(duckdb_warehouse, 1)
    with counting_opens(path, monkeypatch) as opens, duckdb_warehouse.held():
        _write(duckdb_warehouse, 3)
        other = subprocess.Popen([sys.executable, "-c", WRITER, duckdb_warehouse.url, "10"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out, err = other.communicate(timeout=60)  # the holder waits for the other process, between statements
        assert other.returncode == 0 and "WRITTEN" in out, err[-2000:]
        _write(duckdb_warehouse, 4)  # and carries on: the file is opened again
    assert opens.count == 2
    assert sorted(duckdb_warehouse.query("SELECT v FROM board")["v"].to_list()) == [1, 2, 3, 4]


def test_a_nightly_run_opens_the_file_a_handful_of_times(duckdb_warehouse: Warehouse, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole nightly job (live layer, snapshot, pickup and their blocking checks) on one open of the file: the
    run holds the warehouse from its first statement to its end, then lets go."""
    from hotel_pipeline.core.portfolio import load_portfolio
    from hotel_pipeline.definitions import build_defs
    from hotel_pipeline.sources.csv.importer import import_file
    from hotel_pipeline.workshop.legacy_exports import write_daily_exports

    monkeypatch.setenv("HOTEL_PIPELINE_DATA_DIR", str(tmp_path / "data"))
    day = date(2016, 7, 18)
    for export in write_daily_exports(tmp_path / "data" / "inbox", date(2016, 7, 17), date(2016, 7, 17)):
        import_file(duckdb_warehouse, export, load_portfolio(), clock_at(day, 2))
    job = build_defs(load_portfolio()).resolve_job_def("nightly_pacing_job")
    path = duckdb_path(duckdb_warehouse.url)
    with counting_opens(path, monkeypatch) as opens, dg.instance_for_test() as instance:
        result = job.execute_in_process(instance=instance, partition_key=day.isoformat(),
                                        resources={"warehouse": duckdb_warehouse, "clock": clock_at(day)})
    assert result.success
    assert duckdb_warehouse.query(
        "SELECT COUNT(*) AS n FROM pacing_snapshots WHERE snapshot_date = :d", {"d": day})["n"][0] > 0
    assert opens.calls >= 15  # the run's statements, each on a connection of its own
    assert opens.count <= 3, f"the nightly run opened the file {opens.count} times for {opens.calls} connections"
    assert other_process_can_open(path)


def _step(name: str) -> dg.OpDefinition:
    @dg.op(name=name)
    def write_three_times(warehouse: Warehouse) -> None:
        for n in range(3):
            with warehouse.transaction() as tx:
                tx.execute("INSERT INTO steps VALUES (:pid, :n, :t)", {"pid": os.getpid(), "n": n, "t": time.time()})
            time.sleep(0.1)  # the other step, in its own process, is trying to open the file meanwhile

    return write_three_times


@dg.job(executor_def=dg.multiprocess_executor.configured({"max_concurrent": 2}),
        resource_defs={"warehouse": Warehouse.configure_at_launch()})
def two_steps_at_once() -> None:
    _step("left")()
    _step("right")()


def test_each_step_process_holds_the_file_for_its_step_only(duckdb_warehouse: Warehouse) -> None:
    """Two steps started together in processes of their own (the multiprocess executor): one holds the file for its
    whole step while the other waits, then the other gets it: no interleaved writes, no deadlock, and the file is
    free once the run ends."""
    with duckdb_warehouse.transaction() as tx:
        tx.execute("CREATE TABLE steps (pid INTEGER, n INTEGER, written DOUBLE)")
    config = {"resources": {"warehouse": {"config": {"url": duckdb_warehouse.url, "busy_timeout_seconds": 120}}}}
    with dg.instance_for_test() as instance:
        result = dg.execute_job(dg.reconstructable(two_steps_at_once), instance=instance, run_config=config)
        assert result.success
    rows = duckdb_warehouse.query("SELECT pid FROM steps ORDER BY written")["pid"].to_list()
    assert len(rows) == 6 and len(set(rows)) == 2 and os.getpid() not in rows
    assert rows == [rows[0]] * 3 + [rows[-1]] * 3, f"the steps' writes interleaved: {rows}"
    assert other_process_can_open(duckdb_path(duckdb_warehouse.url))
