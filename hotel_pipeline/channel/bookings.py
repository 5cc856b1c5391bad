"""The reservation push: reservations taken anywhere but Beds24 become Beds24 bookings, created once, then updated.

A reservation of any other source (the PMS, the legacy CSV exports) is queued as a ``create`` the first time it is
seen with a room on the books (confirmed, in house) and a mapped room type; each later accepted change as an
``update`` carrying the full booking (Beds24 needs ``roomId``, ``arrival`` and ``departure`` on every item), and a
cancellation or no-show as a ``cancel`` (``status: cancelled``). The create carries ``apiReference``
``hp:<hotel>:<source>:<external id>``: a create whose answer was lost is found again by it, never sent twice.
Reservations whose source is Beds24 are Beds24's own: they are never pushed back (no loop). No guest name, e-mail or
phone leaves the pipeline: the booking carries dates, room, party and price only.

Why no change is lost between the source's commit and the outbox: a change is committed as a new row of
``reservation_versions`` (the durable change log every source writes through ``accept_reservations``), and
``channel_bookings.planned_version`` is this push's cursor on that log, committed in the same transaction as the
outbox rows it produced. A process killed between the two leaves the version ahead of the cursor; the next plan
queues it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import polars as pl

from hotel_pipeline.channel.config import HotelChannel
from hotel_pipeline.channel.outbox import dumps, enqueue
from hotel_pipeline.channel.tables import CHANNEL_BOOKINGS
from hotel_pipeline.core.warehouse import Tx, Warehouse

#: Sources whose reservations came from the channel itself (never pushed back).
CHANNEL_SOURCES = ("beds24",)
ON_THE_BOOKS = ("confirmed", "checked_in", "checked_out")


@dataclass
class BookingPlan:
    creates: int = 0
    updates: int = 0
    cancels: int = 0
    unchanged: int = 0
    skipped_channel_origin: int = 0
    unmapped: dict[str, int] = field(default_factory=dict)  # room type -> reservations not pushed


def api_reference(hotel_id: str, source: str, external_id: str) -> str:
    return f"hp:{hotel_id}:{source}:{external_id}"[:100]


def booking_item(hotel: HotelChannel, r: dict[str, Any]) -> dict[str, Any]:
    """The Beds24 booking (POST /bookings item, without ``id``) of a reservations row."""
    status = "confirmed" if r["status"] in ON_THE_BOOKS else "cancelled"
    item: dict[str, Any] = {
        "roomId": hotel.room_id(r["room_type"]),
        "status": status,
        "arrival": r["arrival_date"].isoformat(),
        "departure": r["departure_date"].isoformat(),
        "numAdult": max(0, min(99, int(r["adults"] or 0))),
        "price": round(max(0.0, float(r["net_amount"] or 0.0)), 2),
        "apiReference": api_reference(hotel.hotel_id, r["source"], r["external_id"]),
    }
    if r["children"] is not None:
        item["numChild"] = max(0, min(99, int(r["children"])))
    return item


def plan_bookings(tx: Tx, hotel: HotelChannel, as_of: date, created_at: datetime) -> BookingPlan:
    """Queue creates, updates and cancellations for the hotel's changed reservations, in ``tx``."""
    tx.ensure_table(CHANNEL_BOOKINGS)
    plan = BookingPlan()
    if not tx.table_exists("reservations"):
        return plan
    h = hotel.hotel_id
    res = tx.query("""
        SELECT r.source, r.external_id, r.status, r.arrival_date, r.departure_date, r.room_type, r.adults,
               r.children, r.net_amount, r.version, b.planned_version, b.planned, b.planned_status
        FROM reservations r
        LEFT JOIN channel_bookings b ON b.hotel_id = r.hotel_id AND b.source = r.source
                                    AND b.external_id = r.external_id
        WHERE r.hotel_id = :h AND (b.planned_version IS NULL OR r.version > b.planned_version)
          AND (b.planned_version IS NOT NULL OR (r.departure_date > :t AND r.nights > 0))
        ORDER BY r.source, r.external_id""", {"h": h, "t": as_of})
    items, new_rows, bumped = [], [], []
    for r in res.iter_rows(named=True):
        if r["source"] in CHANNEL_SOURCES:
            plan.skipped_channel_origin += 1
            continue
        known = r["planned_version"] is not None
        if hotel.room_id(r["room_type"]) is None:
            plan.unmapped[r["room_type"]] = plan.unmapped.get(r["room_type"], 0) + 1
            continue
        item = booking_item(hotel, r)
        entity = f"booking:{r['source']}:{r['external_id']}"
        if not known:
            if item["status"] == "cancelled":
                continue  # never on Beds24, nothing to cancel
            op = "create"
            new_rows.append({"hotel_id": h, "source": r["source"], "external_id": r["external_id"],
                             "api_reference": item["apiReference"], "planned_version": r["version"],
                             "planned": dumps(item), "planned_status": item["status"]})
        else:
            if dumps(item) == r["planned"]:
                plan.unchanged += 1
                bumped.append((r["source"], r["external_id"], r["version"], r["planned"], r["planned_status"]))
                continue
            op = "cancel" if item["status"] == "cancelled" else "update"
            bumped.append((r["source"], r["external_id"], r["version"], dumps(item), item["status"]))
        items.append({"hotel_id": h, "kind": "booking", "entity": entity, "operation": op, "payload": item,
                      "api_reference": item["apiReference"]})
        setattr(plan, op + "s", getattr(plan, op + "s") + 1)
    enqueue(tx, items, created_at)
    if new_rows:
        tx.insert_frame(CHANNEL_BOOKINGS.name, CHANNEL_BOOKINGS.conform(pl.DataFrame(new_rows)))
    for source, external_id, version, planned, status in bumped:
        tx.execute("""UPDATE channel_bookings SET planned_version = :v, planned = :p, planned_status = :s
                      WHERE hotel_id = :h AND source = :src AND external_id = :x""",
                   {"v": version, "p": planned, "s": status, "h": h, "src": source, "x": external_id})
    return plan


