"""DuckDB backend: one file, one writing process at a time, short connections, retry on lock conflicts.

DuckDB lets a single process open a database file for writing, and a read-write holder also keeps readers of other
processes out: the file's own lock is the cross-process writer lock. So every operation opens a connection, does
its work and closes it; every open retries with backoff while another process (an analyst's session, another run)
holds the file, and writers of one process take turns on a thread lock, taken only once the file is open. A
transaction that is killed half-way never commits: DuckDB's write-ahead log replays only committed transactions.

Opening the file costs a catalogue load (~20 ms for the demo's 100 MB warehouse) and the last close of it a
checkpoint. ``hold`` keeps the process's database instance open for a unit of work (a Dagster run, step or sensor
tick), so its connections cost next to nothing; other processes wait for the file until the unit ends, as they wait
for a write.
"""

from __future__ import annotations

import contextlib
import random
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import polars as pl

from hotel_pipeline.core.warehouse.errors import WarehouseBusyError

_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
_HOLDER = re.compile(r"held in (?P<exe>.+?) \(PID (?P<pid>\d+)\)")
_thread_locks: dict[str, threading.RLock] = {}
#: How often a run waiting for a held DuckDB file says who holds it.
WAIT_LOG_SECONDS = 10.0
log = dg.get_dagster_logger("hotel_pipeline.warehouse")
_thread_locks_guard = threading.Lock()


#: A held file that no connection of the process has used for this long is let go until the next statement: a unit
#: of work waiting between statements for something outside (a Dagster pool slot, a vendor's API, another process)
#: must not keep out a process that may be what it waits for. Longer than the pauses between a step's statements.
IDLE_RELEASE_SECONDS = 1.0


@dataclass
class _Anchor:
    """A process's hold on one file: how many ``hold`` blocks are open, the connection that keeps the database
    instance alive (opened by the first connection made under the hold), and how many connections use it now."""

    holds: int = 0
    con: duckdb.DuckDBPyConnection | None = None
    open: int = 0
    idle_since: float = 0.0
    timer: threading.Timer | None = None

    def arm(self, seconds: float) -> None:
        """Let the file go after ``seconds`` unless a connection uses it by then (one timer at a time)."""
        self.timer = threading.Timer(seconds, _release_if_idle, args=(self,))
        self.timer.daemon = True
        self.timer.start()


#: Held files by path, under one guard. A connection is opened under it only while another connection to the same
#: file is open (so it is cheap and never waits).
_anchors: dict[str, _Anchor] = {}
_anchors_guard = threading.Lock()


def _release_if_idle(anchor: _Anchor) -> None:
    with _anchors_guard:
        anchor.timer = None
        if anchor.con is None or anchor.open:
            return
        left = anchor.idle_since + IDLE_RELEASE_SECONDS - time.monotonic()
        if left > 0:  # used again since the timer was armed: wait for the rest of the new idle period
            anchor.arm(left)
            return
        con, anchor.con = anchor.con, None
    con.close()


def to_duckdb_params(sql: str) -> str:
    """Named parameters are written ``:name`` in the project's SQL; DuckDB spells them ``$name``."""
    return _PARAM.sub(r"$\1", sql)


def _bind(sql: str, params: dict[str, Any] | None) -> tuple[str, dict[str, Any] | None]:
    """DuckDB refuses parameters a statement does not use, so pass only the ones it names."""
    used = set(_PARAM.findall(sql))
    return to_duckdb_params(sql), ({k: v for k, v in (params or {}).items() if k in used} or None)


def describe_holder(message: str) -> str:
    """Who holds the file, from DuckDB's lock error (``... held in /usr/bin/python3 (PID 123)``), with its command line."""
    match = _HOLDER.search(message)
    if not match:
        return "another process (DuckDB did not name it)"
    pid = match.group("pid")
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        cmdline = match.group("exe")
    return f"PID {pid} ({cmdline[:200]})"


def _thread_lock(path: str) -> threading.RLock:
    with _thread_locks_guard:
        return _thread_locks.setdefault(path, threading.RLock())


