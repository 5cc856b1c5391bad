"""Where a table is described more than once, the descriptions must say the same: this lists where they do not.

A table's shape has one declaration, a ``TableSpec``: written in Python (with its contract's rules), or read from a
SQL model's header with the rules added (``TableSpec.with_contract``). Three things repeat it and could drift: a SQL
header whose columns are declared in Python (``reservations.sql`` repeats ``core.reservation_table``, because a SQL
file cannot import), a pandera contract, and the data dictionary (docs/warehouse.md). ``disagreements`` compares
them column by column (name, order, type, meaning); a test holds it to none.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import pandera.polars as pa

from hotel_pipeline.core.sql_models import SqlModel
from hotel_pipeline.core.warehouse import Column, TableSpec

#: Portable type -> how the polars dtype a pandera model checks is spelled, by family (engines differ in int width).
_FAMILIES = {"VARCHAR": ("String",), "INTEGER": ("Int",), "BIGINT": ("Int",), "DOUBLE": ("Float",),
             "DATE": ("Date",), "TIMESTAMP": ("Datetime",), "BOOLEAN": ("Boolean",)}
_ROW = re.compile(r"^\| `([A-Za-z_][A-Za-z0-9_]*)` \| ([A-Z]+) \| (.*) \|$")


def _triples(columns: Sequence[Column]) -> list[tuple[str, str, str]]:
    return [(c.name, c.type, c.doc) for c in columns]


def compare_columns(what: str, got: Sequence[tuple[str, str, str]], want: Sequence[tuple[str, str, str]]) -> list[str]:
    """Each column ``got`` lacks, adds, or declares differently (type, meaning, position) against ``want``."""
    problems = []
    got_by, want_by = {c[0]: c for c in got}, {c[0]: c for c in want}
    problems += [f"{what}: column {n} is missing" for n in want_by if n not in got_by]
    problems += [f"{what}: column {n} is not declared" for n in got_by if n not in want_by]
    for name, type_, doc in want:
        if name in got_by and got_by[name][1] != type_:
            problems.append(f"{what}: column {name} is {got_by[name][1]}, declared {type_}")
        if name in got_by and got_by[name][2] != doc:
            problems.append(f"{what}: column {name} means {got_by[name][2]!r}, declared {doc!r}")
    if not problems and [c[0] for c in got] != [c[0] for c in want]:
        problems.append(f"{what}: columns in another order than declared")
    return problems


def header_disagreements(model: SqlModel, table: TableSpec) -> list[str]:
    """The model's header against the Python declaration of its columns."""
    return compare_columns(f"{model.path.name} header vs {table.name} spec", _triples(model.columns),
                           _triples(table.columns))


def contract_disagreements(table: str, contract: type[pa.DataFrameModel], columns: Sequence[Column]) -> list[str]:
    """A pandera contract's columns that the table does not declare, or declares with another type."""
    declared = {c.name: c.type for c in columns}
    problems = []
    for name, column in contract.to_schema().columns.items():
        if name not in declared:
            problems.append(f"{table} contract {contract.__name__}: column {name} is not declared by the table")
        elif not str(column.dtype).startswith(_FAMILIES[declared[name]]):
            problems.append(f"{table} contract {contract.__name__}: column {name} is checked as {column.dtype}, "
                            f"declared {declared[name]}")
    return problems


def dictionary_columns(doc_text: str, table: str) -> list[tuple[str, str, str]]:
    """The column rows of ``table``'s section of the data dictionary (empty when it has no section)."""
    _, found, rest = doc_text.partition(f"### `{table}`\n")
    if not found:
        return []
    section = rest.split("\n### ", 1)[0].split("\n## ", 1)[0]
    return [(m.group(1), m.group(2), m.group(3)) for line in section.splitlines() if (m := _ROW.match(line))]


def dictionary_disagreements(doc_text: str, table: str, columns: Sequence[Column]) -> list[str]:
    """The data dictionary's section of ``table`` against the declaration (``|`` is written ``/`` there)."""
    want = [(n, t, d.replace("|", "/")) for n, t, d in _triples(columns)]
    return compare_columns(f"docs/warehouse.md {table}", dictionary_columns(doc_text, table), want)


def disagreements(models: Mapping[str, SqlModel], specs: Mapping[str, TableSpec], doc_text: str,
                  contracts: Mapping[str, type[pa.DataFrameModel]]) -> list[str]:
    """Every disagreement between headers, specs, contracts and the dictionary.

    A spec named like a model must say what the model's header says; the dictionary and the contracts are held to
    the model where there is one (its header is what the table is created from), else to the spec."""
    declared: dict[str, Sequence[Column]] = {**{n: s.columns for n, s in specs.items()},
                                             **{n: m.columns for n, m in models.items()}}
    problems = [p for name, table in specs.items() if name in models for p in header_disagreements(models[name], table)]
    for table, contract in contracts.items():
        if table not in declared:
            problems.append(f"{table} contract {contract.__name__}: no table of that name is declared")
        else:
            problems += contract_disagreements(table, contract, declared[table])
    for name, columns in declared.items():
        problems += dictionary_disagreements(doc_text, name, columns)
    return problems
