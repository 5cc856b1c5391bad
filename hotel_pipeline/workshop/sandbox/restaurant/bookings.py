"""Restaurant bookings as a hotel's restaurant would take them, generated from its room nights (seeded).

Residents with dinner included mostly book a table on their nights (most give the booking number, some only their
room); a few residents without dinner book too, and outside guests fill the rest. Some dinner residents never book:
those are the gaps the restaurant acts on. Guests get fake names, e-mails and phones.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.workshop.sandbox.pms.world import FIRST_NAMES, LAST_NAMES

BOOKING_FIELD = "Hotel booking number"
ROOM_FIELD = "Room number"
TIMES = ["18:30", "19:00", "19:30", "20:00", "20:30", "21:00"]


def generate_bookings(warehouse: Warehouse, hotel_id: str, start: date, nights: int, *, seed: int = 11,
                      outside_per_night: int = 12) -> list[dict[str, Any]]:
    """Resos-shaped bookings for ``nights`` nights of ``hotel_id`` from ``start`` (needs ``room_nights``)."""
    rng = random.Random(f"{seed}:{hotel_id}")
    nights_rows = warehouse.query(
        "SELECT stay_date, room_number, external_id, adults, children, dinner_included FROM room_nights "
        "WHERE hotel_id = :h AND stay_date >= :s AND stay_date < :e ORDER BY stay_date, external_id",
        {"h": hotel_id, "s": start, "e": start + timedelta(days=nights)})
    out: list[dict[str, Any]] = []

    def add(day: date, people: int, fields: list[dict[str, str]]) -> None:
        n = len(out) + 1
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        at = rng.choice(TIMES)
        out.append({
            "_id": f"rs-{hotel_id}-{n:06d}", "date": day.isoformat(), "time": at,
            "dateTime": f"{day.isoformat()}T{at}:00", "people": max(1, people), "status": "approved",
            "guest": {"name": f"{first} {last}", "email": f"{first}.{last}.{n}@example.net".lower().replace("'", ""),
                      "phone": f"+351 21{rng.randint(1000000, 9999999)}"},
            "customFields": fields, "createdAt": f"{day.isoformat()}T09:00:00Z", "lastUpdated": f"{day.isoformat()}T09:00:00Z",
        })

    for day, room, booking, adults, children, dinner in nights_rows.iter_rows():
        people = (adults or 0) + (children or 0)
        roll = rng.random()
        if dinner and roll < 0.6:
            add(day, people, [{"name": BOOKING_FIELD, "value": booking}])
        elif dinner and roll < 0.75 and room:
            add(day, people, [{"name": ROOM_FIELD, "value": room}])
        elif not dinner and roll < 0.05:
            add(day, people, [{"name": BOOKING_FIELD, "value": booking}])
    day = start
    while day < start + timedelta(days=nights):
        for _ in range(outside_per_night):
            add(day, rng.randint(1, 6), [])
        day += timedelta(days=1)
    return out


def bookings_csv_rows(bookings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same bookings as rows of the restaurant CSV inbox layout."""
    rows = []
    for b in bookings:
        fields = {f["name"]: f["value"] for f in b["customFields"]}
        rows.append({"booking_id": b["_id"], "date": b["date"], "time": b["time"], "covers": b["people"],
                     "status": b["status"], "name": b["guest"]["name"], "email": b["guest"]["email"],
                     "phone": b["guest"]["phone"], "hotel_booking_number": fields.get(BOOKING_FIELD, ""),
                     "room_number": fields.get(ROOM_FIELD, "")})
    return rows
