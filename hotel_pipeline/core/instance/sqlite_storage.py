"""Dagster's embedded SQLite storage, with each process keeping its connection to each database file.

Dagster's own SQLite storages open a new SQLAlchemy engine (no pool) for every call: every stored event creates an
engine, connects, commits with a full fsync and closes again, and closing the last connection of a WAL database
checkpoints it, a second round of writes and fsyncs. A nightly run stores about ninety events, so the bookkeeping
cost more than the pipeline's own work on the embedded default. These classes keep the same files and schema (a
``DAGSTER_HOME`` written by Dagster's classes reads the same with these and back) and change only how they connect:

* one engine per database file per process, its connection kept open between calls, so an event is one insert and
  one commit;
* ``PRAGMA synchronous=NORMAL`` under WAL, SQLite's recommended setting for WAL: a commit is in the WAL file before
  the call returns, so a crash of any Dagster process loses nothing; only a crash of the operating system or a
  power cut can lose the last commits of Dagster's bookkeeping (runs and events, never warehouse data), and the
  database stays consistent either way;
* the webserver's live view of a run polls the run's shard (as Dagster does on Postgres) rather than watching the
  shard's file, which new events reach only at a checkpoint.

Other processes (``make dev``'s webserver and daemon, run workers) read and write the same files at the same time as
before: WAL allows one writer and many readers across processes, and a kept connection holds no transaction between
calls, so it neither hides other processes' commits nor holds up their checkpoints.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as db
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from dagster._core.event_api import EventHandlerFn
from dagster._core.storage.base_storage import DagsterStorage
from dagster._core.storage.event_log.base import EventLogCursor, EventLogStorage
from dagster._core.storage.event_log.polling_event_watcher import SqlPollingEventWatcher
from dagster._core.storage.event_log.schema import SqlEventLogStorageMetadata
from dagster._core.storage.event_log.sqlite import sqlite_event_log
from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME, SqliteEventLogStorage
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage
from dagster._core.storage.schedules.sqlite.sqlite_schedule_storage import SqliteScheduleStorage
from dagster._core.storage.sql import get_alembic_config
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.sqlite_storage import (
    DagsterSqliteStorage,
    _event_logs_directory,
    _runs_directory,
    _schedule_directory,
)
from dagster._serdes import ConfigurableClassData
from sqlalchemy.engine import Connection, Engine

#: Run shards whose connection a process keeps besides the index shard's: a run worker writes one shard, the
#: webserver reads a handful at a time; the least recently used one beyond these is closed.
KEPT_RUN_SHARDS = 8


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    """WAL from the first statement, and commits that reach the WAL without an fsync each (see the module's docstring
    for what that trades).

    Dagster switches a new shard to WAL only after creating its tables, so the two dozen tables and indexes of every
    new run's shard were each a commit of the rollback journal, two fsyncs apiece; a database already in WAL (every
    one Dagster made) stays as it is.
    """
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def kept_engine(url: str) -> Engine:
    """An engine on one SQLite file that keeps one connection open between calls (more only while threads overlap).

    SQLAlchemy pools file-based SQLite with a QueuePool whose connections may move between threads; the busy timeout
    is Dagster's own, so writers from several processes queue for the WAL's write lock as they did before.
    """
    engine = db.create_engine(url, pool_size=1, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
    db.event.listen(engine, "connect", _on_connect)
    return engine


@functools.cache
def _event_log_scripts() -> ScriptDirectory:
    """Dagster's alembic scripts for the event log, parsed once (ScriptDirectory keeps its revision map)."""
    return ScriptDirectory.from_config(get_alembic_config(sqlite_event_log.__file__))


class _KeptEngines:
    """The engines of one storage by database URL, for this process only: a forked child starts with none."""

    def __init__(self, keep: int) -> None:
        self._keep = keep
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._pinned: dict[str, Engine] = {}
        self._pid = os.getpid()
        self._lock = threading.Lock()

    def get(self, url: str, *, pinned: bool = False) -> Engine:
        """The kept engine for ``url`` (created on first use)."""
        with self._lock:
            if os.getpid() != self._pid:  # forked: the parent's connections are the parent's, never close them here
                for engine in (*self._engines.values(), *self._pinned.values()):
                    engine.dispose(close=False)
                self._engines.clear()
                self._pinned.clear()
                self._pid = os.getpid()
            kept = self._pinned if pinned else self._engines
            engine = kept.get(url)
            if engine is not None:
                if not pinned:
                    self._engines.move_to_end(url)
                return engine
            engine = kept[url] = kept_engine(url)
            while len(self._engines) > self._keep:
                self._engines.popitem(last=False)[1].dispose()
            return engine

    def dispose(self) -> None:
        """Close every kept connection (a closed last connection also checkpoints its WAL into the database)."""
        with self._lock:
            for engine in (*self._engines.values(), *self._pinned.values()):
                engine.dispose()
            self._engines.clear()
            self._pinned.clear()


class KeptSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's run-sharded SQLite event log (``<run_id>.db`` per run, ``index.db`` across runs), connections kept.

    Configured like Dagster's class (``base_dir``); ``KeptSqliteStorage`` builds it for ``storage: custom``.
    """

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        self._kept = _KeptEngines(KEPT_RUN_SHARDS)
        self._polling: SqlPollingEventWatcher | None = None
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None,  # type: ignore[override]
                          config_value: dict[str, str]) -> KeptSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        """Dagster's ``_connect`` (one transaction under the storage's lock), on the shard's kept engine."""
        with self._db_lock:
            engine = self._kept.get(self.conn_string_for_shard(shard), pinned=shard == INDEX_SHARD_NAME)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def _initdb(self, engine: Engine, for_index_shard: bool = False) -> None:
        """Dagster's, with Dagster's migration scripts read once per process rather than twice per new run's shard.

        Dagster checks a shard's schema revision against the head of its alembic scripts, then stamps a new shard
        with that head, each time parsing every migration script again (most of the cost of a run's first event).
        A new or stamped run shard is handled here alike; the index shard, an unstamped old shard and a shard two
        processes create at once (its tables already there, the database locked) go to Dagster's own code.
        """
        if not for_index_shard:
            try:
                with engine.connect() as conn:
                    if MigrationContext.configure(conn).get_current_revision() is not None:
                        return
                    if not db.inspect(conn).get_table_names():
                        SqlEventLogStorageMetadata.create_all(conn)
                        MigrationContext.configure(conn).stamp(_event_log_scripts(), "head")
                        conn.commit()
                        return
            except (db.exc.DatabaseError, sqlite3.DatabaseError):
                pass
        super()._initdb(engine, for_index_shard=for_index_shard)

    def wipe(self) -> None:
        """Close the kept connections first: ``wipe`` deletes the run shards' files under them."""
        with self._db_lock:
            self._kept.dispose()
        super().wipe()

    def watch(self, run_id: str, cursor: str | None, callback: EventHandlerFn) -> None:
        """Dagster's polling watch (its Postgres storage's) instead of its file watch on ``<run_id>.db``.

        That file changed on every event while each event closed its connection (the checkpoint on close wrote it);
        with kept connections new events land in the shard's WAL file, and a change of that file can be seen before
        the commit that made it is (SQLite publishes a commit in the shared-memory index after writing the WAL).
        """
        if cursor and EventLogCursor.parse(cursor).is_offset_cursor():
            raise ValueError("watch needs a storage-id cursor, not an offset cursor")
        with self._db_lock:
            if self._polling is None:
                self._polling = SqlPollingEventWatcher(self)
        self._polling.watch_run(run_id, cursor, callback)

    def end_watch(self, run_id: str, handler: EventHandlerFn) -> None:
        if self._polling is not None:
            self._polling.unwatch_run(run_id, handler)

    def dispose(self) -> None:
        if self._polling is not None:
            self._polling.close()
            self._polling = None
        super().dispose()
        self._kept.dispose()


class KeptSqliteRunStorage(SqliteRunStorage):
    """Dagster's SQLite run storage (``history/runs.db``) on one kept engine per process."""

    def __init__(self, conn_string: str, inst_data: ConfigurableClassData | None = None) -> None:
        self._kept = _KeptEngines(1)
        super().__init__(conn_string, inst_data)

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None,  # type: ignore[override]
                          config_value: dict[str, str]) -> KeptSqliteRunStorage:
        return cls.from_local(inst_data=inst_data, **config_value)

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        engine = self._kept.get(self._conn_string, pinned=True)
        with engine.connect() as conn, conn.begin():
            yield conn

    def dispose(self) -> None:
        super().dispose()
        self._kept.dispose()


class KeptSqliteStorage(DagsterSqliteStorage):
    """Dagster's default SQLite storage under ``base_dir`` (the same files), with kept connections for runs and events.

    ``data/dagster_instance.yaml`` configures it as ``storage: custom`` with ``base_dir: {env: DAGSTER_HOME}``, the
    directory Dagster's default uses; schedules and sensor ticks stay on Dagster's own class (a few writes a minute).
    """

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        # Dagster's __init__ would build its own storages first; this one builds the kept ones in their place.
        self.base_dir = base_dir
        self._run_storage = KeptSqliteRunStorage.from_local(_runs_directory(base_dir))
        self._event_log_storage: EventLogStorage = KeptSqliteEventLogStorage(_event_logs_directory(base_dir))
        self._schedule_storage = SqliteScheduleStorage.from_local(_schedule_directory(base_dir))
        self._inst_data = inst_data
        DagsterStorage.__init__(self)

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData, config_value: Any) -> KeptSqliteStorage:
        return cls.from_local(inst_data=inst_data, **config_value)
