"""Declared table shapes: one portable column type vocabulary for DuckDB and Postgres.

Tables that the pipeline writes from Python are declared here with explicit types (so both engines hold identical
columns); tables built by SQL models declare theirs in the model header (see ``hotel_pipeline.core.sql_models``).
A ``TableSpec`` also carries the table's data contract: per-column rules (``Column.rules``, pandera ``Field``
keywords such as ``ge`` or ``isin``), the key the contract holds unique and the rules that span columns
(``FrameCheck``). ``hotel_pipeline.core.schemas.from_table.contract`` makes the pandera model from it, so columns,
types, docs and contract of a table have one declaration.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import polars as pl

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

#: Portable type name -> (DuckDB, Postgres) spelling.
TYPES = {
    "VARCHAR": ("VARCHAR", "TEXT"),
    "INTEGER": ("INTEGER", "INTEGER"),
    "BIGINT": ("BIGINT", "BIGINT"),
    "DOUBLE": ("DOUBLE", "DOUBLE PRECISION"),
    "DATE": ("DATE", "DATE"),
    "TIMESTAMP": ("TIMESTAMP", "TIMESTAMP"),
    "BOOLEAN": ("BOOLEAN", "BOOLEAN"),
}

POLARS_TYPES = {
    "VARCHAR": pl.String,
    "INTEGER": pl.Int32,
    "BIGINT": pl.Int64,
    "DOUBLE": pl.Float64,
    "DATE": pl.Date,
    "TIMESTAMP": pl.Datetime("us"),
    "BOOLEAN": pl.Boolean,
}


def identifier(name: str) -> str:
    """Validate a table or column name before it is written into SQL text (values always go as bind parameters)."""
    if not IDENTIFIER.match(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return name


def portable_type(dtype: pl.DataType) -> str:
    """The portable column type that holds a polars dtype (for temporary tables made from frames)."""
    if dtype == pl.String or dtype == pl.Null or dtype == pl.Categorical:
        return "VARCHAR"
    if dtype in (pl.Int8, pl.Int16, pl.Int32, pl.UInt8, pl.UInt16):
        return "INTEGER"
    if dtype.is_integer():
        return "BIGINT"
    if dtype.is_float():
        return "DOUBLE"
    if dtype == pl.Date:
        return "DATE"
    if isinstance(dtype, pl.Datetime):
        return "TIMESTAMP"
    if dtype == pl.Boolean:
        return "BOOLEAN"
    raise TypeError(f"no warehouse column type for polars dtype {dtype}")


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    doc: str = ""
    nullable: bool = True
    #: The contract's rules for the column: pandera ``Field`` keywords (``{"ge": 0}``, ``{"isin": [...]}``).
    rules: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        identifier(self.name)
        if self.type not in TYPES:
            raise ValueError(f"column {self.name}: unknown type {self.type!r}; use one of {sorted(TYPES)}")
        object.__setattr__(self, "rules", MappingProxyType(dict(self.rules)))


@dataclass(frozen=True)
class FrameCheck:
    """A contract rule that spans columns or rows: ``expr`` is true for every row that keeps it."""

    name: str
    #: Why the rule holds (shown with a failure).
    doc: str
    expr: pl.Expr = field(compare=False, hash=False)

    @property
    def columns(self) -> list[str]:
        """The columns the rule reads."""
        return self.expr.meta.root_names()


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    doc: str = ""
    grain: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    #: Postgres only: the DATE column the table is range-partitioned by, one partition per month (empty: none).
    #: DuckDB has no declarative partitions; its zone maps over the insertion order do that work there.
    range_partition: str = ""
    #: The columns the contract holds unique together (empty: the primary key, if any).
    unique: tuple[str, ...] = ()
    #: The contract's rules across columns and rows, beyond each column's own.
    checks: tuple[FrameCheck, ...] = ()

    def __post_init__(self) -> None:
        named = {*self.unique, *(n for check in self.checks for n in check.columns)}
        if unknown := sorted(named - set(self.column_names)):
            raise ValueError(f"{self.name}: the contract names columns the table does not declare: {unknown}")

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def ddl(self, dialect: str, name: str | None = None, if_not_exists: bool = True) -> str:
        index = 0 if dialect == "duckdb" else 1
        cols = [
            f"{c.name} {TYPES[c.type][index]}{'' if c.nullable else ' NOT NULL'}" for c in self.columns
        ]
        if self.primary_key:
            cols.append(f"PRIMARY KEY ({', '.join(self.primary_key)})")
        exists = "IF NOT EXISTS " if if_not_exists else ""
        partitioned = f" PARTITION BY RANGE ({identifier(self.range_partition)})" if (
            self.range_partition and dialect == "postgres" and name in (None, self.name)) else ""
        return f"CREATE TABLE {exists}{identifier(name or self.name)} ({', '.join(cols)}){partitioned}"

    @property
    def contract_key(self) -> tuple[str, ...]:
        """The columns whose values identify a row, as the contract checks them."""
        return self.unique or self.primary_key

    def with_contract(self, not_null: tuple[str, ...] = (), rules: Mapping[str, Mapping[str, Any]] | None = None,
                      unique: tuple[str, ...] = (), checks: tuple[FrameCheck, ...] = ()) -> TableSpec:
        """This table with a contract: ``not_null`` columns, per-column ``rules``, a ``unique`` key and ``checks``.

        Why a copy: a SQL model declares its columns in its header; the contract adds to that declaration, never
        repeats it. A rule for a column the table does not have is refused here, not at the first validation.
        """
        rules = dict(rules or {})
        if unknown := sorted({*not_null, *rules} - set(self.column_names)):
            raise ValueError(f"{self.name}: the contract names columns the table does not declare: {unknown}")
        columns = tuple(replace(c, nullable=c.nullable and c.name not in not_null,
                                rules={**c.rules, **rules.get(c.name, {})}) for c in self.columns)
        return replace(self, columns=columns, unique=unique or self.unique, checks=(*self.checks, *checks))

    def polars_schema(self) -> dict[str, pl.DataType]:
        return {c.name: POLARS_TYPES[c.type] for c in self.columns}

    def conform(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The frame's columns in table order, cast to the table's types (missing nullable columns become null)."""
        exprs = []
        for c in self.columns:
            dtype = POLARS_TYPES[c.type]
            if c.name in frame.columns:
                exprs.append(pl.col(c.name).cast(dtype))
            else:
                exprs.append(pl.lit(None, dtype=dtype).alias(c.name))
        return frame.select(exprs)


def spec(name: str, columns: list[tuple[str, str, str]], primary_key: tuple[str, ...] = (), doc: str = "",
         grain: str = "", not_null: tuple[str, ...] = (), rules: Mapping[str, Mapping[str, Any]] | None = None,
         checks: tuple[FrameCheck, ...] = ()) -> TableSpec:
    """Shorthand: ``columns`` as (name, type, doc) triples; ``rules`` and ``checks`` as in ``with_contract``."""
    rules = rules or {}
    if unknown := sorted(set(rules) - {n for n, _, _ in columns}):
        raise ValueError(f"{name}: rules for columns the table does not declare: {unknown}")
    return TableSpec(
        name=name,
        columns=tuple(Column(n, t, d, nullable=n not in not_null and n not in primary_key, rules=rules.get(n, {}))
                      for n, t, d in columns),
        primary_key=primary_key,
        doc=doc,
        grain=grain,
        checks=checks,
    )
