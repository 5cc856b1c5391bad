"""Retention: room-level detail and names go a configurable number of days after departure; aggregates stay.

Per hotel (``retention_days`` in the portfolio, default 90) and its business date T, the cut-off is T - days:
room nights and per-night board of stays that departed before it, restaurant bookings dated before it, and the
encrypted names of guests with no stay or restaurant booking on or after it are purged (keys destroyed; no
tombstone, so a returning guest is stored again). Daily aggregates (daily_metrics, pacing_snapshots,
residents_daily) are never touched. Every run logs what it purged per table in ``retention_log``; a second run the
same day purges nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from hotel_pipeline.core.clock import Clock
from hotel_pipeline.core.portfolio import Portfolio
from hotel_pipeline.core.warehouse import Tx, Warehouse, spec
from hotel_pipeline.privacy.vault import shred

RETENTION_LOG = spec(
    "retention_log",
    [
        ("run_at", "TIMESTAMP", "when the purge ran (clock, UTC)"),
        ("hotel_id", "VARCHAR", "portfolio hotel id"),
        ("cutoff_date", "DATE", "detail of stays departed (or restaurant bookings dated) before this date was purged"),
        ("table_name", "VARCHAR", "what was purged"),
        ("rows_purged", "INTEGER", "rows (or guest records) purged"),
        ("requested_by", "VARCHAR", "schedule run id or user"),
    ],
    doc="What each retention run purged, per hotel and table.",
    grain="(run_at, hotel_id, table_name)",
)

#: (table, SQL deleting one hotel's rows older than the cut-off)
PURGES = [
    ("room_nights", "DELETE FROM room_nights WHERE hotel_id = :h AND departure_date < :cutoff"),
    ("night_meals", "DELETE FROM night_meals WHERE hotel_id = :h AND stay_date < :cutoff"),
    ("restaurant_booking_records",
     "DELETE FROM restaurant_booking_records WHERE hotel_id = :h AND booking_date < :cutoff"),
]


def _expired_guests(tx: Tx, hotel_id: str, cutoff) -> list[str]:
    if not tx.table_exists("guest_vault"):
        return []
    conditions = []
    if tx.table_exists("reservations"):
        conditions.append("NOT EXISTS (SELECT 1 FROM reservations r WHERE r.guest_token = v.guest_token "
                          "AND r.departure_date >= :cutoff)")
    if tx.table_exists("restaurant_booking_records"):
        conditions.append("NOT EXISTS (SELECT 1 FROM restaurant_booking_records b WHERE b.guest_token = v.guest_token "
                          "AND b.booking_date >= :cutoff)")
    where = " AND ".join(["v.hotel_id = :h", *conditions])
    return tx.query(f"SELECT v.guest_token FROM guest_vault v WHERE {where}",  # noqa: S608 - constant text
                    {"h": hotel_id, "cutoff": cutoff})["guest_token"].to_list()


def purge_expired(warehouse: Warehouse, portfolio: Portfolio, clock: Clock, requested_by: str) -> pl.DataFrame:
    """Purge every hotel's expired detail in one transaction; returns the ``retention_log`` rows written."""
    now: datetime = clock.now_naive_utc()
    rows = []
    with warehouse.transaction() as tx:
        for hotel in portfolio.hotels:
            cutoff = clock.business_date(hotel.timezone) - timedelta(days=hotel.retention_days)
            for table, sql in PURGES:
                purged = tx.execute(sql, {"h": hotel.id, "cutoff": cutoff}) if tx.table_exists(table) else 0
                rows.append({"table_name": table, "rows_purged": purged, "hotel_id": hotel.id, "cutoff_date": cutoff})
            names = shred(tx, _expired_guests(tx, hotel.id, cutoff), now, tombstone=False)
            rows.append({"table_name": "guest_vault", "rows_purged": names, "hotel_id": hotel.id,
                         "cutoff_date": cutoff})
        log = RETENTION_LOG.conform(pl.DataFrame(rows, infer_schema_length=None).with_columns(
            pl.lit(now).alias("run_at"), pl.lit(requested_by).alias("requested_by")))
        tx.ensure_table(RETENTION_LOG)
        tx.insert_frame("retention_log", log)
    return log
