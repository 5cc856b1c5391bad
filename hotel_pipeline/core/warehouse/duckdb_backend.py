"""DuckDB backend: one file, one writer at a time across processes, short connections, retry on lock conflicts.

DuckDB lets a single process open a database file for writing, and a read-write holder also keeps readers of other
processes out. So every operation opens the file, does its work and closes it; writers additionally serialise on a
file lock next to the database (and a thread lock within the process), and every open retries with backoff while
another process (an analyst's session, another run) holds the file. A transaction that is killed half-way never
commits: DuckDB's write-ahead log replays only committed transactions.
"""

from __future__ import annotations

import contextlib
import random
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import polars as pl
from filelock import FileLock, Timeout

from hotel_pipeline.core.warehouse.errors import WarehouseBusyError

_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
_HOLDER = re.compile(r"held in (?P<exe>.+?) \(PID (?P<pid>\d+)\)")
_thread_locks: dict[str, threading.RLock] = {}
#: How often a run waiting for a held DuckDB file says who holds it.
WAIT_LOG_SECONDS = 10.0
log = dg.get_dagster_logger("hotel_pipeline.warehouse")
_thread_locks_guard = threading.Lock()


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
        self._file_lock = FileLock(str(path) + ".writer.lock", thread_local=False)

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
    def connection(self, write: bool) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived connection; a writing one holds the cross-process writer lock for its whole life."""
        with contextlib.ExitStack() as stack:
            if write:
                stack.enter_context(_thread_lock(str(self.path)))
                try:
                    stack.enter_context(self._file_lock.acquire(timeout=self.busy_timeout_seconds))
                except Timeout as exc:
                    raise WarehouseBusyError(
                        f"another writer held {self._file_lock.lock_file} for {self.busy_timeout_seconds:.0f} s"
                    ) from exc
            con = self._connect()
            try:
                yield con
            finally:
                con.close()

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
