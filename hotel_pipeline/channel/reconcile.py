"""Reconciliation: read Beds24 back, compare with what it acknowledged from us, record ``channel_drift``.

Run on a schedule for every night of the horizon and every pushed booking, or for one room when Beds24 says
something changed there (its inventory webhook ``{"roomId", "propId", "ownerId", "action": "SYNC_ROOM"}``, see
``on_inventory_webhook``, which the webhook receiver calls). A night whose values differ is re-queued (its
``planned`` values are forgotten, so the next plan sends it again); a booking that differs or is missing is recorded
for a person to look at (Beds24 may hold a change made there on purpose).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl

from hotel_pipeline.channel.client import Beds24Client
from hotel_pipeline.channel.config import ChannelConfig, HotelChannel, load_channel_config
from hotel_pipeline.channel.drain import COMPARED, actual_nights, same
from hotel_pipeline.channel.tables import CHANNEL_BOOKINGS, CHANNEL_CALENDAR_STATE, CHANNEL_DRIFT
from hotel_pipeline.core.warehouse import Warehouse


@dataclass
class DriftReport:
    hotel_id: str
    nights_checked: int = 0
    bookings_checked: int = 0
    calendar_drift: int = 0
    booking_drift: int = 0

    @property
    def drift(self) -> int:
        return self.calendar_drift + self.booking_drift


def reconcile_hotel(warehouse: Warehouse, hotel: HotelChannel, client: Beds24Client, as_of: date, now: datetime,
                    trigger: str = "schedule", room_ids: list[int] | None = None) -> DriftReport:
    """Compare the horizon (or only ``room_ids``) with Beds24; drift rows appended, drifted nights re-queued."""
    report = DriftReport(hotel.hotel_id)
    rooms = room_ids or sorted(m.room_id for m in hotel.room_types.values())
    at = now.replace(tzinfo=None)
    drift: list[dict[str, Any]] = []
    requeue: list[tuple[int, date]] = []
    if warehouse.table_exists(CHANNEL_CALENDAR_STATE.name) and rooms:
        intended = warehouse.query("""SELECT room_id, stay_date, pushed FROM channel_calendar_state
                                      WHERE hotel_id = :h AND stay_date >= :t AND pushed IS NOT NULL""",
                                   {"h": hotel.hotel_id, "t": as_of}).filter(pl.col("room_id").is_in(rooms))
        end = as_of + timedelta(days=hotel.horizon_days - 1)
        actual = actual_nights(client, rooms, as_of, end) if intended.height else {}
        for room_id, night, pushed in intended.iter_rows():
            report.nights_checked += 1
            have = actual.get((int(room_id), night), {})
            for key, want in json.loads(pushed).items():
                got = have.get(key)
                if got is None or not same(want, got):
                    drift.append({"hotel_id": hotel.hotel_id, "kind": "calendar", "entity": f"room:{room_id}",
                                  "stay_date": night, "field": key, "intended": json.dumps(want),
                                  "actual": None if got is None else json.dumps(got)})
                    requeue.append((int(room_id), night))
        report.calendar_drift = len(drift)
    if warehouse.table_exists(CHANNEL_BOOKINGS.name):
        pushed = warehouse.query("""SELECT source, external_id, beds24_id, pushed FROM channel_bookings
                                    WHERE hotel_id = :h AND beds24_id IS NOT NULL AND pushed IS NOT NULL""",
                                 {"h": hotel.hotel_id}).to_dicts()
        pushed = [p for p in pushed if room_ids is None or json.loads(p["pushed"]).get("roomId") in room_ids]
        held: dict[int, dict[str, Any]] = {}
        for i in range(0, len(pushed), 100):
            ids = [int(p["beds24_id"]) for p in pushed[i:i + 100]]
            held.update({int(b["id"]): b for b in client.get_bookings(id=ids)})
        for p in pushed:
            report.bookings_checked += 1
            want = json.loads(p["pushed"])
            entity = f"booking:{p['source']}:{p['external_id']}"
            got = held.get(int(p["beds24_id"]))
            if got is None:
                drift.append({"hotel_id": hotel.hotel_id, "kind": "booking", "entity": entity, "field": "missing",
                              "intended": str(p["beds24_id"]), "actual": None})
                report.booking_drift += 1
                continue
            for key in COMPARED:
                if key in want and not same(want[key], got.get(key)):
                    drift.append({"hotel_id": hotel.hotel_id, "kind": "booking", "entity": entity, "field": key,
                                  "intended": json.dumps(want[key]), "actual": json.dumps(got.get(key))})
                    report.booking_drift += 1
    with warehouse.transaction() as tx:
        tx.ensure_table(CHANNEL_DRIFT)
        if drift:
            frame = pl.DataFrame(drift, infer_schema_length=None).with_columns(
                pl.lit(at).alias("checked_at"), pl.lit(trigger).alias("trigger"))
            tx.insert_frame(CHANNEL_DRIFT.name, CHANNEL_DRIFT.conform(frame))
        for room_id, night in sorted(set(requeue)):
            tx.execute("""UPDATE channel_calendar_state SET planned = NULL
                          WHERE hotel_id = :h AND room_id = :r AND stay_date = :d""",
                       {"h": hotel.hotel_id, "r": room_id, "d": night})
    return report


def hotel_of_room(config: ChannelConfig, room_id: int) -> HotelChannel | None:
    for hotel in config.hotels.values():
        if any(m.room_id == room_id for m in hotel.room_types.values()):
            return hotel
    return None


def reconcile_rooms(warehouse: Warehouse, hotel_id: str, room_ids: list[str] | list[int], *,
                         config: ChannelConfig | None = None, as_of: date | None = None, timezone: str = "",
                         now: Callable[[], datetime] | None = None,
                         client: Beds24Client | None = None) -> DriftReport | None:
    """Beds24 said something changed in these rooms: reconcile them now (``room_ids`` as webhooks carry them,
    strings). Rooms that are not the hotel's are ignored; None when none is, or the hotel does not push to Beds24.
    Safe to call twice: a reconciliation only reads Beds24 and re-queues drifted nights.
    """
    from hotel_pipeline.core.clock import Clock

    if as_of is None and not timezone:
        raise ValueError("reconcile_rooms needs as_of or the hotel's timezone (for its business date)")
    config = config or load_channel_config()
    hotel = config.hotel(hotel_id)
    if hotel is None:
        return None
    mapped = {m.room_id for m in hotel.room_types.values()}
    rooms = sorted({int(r) for r in room_ids if str(r).isdigit() and int(r) in mapped})
    if not rooms:
        return None
    clock = Clock()
    day = as_of or clock.business_date(timezone)
    own = client is None
    client = client or Beds24Client(hotel.base_url, hotel.refresh_token())
    try:
        return reconcile_hotel(warehouse, hotel, client, day, (now or clock.now)(), trigger="webhook",
                               room_ids=rooms)
    finally:
        if own:
            client.close()


def on_inventory_webhook(payload: Mapping[str, Any], *, warehouse: Warehouse | None = None,
                         config: ChannelConfig | None = None, **kwargs: Any) -> DriftReport | None:
    """Handle one Beds24 inventory webhook body (``{"roomId", "propId", "ownerId", "action": "SYNC_ROOM"}``):
    reconcile that room of the hotel whose mapping holds it (None when the room is not ours).

    This is what the webhook receiver calls once it has verified and stored the delivery. ``kwargs`` go to
    ``reconcile_rooms`` (``as_of``, ``now``, ``client``).
    """
    if payload.get("action") != "SYNC_ROOM":
        return None
    config = config or load_channel_config()
    room = str(payload.get("roomId"))
    hotel = hotel_of_room(config, int(room)) if room.isdigit() else None
    if hotel is None:
        return None
    return reconcile_rooms(warehouse or Warehouse(), hotel.hotel_id, [room], config=config, **kwargs)
