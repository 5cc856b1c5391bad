"""The SQL model runner: one ``dbt_like_sql/<name>.sql`` file = one Dagster asset named ``<name>``.

A model is a portable SELECT (the same text runs on DuckDB and Postgres) under a short comment header::

    -- description: Live per-day board: rooms sold and revenue per hotel and stay date.
    -- materialized: table            (table | view | incremental | append_partition)
    -- unique_key: hotel_id, stay_date   (incremental, append_partition)
    -- group: pacing
    -- depends_on: legacy_csv_import     (assets it needs without ref(), e.g. writers of a shared table)
    -- asset: python                     (optional: a Python asset runs this model itself, no generated asset)
    -- column hotel_id VARCHAR: portfolio hotel id
    select ... from {{ ref('reservations') }} ...

``{{ vocabulary('dinner_plans') }}`` is written as the SQL list of that vocabulary (``('HB', 'FB')``, from
``core.vocabularies.SQL_VOCABULARIES``), so a model tests a meal plan or a status against the one declaration of it.
Dependencies come from the markers, each rendered as the table name ``x``: ``{{ ref('x') }}`` names another model of
the folder, ``{{ source('x') }}`` a table a Python step writes (an asset of its own, see ``hotel_pipeline.defs.tables``);
``depends_on`` adds assets the model needs without reading them. A model that reads a table without a marker is
refused at load (``ModelError``), so the asset graph holds every table a model reads. Bind
parameters are ``:name``; every run gets ``:run_at`` (the clock, naive UTC) and the named spans of
``core.horizons.SQL_CONSTANTS`` (``:horizon_last_day``), so no model spells a horizon as a literal. The table is created with exactly the
header's column types, so both engines hold identical tables. Materialising is one transaction: readers see the old
table or the new one, never half of it. The runner is deliberately small: parsing happens once at load, and a run
is one INSERT ... SELECT plus at most two statements.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

from hotel_pipeline.core import settings
from hotel_pipeline.core.clock import Clock
from hotel_pipeline.core.horizons import SQL_CONSTANTS
from hotel_pipeline.core.vocabularies import SQL_VOCABULARIES
from hotel_pipeline.core.warehouse import WAREHOUSE_POOL, Column, TableSpec, Tx, Warehouse, identifier

MATERIALIZATIONS = {"table", "view", "incremental", "append_partition"}
#: ``{{ ref('x') }}`` or ``{{ source('x') }}``: group 1 is the kind, group 2 the table.
MARKER = re.compile(r"\{\{\s*(ref|source)\(\s*['\"]([A-Za-z_][A-Za-z0-9_]*)['\"]\s*\)\s*\}\}")
_MARKED = "__marked__"
#: ``{{ vocabulary('x') }}``: group 1 is the vocabulary's name in ``SQL_VOCABULARIES``.
VOCABULARY = re.compile(r"\{\{\s*vocabulary\(\s*['\"]([a-z_]+)['\"]\s*\)\s*\}\}")
_BIND = re.compile(r"(?<!:):[A-Za-z_][A-Za-z0-9_]*")
_HEADER = re.compile(r"^--\s*([a-z_]+)\s*:\s*(.*)$")
_COLUMN = re.compile(r"^--\s*column\s+([A-Za-z_][A-Za-z0-9_]*)\s+([A-Z]+)\s*:\s*(.*)$")


class ModelError(ValueError):
    """A model file that the runner cannot use, with the file and the reason."""


@dataclass(frozen=True)
class SqlModel:
    name: str
    path: Path
    description: str
    materialized: str
    group: str
    columns: tuple[Column, ...]
    unique_key: tuple[str, ...]
    refs: tuple[str, ...]
    depends_on: tuple[str, ...]
    #: Tables written by Python steps that the model reads through ``{{ source('x') }}``.
    sources: tuple[str, ...]
    python_asset: bool
    sql: str  # rendered: refs replaced by table names
    #: ``partition_by`` header: the DATE column a Postgres table is range-partitioned by, monthly (empty: none).
    partition_by: str = ""

    @property
    def table(self) -> TableSpec:
        key = self.unique_key if self.materialized in {"incremental", "append_partition"} else ()
        return TableSpec(self.name, self.columns, primary_key=key, doc=self.description,
                         range_partition=self.partition_by)

    @property
    def column_list(self) -> str:
        return ", ".join(c.name for c in self.columns)

    @property
    def deps(self) -> list[str]:
        return sorted(set(self.refs) | set(self.sources) | set(self.depends_on))


def sql_list(values: Iterable[str]) -> str:
    """Values as a parenthesised SQL list of string literals (quotes doubled): ``('HB', 'FB')``."""
    return "(" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + ")"


def render_vocabularies(body: str) -> str:
    """The body with each ``{{ vocabulary('x') }}`` written as the SQL list of that vocabulary, else ``ModelError``."""
    def one(m: re.Match[str]) -> str:
        if m.group(1) not in SQL_VOCABULARIES:
            raise ModelError(f"vocabulary() names no vocabulary: {m.group(1)!r}; one of {sorted(SQL_VOCABULARIES)}")
        return sql_list(SQL_VOCABULARIES[m.group(1)])

    return VOCABULARY.sub(one, body)


def bare_reads(body: str) -> list[str]:
    """Tables the SELECT reads without a ``ref``/``source`` marker (common table expressions are not tables).

    DuckDB's own parser names them (the models' SQL is portable, so it parses the Postgres text too); bind parameters
    are read as NULL for parsing only."""
    marked = MARKER.sub(lambda m: _MARKED + m.group(2), body)
    try:
        names = duckdb.get_table_names(_BIND.sub("NULL", marked))
    except duckdb.Error as exc:
        raise ModelError(f"the SELECT does not parse: {exc}") from exc
    return sorted(n for n in names if not n.startswith(_MARKED))


def parse_model(path: Path) -> SqlModel:
    """Read one model file: header keys, typed columns, refs; the body is checked for a SELECT."""
    text = path.read_text(encoding="utf-8")
    header: dict[str, str] = {}
    columns: list[Column] = []
    body_lines: list[str] = []
    in_header = True
    for line in text.splitlines():
        stripped = line.strip()
        if in_header and stripped.startswith("--"):
            if m := _COLUMN.match(stripped):
                try:
                    columns.append(Column(m.group(1), m.group(2), m.group(3).strip()))
                except ValueError as exc:
                    raise ModelError(f"{path.name}: {exc}") from exc
            elif m := _HEADER.match(stripped):
                header[m.group(1)] = m.group(2).strip()
            continue
        if in_header and not stripped:
            continue
        in_header = False
        body_lines.append(line)
    try:
        body = render_vocabularies("\n".join(body_lines).strip().rstrip(";"))
    except ModelError as exc:
        raise ModelError(f"{path.name}: {exc}") from exc
    name = identifier(path.stem)
    materialized = header.get("materialized", "table")
    if materialized not in MATERIALIZATIONS:
        raise ModelError(f"{path.name}: materialized must be one of {sorted(MATERIALIZATIONS)}, got {materialized!r}")
    if not columns:
        raise ModelError(f"{path.name}: declare every output column with '-- column name TYPE: doc'")
    if not re.match(r"(?is)^\s*(with|select)\b", body):
        raise ModelError(f"{path.name}: the body must be one SELECT (or WITH ... SELECT)")
    try:
        bare = bare_reads(body)
    except ModelError as exc:
        raise ModelError(f"{path.name}: {exc}") from exc
    if bare:
        raise ModelError(f"{path.name}: reads {', '.join(bare)} without a marker; write {{{{ source('name') }}}} for a "
                         f"table a Python step writes or {{{{ ref('name') }}}} for a model, so the asset graph has it")
    split = lambda v: tuple(x.strip() for x in v.split(",") if x.strip())  # noqa: E731
    unique_key = split(header.get("unique_key", ""))
    if materialized in {"incremental", "append_partition"} and not unique_key:
        raise ModelError(f"{path.name}: {materialized} needs a unique_key")
    names = {c.name for c in columns}
    if missing := [k for k in unique_key if k not in names]:
        raise ModelError(f"{path.name}: unique_key names undeclared columns {missing}")
    partition_by = header.get("partition_by", "")
    if partition_by and (partition_by not in unique_key
                         or next(c.type for c in columns if c.name == partition_by) != "DATE"):
        raise ModelError(f"{path.name}: partition_by must name a DATE column of the unique_key, got {partition_by!r}")
    return SqlModel(
        name=name,
        path=path,
        description=header.get("description", ""),
        materialized=materialized,
        group=header.get("group", "models"),
        columns=tuple(columns),
        unique_key=unique_key,
        refs=_marked(body, "ref"),
        depends_on=split(header.get("depends_on", "")),
        sources=_marked(body, "source"),
        python_asset=header.get("asset", "") == "python",
        sql=MARKER.sub(r"\2", body),
        partition_by=partition_by,
    )


def _marked(body: str, kind: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(name for k, name in MARKER.findall(body) if k == kind))


def check_markers(models: Iterable[SqlModel]) -> None:
    """``ref`` names a model of the folder and ``source`` a table that is none, else ``ModelError``.

    Why: a ref to a missing model, or a source that is really a model, would make Dagster invent an empty external
    asset for it and the lineage would lie."""
    by_name = {m.name: m for m in models}
    for m in by_name.values():
        if missing := [r for r in m.refs if r not in by_name]:
            raise ModelError(f"{m.path.name}: ref() names no model of the folder: {missing}; a table a Python step "
                             f"writes is read with source()")
        if models_read := [s for s in m.sources if s in by_name]:
            raise ModelError(f"{m.path.name}: source() names a model: {models_read}; read a model with ref()")


@cache
def load_models(directory: Path = settings.SQL_MODELS_DIR) -> dict[str, SqlModel]:
    """Every model of the folder, by name (parsed once per process); markers checked across the folder."""
    models = {m.name: m for m in (parse_model(p) for p in sorted(directory.glob("*.sql")))}
    check_markers(models.values())
    return models


def model(name: str) -> SqlModel:
    return load_models()[name]


def ensure_model_table(tx: Tx, m: SqlModel, name: str | None = None) -> None:
    """Create the table from the header, or migrate it to the header (columns added, never dropped).

    Only a ``table`` model, which is emptied and refilled on every run, may have a column's type changed in place;
    an incremental or append-only table that disagrees stops the run with a message saying what to run.
    """
    tx.ensure_table(m.table, name=name, rebuildable=m.materialized == "table")


def stage_model(tx: Tx, m: SqlModel, params: dict[str, Any], stage: str | None = None) -> str:
    """Run the model's SELECT into a temporary table (typed by the header) and return its name."""
    stage = stage or f"_stage_{m.name}"
    params = {**SQL_CONSTANTS, **params}
    staging = TableSpec(stage, m.columns)
    ddl = staging.ddl(tx.dialect, if_not_exists=False).replace("CREATE TABLE", "CREATE TEMPORARY TABLE", 1)
    if tx.dialect == "postgres":
        ddl += " ON COMMIT DROP"
    tx.execute(f"DROP TABLE IF EXISTS {stage}")
    tx.execute(ddl)
    tx.execute(f"INSERT INTO {stage} ({m.column_list}) SELECT {m.column_list} FROM ({m.sql}) AS q", params)  # noqa: S608
    if tx.dialect == "postgres":
        tx.execute(f"ANALYZE {stage}")  # the merge into the target joins it: plan with its real size
    return stage


