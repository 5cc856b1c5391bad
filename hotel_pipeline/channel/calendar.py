"""The diff-based calendar push: only nights whose values changed since they were last queued, as from/to runs.

A night's values are Beds24's calendar fields (``numAvail``, ``minStay``, ``price1`` .. ``price16``). The diff base is
``channel_calendar_state.planned``: what was last queued for the night, which is what Beds24 acknowledged unless a
newer row is still on its way (a failed row puts ``planned`` back to what was acknowledged, so the next plan sends
it again). Consecutive nights with equal values become one ``{from, to, ...}`` entry, one outbox row per room.
``full_repush`` forgets ``planned`` so the next plan sends every night (a command, not the nightly default).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl

from hotel_pipeline.channel.config import HotelChannel
from hotel_pipeline.channel.outbox import dumps, enqueue
from hotel_pipeline.channel.tables import CHANNEL_CALENDAR_STATE
from hotel_pipeline.core.warehouse import Tx, Warehouse


@dataclass(frozen=True)
class CalendarPlan:
    rooms: int  # outbox rows queued (one per room with a change)
    nights: int  # nights whose values changed
    entries: int  # from/to runs sent


def night_values(hotel: HotelChannel, availability: pl.DataFrame) -> pl.DataFrame:
    """(room_id, stay_date, values JSON) of the mapped room types of a channel_availability frame."""
    rows = []
    for r in availability.iter_rows(named=True):
        room_id = hotel.room_id(r["room_type"])
        if room_id is None:
            continue
        values: dict[str, Any] = {"numAvail": int(r["units_available"])}
        if r["min_stay"] is not None and r["min_stay"] >= 1:
            values["minStay"] = min(int(r["min_stay"]), 365)
        for plan, price in json.loads(r["prices"] or "{}").items():
            slot = hotel.rate_plans.get(plan)
            if slot is not None and price is not None:
                values[slot] = round(float(price), 2)
        rows.append({"room_id": room_id, "stay_date": r["stay_date"], "values": dumps(values)})
    return pl.DataFrame(rows, schema={"room_id": pl.Int64, "stay_date": pl.Date, "values": pl.String})


def runs(nights: list[tuple[date, str]]) -> list[dict[str, Any]]:
    """Calendar entries of sorted (night, values JSON): consecutive nights with equal values merged."""
    entries: list[dict[str, Any]] = []
    start = prev = None
    current = None
    for night, values in nights:
        if current is not None and values == current and prev is not None and night == prev + timedelta(days=1):
            prev = night
            continue
        if current is not None:
            entries.append({"from": start.isoformat(), "to": prev.isoformat(), **json.loads(current)})
        start = prev = night
        current = values
    if current is not None:
        entries.append({"from": start.isoformat(), "to": prev.isoformat(), **json.loads(current)})
    return entries


def expand(entries: list[dict[str, Any]]) -> list[tuple[date, str]]:
    """The inverse of ``runs``: (night, values JSON) for every night of the entries."""
    out = []
    for e in entries:
        values = dumps({k: v for k, v in e.items() if k not in ("from", "to")})
        day, last = date.fromisoformat(e["from"]), date.fromisoformat(e["to"])
        while day <= last:
            out.append((day, values))
            day += timedelta(days=1)
    return out


def plan_calendar(tx: Tx, hotel: HotelChannel, availability: pl.DataFrame, as_of: date,
                  created_at: datetime) -> CalendarPlan:
    """Queue the changed nights of ``availability`` (channel_availability rows of the hotel) in ``tx``."""
    tx.ensure_table(CHANNEL_CALENDAR_STATE)
    new = night_values(hotel, availability.filter(pl.col("stay_date") >= as_of))
    state = tx.query("""SELECT room_id, stay_date, planned FROM channel_calendar_state
                        WHERE hotel_id = :h AND stay_date >= :t""", {"h": hotel.hotel_id, "t": as_of})
    state = state.select(pl.col("room_id").cast(pl.Int64), pl.col("stay_date").cast(pl.Date),
                         pl.col("planned").cast(pl.String))
    joined = new.join(state, on=["room_id", "stay_date"], how="left")
    changed = joined.filter(pl.col("planned").is_null() | (pl.col("planned") != pl.col("values"))).sort(
        "room_id", "stay_date")
    if changed.height == 0:
        return CalendarPlan(0, 0, 0)
    rooms = changed.partition_by("room_id", as_dict=True, maintain_order=True)
    items = []
    for (room_id,), frame in rooms.items():
        entries = runs(list(frame.select("stay_date", "values").iter_rows()))
        items.append({"hotel_id": hotel.hotel_id, "kind": "calendar", "entity": f"room:{room_id}",
                      "operation": "calendar", "payload": {"roomId": int(room_id), "calendar": entries}})
    ids = enqueue(tx, items, created_at)
    id_of = {int(item["payload"]["roomId"]): i for item, i in zip(items, ids, strict=True)}
    upd = changed.select("room_id", "stay_date", pl.col("values").alias("planned"),
                         pl.col("room_id").replace_strict(id_of, return_dtype=pl.Int64).alias("planned_outbox_id"),
                         pl.col("planned").is_not_null().alias("_exists"))
    _write_planned(tx, hotel.hotel_id, upd)
    return CalendarPlan(rooms=len(items), nights=changed.height, entries=sum(len(i["payload"]["calendar"])
                                                                             for i in items))


def _write_planned(tx: Tx, hotel_id: str, upd: pl.DataFrame) -> None:
    tx.temp_table("_planned_nights", upd.select("room_id", "stay_date", "planned", "planned_outbox_id"))
    tx.execute("""UPDATE channel_calendar_state SET planned = p.planned, planned_outbox_id = p.planned_outbox_id
                  FROM _planned_nights p WHERE channel_calendar_state.hotel_id = :h
                   AND channel_calendar_state.room_id = p.room_id AND channel_calendar_state.stay_date = p.stay_date""",
               {"h": hotel_id})
    tx.execute("""INSERT INTO channel_calendar_state (hotel_id, room_id, stay_date, planned, planned_outbox_id)
                  SELECT :h, p.room_id, p.stay_date, p.planned, p.planned_outbox_id FROM _planned_nights p
                  WHERE NOT EXISTS (SELECT 1 FROM channel_calendar_state s WHERE s.hotel_id = :h
                                    AND s.room_id = p.room_id AND s.stay_date = p.stay_date)""", {"h": hotel_id})


def acknowledge_calendar(tx: Tx, hotel_id: str, payload: dict[str, Any], at: datetime) -> None:
    """Beds24 acknowledged a room's entries: those nights' values are now the pushed ones."""
    nights = expand(payload["calendar"])
    frame = pl.DataFrame({"room_id": [int(payload["roomId"])] * len(nights), "stay_date": [d for d, _ in nights],
                          "pushed": [v for _, v in nights]}, schema={"room_id": pl.Int64, "stay_date": pl.Date,
                                                                   "pushed": pl.String})
    tx.temp_table("_pushed_nights", frame)
    tx.execute("""UPDATE channel_calendar_state SET pushed = p.pushed, pushed_at = :at FROM _pushed_nights p
                  WHERE channel_calendar_state.hotel_id = :h AND channel_calendar_state.room_id = p.room_id
                    AND channel_calendar_state.stay_date = p.stay_date""", {"h": hotel_id, "at": at})


def forget_failed_calendar(tx: Tx, outbox_id: int) -> None:
    """A calendar row failed: its nights go back to what Beds24 acknowledged, so the next plan queues them again."""
    tx.execute("""UPDATE channel_calendar_state SET planned = pushed, planned_outbox_id = NULL
                  WHERE planned_outbox_id = :i""", {"i": outbox_id})


def full_repush(warehouse: Warehouse, hotel_id: str) -> int:
    """Forget what was queued for the hotel: the next plan sends all nights of the horizon. Nights touched."""
    if not warehouse.table_exists(CHANNEL_CALENDAR_STATE.name):
        return 0
    with warehouse.transaction() as tx:
        return tx.execute("UPDATE channel_calendar_state SET planned = NULL WHERE hotel_id = :h", {"h": hotel_id})


def intended_calendar(warehouse: Warehouse, hotel_id: str, as_of: date) -> pl.DataFrame:
    """(room_id, stay_date, pushed, planned) of the horizon: what Beds24 should hold."""
    return warehouse.query("""SELECT room_id, stay_date, pushed, planned FROM channel_calendar_state
                              WHERE hotel_id = :h AND stay_date >= :t ORDER BY room_id, stay_date""",
                           {"h": hotel_id, "t": as_of})
