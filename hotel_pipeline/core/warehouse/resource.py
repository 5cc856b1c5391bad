"""The warehouse resource: one ConfigurableResource, two backends (DuckDB file or Postgres) chosen by URL.

Everything the pipeline reads or writes goes through it, as polars frames and SQL with ``:name`` bind parameters
(never formatted values). Writes happen inside ``transaction()``: they land whole or not at all.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
from pydantic import Field, PrivateAttr

from hotel_pipeline.core import settings
from hotel_pipeline.core.warehouse.duckdb_backend import DuckDBBackend
from hotel_pipeline.core.warehouse.errors import WarehouseError
from hotel_pipeline.core.warehouse.migration import migrate_table
from hotel_pipeline.core.warehouse.postgres_backend import PostgresBackend
from hotel_pipeline.core.warehouse.tables import TableSpec, identifier

Backend = DuckDBBackend | PostgresBackend

#: Dagster concurrency pool of every asset that writes the warehouse (DuckDB allows one writer).
WAREHOUSE_POOL = "warehouse_writes"
#: Advisory lock id (Postgres) under which tables are created.
DDL_LOCK_KEY = 7_311_204_001

#: Tables no statement of this process may rewrite (see ``append_only``).
_APPEND_ONLY: set[str] = set()
#: A statement that may drop or reshape a table (temporary ones, named ``_...``, excepted).
_DDL = re.compile(r"\b(?:DROP|ALTER)\s+(?:TABLE|VIEW)\s+(?:IF\s+EXISTS\s+(?!_)|(?!IF\s)(?!_))", re.IGNORECASE)
_REWRITE = re.compile(r"\b(?:UPDATE|DELETE\s+FROM|TRUNCATE(?:\s+TABLE)?)\s+(?:ONLY\s+)?(?:\w+\.)?(\w+)", re.IGNORECASE)


def append_only(table: str) -> str:
    """Declare ``table`` append-only: any UPDATE, DELETE or TRUNCATE of it through a ``Tx`` raises ``WarehouseError``.

    The database cannot refuse it everywhere (DuckDB has no triggers), so the project refuses it in its own write
    path, whatever code builds the statement; the table's owner adds what the engine offers (triggers, digests).
    """
    _APPEND_ONLY.add(identifier(table))
    return table


def duckdb_path(url: str) -> Path:
    """``duckdb:///data/x.duckdb`` is relative to the repository root; ``duckdb:////abs/x.duckdb`` is absolute."""
    rest = url.removeprefix("duckdb:///")
    path = Path(rest)
    return path if path.is_absolute() else settings.REPO_ROOT / path


def make_backend(url: str, busy_timeout_seconds: float) -> Backend:
    if url.startswith("duckdb:///"):
        return DuckDBBackend(duckdb_path(url), busy_timeout_seconds)
    if url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        return PostgresBackend(url)
    raise ValueError("HOTEL_WAREHOUSE_URL must start with duckdb:/// or postgresql://")


