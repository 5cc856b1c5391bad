"""The ``hotel_policies`` table: each hotel's guest display policy and retention, as the portfolio says."""

import polars as pl

from hotel_pipeline.core.portfolio import Portfolio
from hotel_pipeline.core.warehouse import Tx, spec

HOTEL_POLICIES = spec(
    "hotel_policies",
    [
        ("hotel_id", "VARCHAR", "portfolio hotel id"),
        ("guest_display", "VARCHAR", "what a residents list may show of a name: none, initials, surname or full"),
        ("retention_days", "INTEGER", "days after departure room-level detail and names are kept"),
    ],
    primary_key=("hotel_id",),
    doc="Per hotel: the guest display policy and the retention of room-level detail (from the portfolio).",
    grain="hotel_id",
)


def write_policies(tx: Tx, portfolio: Portfolio) -> int:
    """Replace ``hotel_policies`` with the portfolio's (inside the caller's transaction)."""
    tx.ensure_table(HOTEL_POLICIES)
    tx.lock_for_rewrite("hotel_policies")
    tx.execute("DELETE FROM hotel_policies")
    return tx.insert_frame("hotel_policies", HOTEL_POLICIES.conform(pl.DataFrame(
        [{"hotel_id": h.id, "guest_display": h.guest_display, "retention_days": h.retention_days}
         for h in portfolio.hotels])))