class DuckDBBackend:
    dialect = "duckdb"

    def __init__(self, path: Path, busy_timeout_seconds: float) -> None:
        self.path = path
        self.busy_timeout_seconds = busy_timeout_seconds
        path.parent.mkdir(parents=True, exist_ok=True)

    def _connect(self) -> duckdb.DuckDBPyConnection:
        """Open the file, retrying with exponential backoff and jitter while another process holds it.

        While it waits it says so, naming the holder, at once and then every ``WAIT_LOG_SECONDS``: whoever watches
        the run sees who to ask to close their session before the budget runs out, not only afterwards.
        """
        deadline = time.monotonic() + self.busy_timeout_seconds
        delay = 0.02
        next_log = time.monotonic()
        while True:
            try:
                return duckdb.connect(str(self.path))
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower():
                    raise
                if time.monotonic() >= deadline:
                    raise WarehouseBusyError(
                        f"the DuckDB warehouse {self.path} stayed locked for {self.busy_timeout_seconds:.0f} s by "
                        f"{describe_holder(str(exc))}; close that session (analysts: open it with read_only=True "
                        "only while querying, or use the analyst copy) or raise busy_timeout_seconds"
                    ) from exc
                if time.monotonic() >= next_log:
                    left = deadline - time.monotonic()
                    log.warning(f"waiting for the DuckDB warehouse {self.path}: held by {describe_holder(str(exc))}; "
                                f"giving up in {left:.0f} s")
                    next_log = time.monotonic() + WAIT_LOG_SECONDS
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 1.0)

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Keep this process's database instance open until the block ends (reentrant, from any thread).

        Connections made meanwhile share the open instance: no catalogue load per open, no checkpoint per close.
        Nothing opens until the first connection does, and that one waits its turn like any other; the instance
        closes (and checkpoints) when the last hold ends, or after ``IDLE_RELEASE_SECONDS`` without a connection
        (the next one opens it again). Other processes cannot open the file while it is open.
        """
        key = str(self.path)
        with _anchors_guard:
            anchor = _anchors.setdefault(key, _Anchor())
            anchor.holds += 1
        try:
            yield
        finally:
            with _anchors_guard:
                anchor.holds -= 1
                con = None
                if anchor.holds == 0:  # from here on no other thread can reach this anchor
                    del _anchors[key]
                    if anchor.timer is not None:
                        anchor.timer.cancel()
                    con, anchor.con = anchor.con, None
            if con is not None:
                con.close()

    def _enter(self) -> _Anchor | None:
        """A connection is open: under a hold, count it, and keep the instance alive with the hold's own connection
        (opened here by the first connection; with one open, this ``duckdb.connect`` is cheap and never waits)."""
        with _anchors_guard:
            anchor = _anchors.get(str(self.path))
            if anchor is not None:
                anchor.open += 1
                if anchor.con is None:
                    anchor.con = duckdb.connect(str(self.path))
            return anchor

    @staticmethod
    def _leave(anchor: _Anchor | None) -> None:
        """The connection counted by ``_enter`` closed: the last one starts the idle clock."""
        if anchor is None:
            return
        with _anchors_guard:
            anchor.open -= 1
            if anchor.open == 0 and anchor.con is not None:
                anchor.idle_since = time.monotonic()
                if anchor.timer is None:
                    anchor.arm(IDLE_RELEASE_SECONDS)

    @contextlib.contextmanager
    def connection(self, write: bool) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived connection; a writing one also holds this process's writer turn for its whole life.

        The file is opened first and the writer turn taken second, never the other way round: a process waiting for
        the file then holds nothing another process waits for, so a process that holds the file (a write, or a
        ``hold``) and asks for the writer turn only ever waits for its own threads. No wait can close a cycle.
        """
        con = self._connect()
        anchor = None
        try:
            anchor = self._enter()
            with _thread_lock(str(self.path)) if write else contextlib.nullcontext():
                yield con
        finally:
            con.close()
            self._leave(anchor)

    # -- statements -------------------------------------------------------------------------------------------
    @staticmethod
    def query(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None) -> pl.DataFrame:
        text, bound = _bind(sql, params)
        return con.sql(text, params=bound).pl()

    @staticmethod
    def execute(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None) -> int:
        text, bound = _bind(sql, params)
        result = con.execute(text, bound or {}).fetchall()
        # DuckDB answers DML with one row holding the affected count.
        if result and len(result) == 1 and len(result[0]) == 1 and isinstance(result[0][0], int):
            return int(result[0][0])
        return -1

    @staticmethod
    def insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> int:
        name = f"__frame_{threading.get_ident()}"
        con.register(name, frame)
        try:
            cols = ", ".join(frame.columns)
            con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {name}")  # noqa: S608 - identifiers only
        finally:
            con.unregister(name)
        return frame.height

    @staticmethod
    def begin(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("BEGIN TRANSACTION")

    @staticmethod
    def commit(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("COMMIT")

    @staticmethod
    def rollback(con: duckdb.DuckDBPyConnection) -> None:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")

    @staticmethod
    def table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
        rows = con.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = 'main' AND table_name = $t", {"t": table}
        ).fetchall()
        return bool(rows)

    @staticmethod
    def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
        """Column name -> information_schema data type, in table order (empty when the table does not exist)."""
        rows = con.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'main' "
            "AND table_name = $t ORDER BY ordinal_position", {"t": table}
        ).fetchall()
        return {str(n): str(t) for n, t in rows}
