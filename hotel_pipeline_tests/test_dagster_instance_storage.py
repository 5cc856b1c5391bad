"""The embedded Dagster instance (``data/dagster_instance.yaml``): SQLite files shared by several processes at once.

``make dev``'s webserver and daemon, the demo and run workers all open the same ``DAGSTER_HOME``; each process keeps
its connections (``hotel_pipeline.core.instance.sqlite_storage``), so these tests write from other processes while
this one already holds its connections open, and read back every event.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as db
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage
from sqlalchemy.pool import NullPool, Pool

from hotel_pipeline.core import settings
from hotel_pipeline.core.instance.sqlite_storage import (
    KeptSqliteEventLogStorage,
    KeptSqliteRunStorage,
    KeptSqliteStorage,
)

EVENTS = 40

#: A writer in its own process: a run of a two-asset job (it prints the run's id), then it follows commands on stdin
#: and keeps its connections open in between: "events" logs EVENTS engine events on the run (and prints "written"),
#: "exit" closes the instance, "crash" ends the process without closing anything (what a killed worker leaves).
WRITER = """
import os, sys
import dagster as dg

@dg.asset(name=sys.argv[1] + "_a")
def a() -> int:
    return 1

@dg.asset(name=sys.argv[1] + "_b", deps=[a])
def b() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"writer": sys.argv[1]})

instance = dg.DagsterInstance.get()
result = dg.materialize([a, b], instance=instance, tags={"writer": sys.argv[1]})
run = instance.get_run_by_id(result.run_id)
print(result.run_id, flush=True)
for line in sys.stdin:
    if line.strip() == "events":
        for i in range(int(sys.argv[2])):
            instance.report_engine_event(f"{sys.argv[1]} event {i}", run)
        print("written", flush=True)
    elif line.strip() == "crash":
        os._exit(0)
    else:
        break
instance.dispose()
"""


@pytest.fixture
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A DAGSTER_HOME set up the way ``make`` does it: the project's dagster.yaml copied in."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((settings.REPO_ROOT / "data" / "dagster_instance.yaml").read_text())
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def _writer(name: str, home: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONWARNINGS": "ignore"}
    return subprocess.Popen([sys.executable, "-c", WRITER, name, str(EVENTS)], stdin=subprocess.PIPE,  # noqa: S603
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)


def _say(proc: subprocess.Popen[str], command: str) -> str:
    """Send one command; the writer's answer line ("" for the commands that end it)."""
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(f"{command}\n")
    proc.stdin.flush()
    if command in ("exit", "crash"):
        assert proc.wait(timeout=60) == 0
        return ""
    return proc.stdout.readline().strip()