def run_model(tx: Tx, m: SqlModel | str, params: dict[str, Any] | None = None) -> int:
    """Materialise a model inside ``tx`` by its strategy; returns the rows written (or -1 for a view)."""
    m = model(m) if isinstance(m, str) else m
    params = {**SQL_CONSTANTS, **(params or {})}
    cols = m.column_list
    if m.materialized == "view":
        tx.execute(f"DROP VIEW IF EXISTS {m.name}")
        tx.execute(f"CREATE VIEW {m.name} AS SELECT {cols} FROM ({m.sql}) AS q")  # noqa: S608
        return -1
    if m.materialized == "table":
        # A concurrent run's rewrite of the same table must not leave both copies: the rewriter locks it first.
        existed = tx.table_exists(m.name)
        if existed:
            tx.lock_for_rewrite(m.name)
            tx.execute(f"DELETE FROM {m.name}")  # noqa: S608 - emptied first, so a type change applies to no rows
        ensure_model_table(tx, m)
        if not existed:
            # Created here, or by a concurrent run while this one waited on the schema lock: that run's rows are
            # committed now, and replaced rather than doubled.
            tx.lock_for_rewrite(m.name)
            tx.execute(f"DELETE FROM {m.name}")  # noqa: S608
        written = tx.execute(f"INSERT INTO {m.name} ({cols}) SELECT {cols} FROM ({m.sql}) AS q", params)  # noqa: S608
        if tx.dialect == "postgres":
            # Fresh statistics, so the next model's joins over this table get a sane plan within the same run.
            tx.execute(f"ANALYZE {m.name}")
        return written
    ensure_model_table(tx, m)
    if m.materialized == "incremental":
        tx.lock_for_rewrite(m.name)
    stage = stage_model(tx, m, params)
    match = " AND ".join(f"s.{k} = t.{k}" for k in m.unique_key)
    if m.materialized == "incremental":
        tx.execute(f"DELETE FROM {m.name} t WHERE EXISTS (SELECT 1 FROM {stage} s WHERE {match})")  # noqa: S608
        return tx.execute(f"INSERT INTO {m.name} ({cols}) SELECT {cols} FROM {stage}")  # noqa: S608
    # append_partition: rows already present are never touched; only missing keys are added.
    return tx.execute(
        f"INSERT INTO {m.name} ({cols}) SELECT {cols} FROM {stage} s "  # noqa: S608
        f"WHERE NOT EXISTS (SELECT 1 FROM {m.name} t WHERE {match}) ON CONFLICT DO NOTHING"
    )


