"""Bring an existing table to its declared shape without ever dropping it.

A table may be older than the code that writes it (an upgrade added a column to a model header) or wider than
declared (an analyst added a column of their own). Neither is a reason to lose rows, and a historian that is dropped
and recreated is history lost for good. So the rule, on both engines:

- a declared column the table lacks is added (``ALTER TABLE ... ADD COLUMN``; existing rows hold null there);
- a column the table has but the declaration does not is left alone (every write names its columns);
- a declared column whose type differs is changed in place only where the table is rebuilt from scratch anyway
  (``rebuildable``: a ``table`` model, emptied before it is refilled); anywhere else the run stops with
  ``SchemaMismatch``, whose message names the column and the statement an operator can run;
- a declared NOT NULL or key column that is missing cannot be added to rows that exist: ``SchemaMismatch`` too.
"""

from __future__ import annotations

from typing import Protocol

from hotel_pipeline.core.warehouse.errors import WarehouseError
from hotel_pipeline.core.warehouse.tables import TYPES, TableSpec, identifier

#: information_schema ``data_type`` (lower case) -> portable type, for both engines.
_PORTABLE = {
    "varchar": "VARCHAR", "text": "VARCHAR", "character varying": "VARCHAR",
    "integer": "INTEGER", "int": "INTEGER", "int4": "INTEGER",
    "bigint": "BIGINT", "int8": "BIGINT",
    "double": "DOUBLE", "double precision": "DOUBLE", "float8": "DOUBLE",
    "date": "DATE",
    "timestamp": "TIMESTAMP", "timestamp without time zone": "TIMESTAMP",
    "boolean": "BOOLEAN", "bool": "BOOLEAN",
}


class SchemaMismatch(WarehouseError):
    """A table's columns differ from its declaration in a way that cannot be migrated without losing data."""


class _Tx(Protocol):
    dialect: str

    def execute(self, sql: str, params: dict | None = None) -> int: ...
    def table_columns(self, table: str) -> dict[str, str]: ...
    def lock_ddl(self) -> None: ...


def portable(data_type: str) -> str:
    """The portable type of an information_schema type name (unknown ones are returned upper-cased)."""
    return _PORTABLE.get(data_type.strip().lower(), data_type.strip().upper())


def migrate_table(tx: _Tx, spec: TableSpec, name: str | None = None, rebuildable: bool = False) -> list[str]:
    """Create ``spec``'s table if missing, else migrate it as the module says; returns the DDL statements run."""
    table = identifier(name or spec.name)
    existing = tx.table_columns(table)
    if not existing:
        tx.lock_ddl()
        ddl = spec.ddl(tx.dialect, name=table)
        tx.execute(ddl)
        return [ddl]
    index = 0 if tx.dialect == "duckdb" else 1
    statements: list[str] = []
    problems: list[str] = []
    for column in spec.columns:
        have = existing.get(column.name)
        want = TYPES[column.type][index]
        if have is None:
            if not column.nullable or column.name in spec.primary_key:
                problems.append(
                    f"column {column.name} ({column.type} NOT NULL) is missing and existing rows have no value for it; "
                    f"add it with a value yourself, e.g. ALTER TABLE {table} ADD COLUMN {column.name} {want} "
                    f"DEFAULT <value> NOT NULL"
                )
                continue
            statements.append(f"ALTER TABLE {table} ADD COLUMN {column.name} {want}")
        elif portable(have) != column.type:
            if rebuildable:
                statements.append(_alter_type(tx.dialect, table, column.name, want))
            else:
                problems.append(
                    f"column {column.name} is {portable(have)} in the warehouse but declared {column.type}; this table "
                    f"keeps data, so it is not rebuilt: convert it yourself, e.g. "
                    f"{_alter_type(tx.dialect, table, column.name, want)}"
                )
    if problems:
        raise SchemaMismatch(f"table {table} cannot be migrated without losing data: " + "; ".join(problems))
    if statements:
        tx.lock_ddl()
        for statement in statements:
            tx.execute(statement)
    return statements


def _alter_type(dialect: str, table: str, column: str, sql_type: str) -> str:
    if dialect == "postgres":
        return f"ALTER TABLE {table} ALTER COLUMN {column} TYPE {sql_type} USING CAST({column} AS {sql_type})"
    return f"ALTER TABLE {table} ALTER COLUMN {column} TYPE {sql_type}"
