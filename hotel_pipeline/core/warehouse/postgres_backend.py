"""Postgres backend (sqlalchemy + psycopg 3): MVCC transactions, frames loaded with COPY inside the transaction."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import polars as pl
import sqlalchemy as sa

_engines: dict[str, sa.Engine] = {}
_engines_guard = threading.Lock()


def sqlalchemy_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` mean psycopg 3 here."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    raise ValueError(f"not a postgres URL: {url.split('@')[-1]}")


def engine_for(url: str) -> sa.Engine:
    with _engines_guard:
        if url not in _engines:
            _engines[url] = sa.create_engine(sqlalchemy_url(url), pool_pre_ping=True, pool_size=2, max_overflow=4)
        return _engines[url]


def frame_from_result(result: sa.CursorResult) -> pl.DataFrame:
    columns = list(result.keys())
    rows = result.fetchall()
    if not rows:
        return pl.DataFrame({c: [] for c in columns})
    return pl.DataFrame([tuple(r) for r in rows], schema=columns, orient="row", infer_schema_length=None)


class PostgresBackend:
    dialect = "postgres"

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = engine_for(url)

    @staticmethod
    def hold() -> contextlib.nullcontext[None]:
        """Nothing to hold: the process's engine (``engine_for``) already keeps its connections pooled."""
        return contextlib.nullcontext()

    @contextlib.contextmanager
    def connection(self, write: bool) -> Iterator[sa.Connection]:
        del write  # MVCC: writers and readers need no lock of ours
        with self.engine.connect() as con:
            yield con

    @staticmethod
    def query(con: sa.Connection, sql: str, params: dict[str, Any] | None) -> pl.DataFrame:
        return frame_from_result(con.execute(sa.text(sql), params or {}))

    @staticmethod
    def execute(con: sa.Connection, sql: str, params: dict[str, Any] | None) -> int:
        return con.execute(sa.text(sql), params or {}).rowcount

    @staticmethod
    def insert_frame(con: sa.Connection, table: str, frame: pl.DataFrame) -> int:
        if frame.height == 0:
            return 0
        payload = frame.write_csv(
            include_header=False, null_value="\\N", quote_style="non_numeric",
            datetime_format="%Y-%m-%d %H:%M:%S%.f", date_format="%Y-%m-%d",
        )
        cols = ", ".join(frame.columns)
        raw = con.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN (FORMAT csv, NULL '\\N')") as copy:
            copy.write(payload.encode("utf-8"))
        return frame.height

    @staticmethod
    def begin(con: sa.Connection) -> None:
        con.begin()

    @staticmethod
    def commit(con: sa.Connection) -> None:
        con.commit()

    @staticmethod
    def rollback(con: sa.Connection) -> None:
        con.rollback()

    @staticmethod
    def table_exists(con: sa.Connection, table: str) -> bool:
        rows = con.execute(
            sa.text("SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = :t"),
            {"t": table},
        ).fetchall()
        return bool(rows)

    @staticmethod
    def table_columns(con: sa.Connection, table: str) -> dict[str, str]:
        """Column name -> information_schema data type, in table order (empty when the table does not exist)."""
        rows = con.execute(
            sa.text("SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() "
                    "AND table_name = :t ORDER BY ordinal_position"),
            {"t": table},
        ).fetchall()
        return {str(n): str(t) for n, t in rows}
