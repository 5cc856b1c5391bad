"""Errors of the warehouse that a run reports to its user as they are."""


class WarehouseError(RuntimeError):
    """Something about the warehouse itself (not the data) stopped a read or write."""


class WarehouseBusyError(WarehouseError):
    """The DuckDB file stayed locked by another process past the retry budget; the message names the holder."""