def acknowledge_bookings(tx: Tx, hotel_id: str, acks: list[tuple[str, dict[str, Any], int | None]],
                         at: datetime) -> None:
    """Beds24 holds each (entity, payload, Beds24 id): store the payloads as pushed, with their ids, in one go."""
    if not acks:
        return
    rows = []
    for entity, payload, beds24_id in acks:
        _, source, external_id = entity.split(":", 2)
        rows.append({"source": source, "external_id": external_id, "beds24_id": beds24_id,
                     "pushed": dumps({k: v for k, v in payload.items() if k != "id"})})
    tx.temp_table("_pushed_bookings", pl.DataFrame(rows, schema={"source": pl.String, "external_id": pl.String,
                                                                 "beds24_id": pl.Int64, "pushed": pl.String}))
    tx.execute("""UPDATE channel_bookings SET pushed = p.pushed, pushed_at = :at,
                  beds24_id = COALESCE(p.beds24_id, channel_bookings.beds24_id)
                  FROM _pushed_bookings p WHERE channel_bookings.hotel_id = :h AND channel_bookings.source = p.source
                    AND channel_bookings.external_id = p.external_id""", {"h": hotel_id, "at": at})


def beds24_ids(warehouse: Warehouse, hotel_id: str, entities: list[str]) -> dict[str, int | None]:
    """entity -> Beds24 booking id (None until its create is acknowledged), in one query."""
    if not entities:
        return {}
    keys = pl.DataFrame([dict(zip(("source", "external_id"), e.split(":", 2)[1:], strict=True)) for e in entities])
    with warehouse.transaction() as tx:
        tx.temp_table("_wanted_bookings", keys)
        got = tx.query("""SELECT b.source, b.external_id, b.beds24_id FROM channel_bookings b
                          JOIN _wanted_bookings w ON w.source = b.source AND w.external_id = b.external_id
                          WHERE b.hotel_id = :h""", {"h": hotel_id})
    found = {f"booking:{s}:{x}": (None if i is None else int(i)) for s, x, i in got.iter_rows()}
    return {e: found.get(e) for e in entities}
