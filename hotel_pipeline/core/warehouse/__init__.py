"""The warehouse: one resource, DuckDB or Postgres, polars in and out, bind parameters, atomic writes."""

from hotel_pipeline.core.warehouse.errors import WarehouseBusyError, WarehouseError
from hotel_pipeline.core.warehouse.migration import SchemaMismatch
from hotel_pipeline.core.warehouse.resource import WAREHOUSE_POOL, Reads, Tx, Warehouse, append_only, redact_url
from hotel_pipeline.core.warehouse.tables import Column, FrameCheck, TableSpec, identifier, spec

__all__ = [
    "WAREHOUSE_POOL", "Column", "FrameCheck", "Reads", "SchemaMismatch", "TableSpec", "Tx", "Warehouse",
    "WarehouseBusyError", "WarehouseError", "append_only", "identifier", "redact_url", "spec",
]
