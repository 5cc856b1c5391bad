"""Hard rules of the unified model ``reservations`` (contract: one row per (source, hotel_id, external_id)).

The contract is made from the table's declaration in ``hotel_pipeline.core.reservation_table``: columns, types,
nullability, per-column rules and the rules that span columns are all declared there.
"""

from __future__ import annotations

from hotel_pipeline.core import reservation_table
from hotel_pipeline.core.schemas.from_table import contract

KEY = list(reservation_table.KEY)

Reservations = contract(
    reservation_table.RESERVATIONS, "Reservations",
    "The newest accepted version of every reservation; a failure blocks the nights, the live board and pickup.")
