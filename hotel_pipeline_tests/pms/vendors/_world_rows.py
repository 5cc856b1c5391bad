"""World rows for the vendor round-trip tests, built from the bundled data set without the sandbox world model.

Why: the per-vendor "world row -> vendor JSON -> unified fields" round trip must be testable on its own, with real
rows of the data set (every status, every meal code, early check-outs, zero-night stays, children "NA"). The fake
room numbers and guests here are deliberately simple; the HTTP tests use the sandbox's own world model instead.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import polars as pl

from hotel_pipeline.sources.csv.dataset import MEAL_PLANS, load_history, state_as_of

TIMEZONE = "Europe/Lisbon"

#: The unified fields every vendor must reproduce from its own record.
COMPARED = [
    "status", "booked_on", "cancelled_on", "checked_out_on", "arrival_date", "departure_date", "nights", "room_type",
    "room_number", "adults", "children", "babies", "meal_plan", "is_dbb", "channel",
]


def _noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 11, 30, tzinfo=UTC)


def sample_rows(as_of: date = date(2016, 3, 31), per_group: int = 3) -> list[dict[str, Any]]:
    """A few real bookings of H1 per (status, meal) as of ``as_of``, plus every early check-out and a 0-night stay."""
    state = state_as_of(load_history().filter(pl.col("hotel_id") == "H1"), as_of)
    picked = pl.concat(
        [
            state.group_by("status", "meal", maintain_order=True).head(per_group).select(state.columns),
            state.filter(pl.col("checked_out_on") < pl.col("departure_date")).head(5),
            state.filter(pl.col("nights") == 0).head(2),
            state.filter(pl.col("children") == "NA").head(2),
        ]
    ).unique("booking_ref", maintain_order=True)
    rows = []
    for i, r in enumerate(picked.to_dicts()):
        ref = int(r["booking_ref"])
        last_event = max(d for d in (r["booked_on"], r["status_date"]) if d is not None)
        rows.append(
            {
                "external_id": str(ref),
                "hotel_id": "H1",
                "status": r["status"],
                "booked_on": r["booked_on"],
                "cancelled_on": r["cancelled_on"],
                "checked_out_on": r["checked_out_on"],
                "arrival_date": r["arrival_date"],
                "departure_date": r["departure_date"],
                "nights": r["nights"],
                "room_type": r["reserved_room_type"],
                "room_number": None if i % 7 == 0 else f"{r['reserved_room_type']}{100 + i}",
                "adults": int(r["adults"]),
                "children": None if r["children"] == "NA" else int(r["children"]),
                "babies": int(r["babies"]),
                "meal_plan": MEAL_PLANS[r["meal"]],
                "is_dbb": MEAL_PLANS[r["meal"]] in ("HB", "FB"),
                "adr": r["adr_value"],
                "net_amount": round(r["adr_value"] * r["nights"], 2),
                "currency": "EUR",
                "channel": r["distribution_channel"],
                "first_name": f"Guest{ref}",
                "last_name": "Example",
                "email": f"guest{ref}@example.test",
                "phone": f"+351 900 {ref:06d}",
                "created_at": _noon(r["booked_on"]),
                "modified_at": _noon(last_event),
            }
        )
    return rows


def expected(row: dict[str, Any]) -> dict[str, Any]:
    """The unified fields a connector must give back for ``row``."""
    return {k: row[k] for k in COMPARED}
