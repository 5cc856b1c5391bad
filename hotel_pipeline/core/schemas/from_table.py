"""A table's pandera contract, made from its declaration, so columns, types, nullability and rules cannot drift.

The declaration is the table's ``TableSpec``: one field per column (nullable as declared, with the column's
``rules``), the key held unique, and one frame-wide check per ``FrameCheck``. Types are coerced and extra columns
allowed because the two engines return slightly different integer widths and a query may add a helper column.

A nullable column without rules is optional: the contract asks nothing of it but its type, so a frame may lack it
(the transition engine's events before the store stamps ``processed_at``, a query that selects fewer columns). The
table itself always has every column: it is created from the same declaration.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Optional

import pandera.polars as pa
import polars as pl

from hotel_pipeline.core.warehouse.tables import FrameCheck, TableSpec

#: Portable column type -> the Python type a pandera polars model annotates it with.
PANDERA_TYPES: dict[str, type] = {
    "VARCHAR": str, "INTEGER": int, "BIGINT": int, "DOUBLE": float, "DATE": date, "TIMESTAMP": datetime,
    "BOOLEAN": bool,
}


def _frame_check(check: FrameCheck) -> Any:
    def rule(cls: type, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(check.expr.alias("ok"))

    rule.__name__ = rule.__qualname__ = check.name
    rule.__doc__ = check.doc
    return pa.dataframe_check(name=check.name)(rule)


def contract(table: TableSpec, name: str, doc: str = "") -> type[pa.DataFrameModel]:
    """The ``DataFrameModel`` named ``name`` that holds ``table``'s data contract (``doc``: what a failure blocks)."""
    config = type("Config", (), {"coerce": True, "strict": False,
                                 **({"unique": list(table.contract_key)} if table.contract_key else {})})
    namespace: dict[str, Any] = {
        "__annotations__": {c.name: PANDERA_TYPES[c.type] if c.rules or not c.nullable
                            else Optional[PANDERA_TYPES[c.type]] for c in table.columns},  # noqa: UP045
        "__module__": __name__,
        "__doc__": doc or table.doc,
        "Config": config,
        **{c.name: pa.Field(nullable=c.nullable, **c.rules) for c in table.columns},
        **{check.name: _frame_check(check) for check in table.checks},
    }
    return type(name, (pa.DataFrameModel,), namespace)