def redact_url(url: str) -> str:
    """The URL without its password, for logs and metadata."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}@{host}"


class Reads:
    """Reads on one open connection: a check that asks several questions opens the warehouse once, not per question
    (on DuckDB every open reads the file's catalogue and, with another process holding the file, waits its turn)."""

    def __init__(self, backend: Backend, con: Any) -> None:
        self.backend = backend
        self.con = con
        self.dialect = backend.dialect

    def query(self, sql: str, params: dict[str, Any] | None = None) -> pl.DataFrame:
        return self.backend.query(self.con, sql, params)

    def table_exists(self, table: str) -> bool:
        return self.backend.table_exists(self.con, table)


class Tx(Reads):
    """One open transaction: every statement and frame written through it commits together."""

    def __init__(self, backend: Backend, con: Any) -> None:
        super().__init__(backend, con)
        #: tables this transaction has already brought to their declared shape (checking again finds nothing to do)
        self._ensured: dict[tuple[str, bool], TableSpec] = {}

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> int:
        if _APPEND_ONLY and (hit := next((t for t in _REWRITE.findall(sql) if t.lower() in _APPEND_ONLY), None)):
            raise WarehouseError(f"{hit} is append-only: the pipeline never updates, deletes or truncates its rows")
        if self._ensured and _DDL.search(sql):
            self._ensured.clear()  # a table may have gone or changed: check again
        return self.backend.execute(self.con, sql, params)

    def insert_frame(self, table: str, frame: pl.DataFrame) -> int:
        return self.backend.insert_frame(self.con, identifier(table), frame)

    def table_columns(self, table: str) -> dict[str, str]:
        """Column name -> the engine's type name, in table order; empty when the table does not exist."""
        return self.backend.table_columns(self.con, table)

    def ensure_table(self, spec: TableSpec, name: str | None = None, rebuildable: bool = False) -> None:
        """Create the table if it is missing, else add the declared columns it lacks; never drops it.

        Safe when several runs create it at the same moment. See ``migration`` for what is refused and why. Checked
        once per transaction and spec (a write path that ensures its tables per hotel asks the catalog once).
        """
        key = (name or spec.name, rebuildable)
        if self._ensured.get(key) is spec:
            return
        migrate_table(self, spec, name=name, rebuildable=rebuildable)
        self._ensured[key] = spec

    def lock_ddl(self) -> None:
        """Serialise schema changes until this transaction ends.

        Postgres' CREATE TABLE IF NOT EXISTS is not safe against a concurrent identical CREATE (the catalog's unique
        index fails the second one), so first-time creation takes a transaction-scoped advisory lock; steady-state
        writes never reach it. DuckDB writers are already serialised by the writer lock.
        """
        if self.dialect == "postgres":
            self.execute("SELECT pg_advisory_xact_lock(:key)", {"key": DDL_LOCK_KEY})

    def lock_for_rewrite(self, table: str) -> None:
        """Hold off every other writer of ``table`` until this transaction ends, readers never.

        A rewrite (DELETE then INSERT of the same keys) by two concurrent runs on Postgres would otherwise keep both
        runs' rows: under READ COMMITTED the second DELETE waits for the first run's commit, then deletes only the
        rows its snapshot saw, never the ones just inserted. SHARE ROW EXCLUSIVE conflicts with itself and with
        writes, not with SELECT, so analysts keep reading the committed table while a run rebuilds it. Take it before
        the transaction writes the table. DuckDB writers are already serialised by the writer lock.
        """
        if self.dialect == "postgres" and self.table_exists(table):
            self.execute(f"LOCK TABLE {identifier(table)} IN SHARE ROW EXCLUSIVE MODE")

    def temp_table(self, name: str, frame: pl.DataFrame, spec: TableSpec | None = None) -> str:
        """A temporary table holding ``frame`` for this transaction's joins (dropped at commit on Postgres)."""
        from hotel_pipeline.core.warehouse.tables import Column, portable_type

        spec = spec or TableSpec(name, tuple(Column(c, portable_type(t)) for c, t in frame.schema.items()))
        ddl = spec.ddl(self.dialect, name=name, if_not_exists=False)
        temp = ddl.replace("CREATE TABLE", "CREATE TEMPORARY TABLE", 1)
        if self.dialect == "postgres":
            temp += " ON COMMIT DROP"
        self.execute(f"DROP TABLE IF EXISTS {identifier(name)}")
        self.execute(temp)
        self.insert_frame(name, frame)
        if self.dialect == "postgres":
            # A temporary table has no statistics: without them the planner takes it for one row and joins it to
            # a big table by nested loop (minutes on a loaded warehouse). Analysing it costs milliseconds.
            self.execute(f"ANALYZE {identifier(name)}")
        return name


class Warehouse(dg.ConfigurableResource):
    """The DuckDB or Postgres warehouse named by ``HOTEL_WAREHOUSE_URL``."""

    url: str = Field(default_factory=settings.warehouse_url, description="duckdb:///path or postgresql://...")
    busy_timeout_seconds: float = Field(
        default=120.0, description="How long to wait for a DuckDB file held by another process before failing."
    )
    _backend: Backend | None = PrivateAttr(default=None)

    @cached_property
    def _cached_backend(self) -> Backend:
        return make_backend(self.url, self.busy_timeout_seconds)

    @property
    def backend(self) -> Backend:
        return self._cached_backend

    @property
    def dialect(self) -> str:
        return self.backend.dialect

    @property
    def display_url(self) -> str:
        return redact_url(self.url)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Keep a DuckDB warehouse open for this process until the block ends (reentrant, thread-safe; nothing on
        Postgres, whose engine already pools its connections per process).

        Every ``transaction``, ``reading`` and ``query`` inside still has its own connection, but none of them reloads
        the file's catalogue or checkpoints it: a nightly run opens the file at most 3 times instead of 19.
        Meanwhile no other process (a sensor in the code server, an analyst on the pipeline's own file) can open it:
        they wait, naming this process, until the block ends or the block makes no statement for a second (the file
        is let go and the next statement opens it again). So hold it for a bounded unit of work, never for a
        process's life.
        """
        with self.backend.hold():
            yield

    @contextlib.contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[Warehouse]:
        """Dagster's unit of work holds the warehouse (``held``): the whole run on the in-process executor, each
        step in its own process on the multiprocess and Celery executors, each sensor or schedule tick."""
        del context  # the unit is the resource's own life; nothing from the context is needed
        with self.held():
            yield self

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Tx]:
        """All-or-nothing: commits when the block ends, rolls back on any exception (or a killed process)."""
        with self.backend.connection(write=True) as con:
            self.backend.begin(con)
            try:
                yield Tx(self.backend, con)
            except BaseException:
                self.backend.rollback(con)
                raise
            self.backend.commit(con)

    @contextlib.contextmanager
    def reading(self) -> Iterator[Reads]:
        """One short read connection for several queries (no writer lock, no transaction of ours)."""
        with self.backend.connection(write=False) as con:
            yield Reads(self.backend, con)

    def query(self, sql: str, params: dict[str, Any] | None = None) -> pl.DataFrame:
        with self.reading() as reads:
            return reads.query(sql, params)

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> int:
        with self.transaction() as tx:
            return tx.execute(sql, params)

    def table_exists(self, table: str) -> bool:
        with self.reading() as reads:
            return reads.table_exists(table)

    def read_table(self, table: str, order_by: str | None = None) -> pl.DataFrame:
        """A whole table (ordered, for comparisons), or an empty frame if it does not exist yet."""
        with self.reading() as reads:
            if not reads.table_exists(table):
                return pl.DataFrame()
            order = f" ORDER BY {order_by}" if order_by else ""
            return reads.query(f"SELECT * FROM {identifier(table)}{order}")  # noqa: S608 - identifier only

    def row_counts(self, tables: list[str]) -> dict[str, int]:
        """Rows of each of ``tables`` (0 while one does not exist yet), in that order, over one read connection
        (a DuckDB open is not free)."""
        if not tables:
            return {}
        with self.reading() as reads:
            return {t: int(reads.query(f"SELECT COUNT(*) AS n FROM {identifier(t)}")["n"][0])  # noqa: S608 - identifier
                    if reads.table_exists(t) else 0 for t in tables}

    def ensure_tables(self, *specs: TableSpec) -> None:
        with self.transaction() as tx:
            for spec in specs:
                tx.ensure_table(spec)