def _run_id(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    assert line, f"writer {proc.pid} ended without a run (exit {proc.wait(timeout=60)})"
    return line


@pytest.fixture
def writers() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


def test_the_project_instance_uses_the_kept_storage_in_dagsters_own_layout(dagster_home: Path) -> None:
    with dg.DagsterInstance.get() as instance:
        # What a run worker or the daemon rebuilds from: this storage again, not Dagster's default.
        ref = instance.get_ref().storage_data
        assert ref is not None and (ref.module_name, ref.class_name) == (KeptSqliteStorage.__module__,
                                                                         KeptSqliteStorage.__name__)
        assert isinstance(instance.event_log_storage, KeptSqliteEventLogStorage)
        assert isinstance(instance.run_storage, KeptSqliteRunStorage)
        result = dg.materialize([dg.asset(name="one")(lambda: 1)], instance=instance)
        assert result.success
    # The files Dagster's default storage uses, so an existing DAGSTER_HOME keeps its history.
    assert (dagster_home / "history" / "runs.db").is_file()
    assert (dagster_home / "history" / "runs" / "index.db").is_file()
    assert (dagster_home / "history" / "runs" / f"{result.run_id}.db").is_file()
    ours = _shard_schema(dagster_home, result.run_id)  # before Dagster's classes open (and would mend) the shard
    dagsters_own = DagsterSqliteStorage(str(dagster_home))  # what a dagster.yaml without storage settings opens
    assert dagsters_own.run_storage.has_run(result.run_id)
    assert len(dagsters_own.event_log_storage.get_records_for_run(result.run_id, limit=1000).records) > 5
    assert dagsters_own.event_log_storage.get_asset_records([dg.AssetKey("one")])
    # A run's shard as this storage creates it is the one Dagster creates: same tables, indexes and revision.
    dagsters_run = dagsters_own.run_storage.add_run(dg.DagsterRun(job_name="j", run_id="b" * 36))
    dagsters_own.event_log_storage.store_event(dg.EventLogEntry(
        error_info=None, level="INFO", user_message="hello", run_id=dagsters_run.run_id, timestamp=time.time()))
    assert ours == _shard_schema(dagster_home, dagsters_run.run_id)
    assert ours[1] is not None


def _shard_schema(home: Path, run_id: str) -> tuple[list[tuple[str, str]], str | None]:
    """A run shard's tables and indexes (name, SQL) and its alembic revision."""
    engine = db.create_engine(f"sqlite:///{home / 'history' / 'runs' / f'{run_id}.db'}", poolclass=NullPool)
    with engine.connect() as conn:
        objects = conn.execute(db.text("SELECT name, sql FROM sqlite_master WHERE type IN ('table', 'index') "
                                       "ORDER BY name")).all()
        revision = conn.execute(db.text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    return [(name, sql) for name, sql in objects], revision


def test_a_run_stores_its_events_on_kept_connections(dagster_home: Path) -> None:
    """Dagster's own SQLite storage opens a connection per stored event; this one opens each file once."""
    opened: list[str] = []

    def count(dbapi_connection: object, _record: object) -> None:
        opened.append(dbapi_connection.execute("PRAGMA database_list").fetchone()[2])  # type: ignore[attr-defined]

    with dg.DagsterInstance.get() as instance:
        run = instance.run_storage.add_run(dg.DagsterRun(job_name="j", run_id="a" * 36))
        db.event.listen(Pool, "connect", count)
        try:
            for i in range(EVENTS):
                instance.report_engine_event(f"event {i}", run)
        finally:
            db.event.remove(Pool, "connect", count)
        stored = instance.get_records_for_run(run.run_id, limit=1000).records
        assert len(stored) == EVENTS
        assert len(opened) <= 2, opened  # the run's shard, and runs.db if nothing had opened it yet
        assert any(path.endswith(f"{run.run_id}.db") for path in opened), opened


def test_other_processes_writing_at_once_are_all_read(dagster_home: Path,
                                                      writers: list[subprocess.Popen[str]]) -> None:
    """Two processes run and log at the same time while this one already holds its connections open; this process
    then reads every event of both runs and both runs' materializations from the cross-run index."""
    with dg.DagsterInstance.get() as instance:
        assert instance.get_runs() == []  # opens runs.db and index.db before the writers start
        names = ("left", "right")
        writers.extend(_writer(name, dagster_home) for name in names)
        run_ids = {name: _run_id(proc) for name, proc in zip(names, writers, strict=True)}
        for proc in writers:  # both log at once
            assert proc.stdin is not None
            proc.stdin.write("events\n")
            proc.stdin.flush()
        for proc in writers:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "written"
        for name, run_id in run_ids.items():
            records = instance.get_records_for_run(run_id, limit=10_000).records
            messages = [r.event_log_entry.message for r in records]
            assert [m for m in messages if m.startswith(f"{name} event")] == [f"{name} event {i}"
                                                                               for i in range(EVENTS)]
            assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.SUCCESS  # type: ignore[union-attr]
            latest = instance.get_latest_materialization_event(dg.AssetKey(f"{name}_b"))
            assert latest is not None and latest.run_id == run_id
        assert {r.run_id for r in instance.get_runs()} == set(run_ids.values())
        for proc in writers:
            _say(proc, "exit")


def test_events_of_a_process_that_dies_without_closing_survive(dagster_home: Path,
                                                               writers: list[subprocess.Popen[str]]) -> None:
    """A run worker killed mid-way leaves its commits in the WAL files; the next process reads all of them."""
    writers.append(_writer("killed", dagster_home))
    run_id = _run_id(writers[0])
    assert _say(writers[0], "events") == "written"
    _say(writers[0], "crash")
    assert (dagster_home / "history" / "runs" / f"{run_id}.db-wal").stat().st_size > 0  # not checkpointed
    with dg.DagsterInstance.get() as instance:
        records = instance.get_records_for_run(run_id, limit=10_000).records
        assert sum(r.event_log_entry.message.startswith("killed event") for r in records) == EVENTS
        assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.SUCCESS  # type: ignore[union-attr]


def test_a_watched_run_sees_events_another_process_writes(dagster_home: Path,
                                                          writers: list[subprocess.Popen[str]]) -> None:
    """What the webserver's live run view does: watch a run while another process logs to it, its connections open
    (so the events sit in the shard's WAL file, not yet in the shard's own file)."""
    seen: list[str] = []
    all_seen = threading.Event()

    def on_event(entry: object, _cursor: str) -> None:
        seen.append(entry.message)  # type: ignore[attr-defined]
        if sum(m.startswith("live event") for m in seen) == EVENTS:
            all_seen.set()

    with dg.DagsterInstance.get() as instance:
        writers.append(_writer("live", dagster_home))
        run_id = _run_id(writers[0])
        instance.watch_event_logs(run_id, None, on_event)
        assert _say(writers[0], "events") == "written"
        all_seen.wait(60)
        assert all_seen.is_set(), f"{len(seen)} events seen, the last: {seen[-3:]}"
        _say(writers[0], "exit")


#: Logs to an existing run whose shard nobody has created yet, on a line on stdin (so two start at once).
FIRST_WRITE = """
import sys
import dagster as dg

instance = dg.DagsterInstance.get()
run = instance.get_run_by_id(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
for i in range(int(sys.argv[3])):
    instance.report_engine_event(f"{sys.argv[2]} {i}", run)
instance.dispose()
"""


def test_two_processes_creating_a_runs_shard_at_once_both_store_everything(
        dagster_home: Path, writers: list[subprocess.Popen[str]]) -> None:
    """The steps of a run in their own processes may store the run's first events at the same instant."""
    with dg.DagsterInstance.get() as instance:
        run = instance.run_storage.add_run(dg.DagsterRun(job_name="j", run_id="c" * 36))
        env = {**os.environ, "DAGSTER_HOME": str(dagster_home), "PYTHONWARNINGS": "ignore"}
        for name in ("one", "two"):
            writers.append(subprocess.Popen(  # noqa: S603
                [sys.executable, "-c", FIRST_WRITE, run.run_id, name, str(EVENTS)], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env))
        for proc in writers:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        assert not (dagster_home / "history" / "runs" / f"{run.run_id}.db").exists()
        for proc in writers:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        for proc in writers:
            assert proc.wait(timeout=120) == 0, proc.stderr.read() if proc.stderr else ""
        messages = [r.event_log_entry.message for r in instance.get_records_for_run(run.run_id, limit=1000).records]
        assert sorted(messages) == sorted(f"{name} {i}" for name in ("one", "two") for i in range(EVENTS))