def row_count(tx: Tx, m: SqlModel) -> int:
    """Rows in the model's table as this transaction leaves it.

    Counted inside the model's own transaction: the figure is exactly what was committed, and on DuckDB a second
    short connection (open + close, about half of a trivial model's overhead) is saved.
    """
    return int(tx.query(f"SELECT COUNT(*) AS n FROM {m.name}")["n"][0])  # noqa: S608 - identifier only


def column_schema(m: SqlModel | TableSpec) -> dg.TableSchema:
    """A model's or a table's columns as Dagster shows them (name, portable type, meaning)."""
    return dg.TableSchema(columns=[dg.TableColumn(c.name, c.type, description=c.doc) for c in m.columns])


def build_model_asset(m: SqlModel) -> dg.AssetsDefinition:
    """A Dagster asset that materialises the model in one transaction and reports its row count."""

    @dg.asset(
        name=m.name,
        description=m.description,
        group_name=m.group,
        deps=[dg.AssetKey(d) for d in m.deps],
        kinds={"sql", "duckdb", "postgres"},
        pool=WAREHOUSE_POOL,
        metadata={
            "dagster/column_schema": column_schema(m),
            "sql_file": dg.MetadataValue.path(str(m.path.relative_to(settings.REPO_ROOT))),
            "materialized": m.materialized,
        },
    )
    def _model_asset(warehouse: Warehouse, clock: Clock) -> dg.MaterializeResult:
        with warehouse.transaction() as tx:
            written = run_model(tx, m, {"run_at": clock.now_naive_utc()})
            rows = row_count(tx, m)
        return dg.MaterializeResult(
            metadata={"dagster/row_count": rows, "rows_written": written, "warehouse": warehouse.dialect}
        )

    return _model_asset


def model_assets(directory: Path = settings.SQL_MODELS_DIR) -> list[dg.AssetsDefinition]:
    """Generated assets for every model that no Python asset owns."""
    return [build_model_asset(m) for m in load_models(directory).values() if not m.python_asset]
