"""A pandera contract built from a table's declaration, so its columns, types and nullability cannot drift from it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import pandera.polars as pa

from hotel_pipeline.core.warehouse.tables import TableSpec

#: Portable column type -> the Python type a pandera polars model annotates it with.
PANDERA_TYPES: dict[str, type] = {
    "VARCHAR": str, "INTEGER": int, "BIGINT": int, "DOUBLE": float, "DATE": date, "TIMESTAMP": datetime,
    "BOOLEAN": bool,
}


def model_from_table(name: str, table: TableSpec, rules: Mapping[str, Mapping[str, Any]],
                     rules_base: type[pa.DataFrameModel]) -> type[pa.DataFrameModel]:
    """A ``DataFrameModel`` named ``name``: one field per column of ``table`` (nullable as declared, with ``rules``),
    and the ``Config`` and cross-column checks of ``rules_base``, which declares no columns of its own."""
    namespace: dict[str, Any] = {
        "__annotations__": {c.name: PANDERA_TYPES[c.type] for c in table.columns},
        "__module__": rules_base.__module__,
        "__doc__": rules_base.__doc__,
    }
    for c in table.columns:
        namespace[c.name] = pa.Field(nullable=c.nullable, **rules.get(c.name, {}))
    return type(name, (rules_base,), namespace)
