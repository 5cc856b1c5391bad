"""The residents list: who sleeps in which room on the nights asked for, with the board, for the restaurant.

Names are decrypted from the guest store only when the hotel's policy (``guest_display`` in the portfolio) shows
some of it, and only for the guests on the list; every production, named or not, is logged in ``pii_access_log``
in the same transaction. The list is returned (or printed by ``hotel-pipeline privacy residents``), never stored.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import polars as pl

from hotel_pipeline.core.portfolio import Hotel
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.privacy.access_log import log_access
from hotel_pipeline.privacy.vault import reveal

LIST_SQL = """
    SELECT stay_date, room_number, unassigned_seq, source, external_id, arrival_date, departure_date, night_index,
           room_type, adults, children, meal_plan, is_dbb, dinner_included, breakfast_included, is_package,
           guest_token, guest_display, status
    FROM room_nights
    WHERE hotel_id = :h AND stay_date >= :start AND stay_date < :stop
    ORDER BY stay_date, room_number NULLS LAST, unassigned_seq
"""


def display_name(policy: str, pii: dict[str, Any] | None) -> str | None:
    """The part of a name the policy shows; None when it shows nothing (or the guest is unknown or erased)."""
    if policy == "none" or not pii:
        return None
    first = (pii.get("first_name") or "").strip()
    last = (pii.get("last_name") or "").strip()
    if policy == "initials":
        text = " ".join(f"{p[0]}." for p in (first, last) if p)
    elif policy == "surname":
        text = last
    else:
        text = " ".join(p for p in (first, last) if p)
    return text or None


def residents_list(warehouse: Warehouse, hotel: Hotel, start: date, nights: int, *, requested_by: str,
                   now: datetime, purpose: str = "residents list") -> pl.DataFrame:
    """Room nights of ``hotel`` for ``nights`` nights from ``start``, with ``guest`` rendered by the hotel's policy.

    Columns: stay_date, room (number, or "unassigned #n"), booking, arrival/departure, adults, children, meal_plan,
    dinner_included, breakfast_included, is_package, guest ("Smith", or the no-name label "Guest, room 101").
    """
    stop = start + timedelta(days=nights)
    with warehouse.transaction() as tx:
        frame = tx.query(LIST_SQL, {"h": hotel.id, "start": start, "stop": stop})
        people = reveal(tx, frame["guest_token"].drop_nulls().unique().to_list()) \
            if hotel.guest_display != "none" and frame.height else {}
        names = {t: display_name(hotel.guest_display, p) for t, p in people.items()}
        shown = sum(1 for v in names.values() if v)
        log_access(tx, at=now, hotel_id=hotel.id, start=start, end=stop - timedelta(days=1),
                   requested_by=requested_by, purpose=purpose, policy=hotel.guest_display, rows=frame.height,
                   names=shown)
    guest = [names.get(t) or label for t, label in frame.select("guest_token", "guest_display").iter_rows()]
    room = pl.when(pl.col("room_number").is_not_null()).then(pl.col("room_number")).otherwise(
        pl.format("unassigned #{}", pl.col("unassigned_seq")))
    return frame.with_columns(room.alias("room"), pl.Series("guest", guest, dtype=pl.String)).select(
        "stay_date", "room", pl.col("external_id").alias("booking"), "source", "arrival_date", "departure_date",
        "room_type", "adults", "children", "meal_plan", "dinner_included", "breakfast_included", "is_package",
        "guest", "status")
