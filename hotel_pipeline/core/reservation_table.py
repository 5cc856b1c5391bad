"""The reservation columns, declared once: names, types, meaning, nullability and the contract's rules.

Everything else is derived from here: the ``reservation_versions`` change log (``hotel_pipeline.unified``), the
pandera contract of the ``reservations`` model (``hotel_pipeline.core.schemas.reservations``), the data dictionary
(docs/warehouse.md), and the check that the ``reservations.sql`` header says the same (a SQL file cannot import, so
its header is compared column by column: ``hotel_pipeline.core.table_agreement``).

Every rule holds on all 119,390 rows of the bundled data set and follows from the contract's semantics, so a failure
means a source normaliser or the write path broke something, not that a hotel had an odd booking. Odd but possible
bookings (negative or huge ADR, zero guests) are soft anomalies (``core.schemas.anomalies``), never rejected here.
"""

from __future__ import annotations

import polars as pl

from hotel_pipeline.core.vocabularies import DINNER_PLANS, MEAL_PLANS, OFF_THE_BOOKS, STATUSES
from hotel_pipeline.core.warehouse.tables import Column, FrameCheck, TableSpec

#: (name, portable type, may be null, pandera rules, meaning) of the key, in table order.
_KEY = (
    ("hotel_id", "VARCHAR", False, {}, "portfolio hotel id"),
    ("source", "VARCHAR", False, {}, "csv, or the PMS it came from (mews, cloudbeds, ...)"),
    ("external_id", "VARCHAR", False, {},
     "the source's reservation id (for the CSV data set: the booking_ref row number)"),
)
#: The fields every source normalises a reservation to, in table order.
_FIELDS = (
    ("status", "VARCHAR", False, {"isin": list(STATUSES)}, ", ".join(STATUSES[:-1]) + f" or {STATUSES[-1]}"),
    ("booked_on", "DATE", False, {}, "hotel-local date the booking was made"),
    ("cancelled_on", "DATE", True, {}, "date of the cancellation or no-show; null if neither"),
    ("checked_out_on", "DATE", True, {}, "check-out date; null until the guest has left"),
    ("arrival_date", "DATE", False, {}, "first night"),
    ("departure_date", "DATE", False, {}, "check-out day (arrival + nights)"),
    ("nights", "INTEGER", False, {"ge": 0}, "nights booked; a 0-night booking occupies nothing"),
    ("room_type", "VARCHAR", True, {}, "room type as the source names it"),
    ("room_number", "VARCHAR", True, {}, "assigned room; null where unknown"),
    ("guest_token", "VARCHAR", True, {}, "opaque guest token (never a raw name); null where unknown"),
    ("adults", "INTEGER", False, {"ge": 0}, "adults"),
    ("children", "INTEGER", True, {"ge": 0}, "children; null where the source says NA"),
    ("babies", "INTEGER", True, {"ge": 0}, "babies; null where the source has no infant count (Cloudbeds)"),
    ("meal_plan", "VARCHAR", False, {"isin": list(MEAL_PLANS)}, ", ".join(MEAL_PLANS[:-1]) + f" or {MEAL_PLANS[-1]}"),
    ("is_dbb", "BOOLEAN", False, {}, "dinner included (HB or FB)"),
    ("is_package", "BOOLEAN", False, {}, "sold as a package; false where the source has no such notion"),
    ("net_amount", "DOUBLE", False, {}, "stay total net of tax"),
    ("gross_amount", "DOUBLE", True, {}, "stay total with tax; null where the source has no tax figure"),
    ("currency", "VARCHAR", False, {"str_matches": r"^[A-Z]{3}$"}, "ISO 4217"),
    ("channel", "VARCHAR", True, {}, "distribution channel as the source names it"),
)
#: What the ``reservations`` model adds after the fields.
_CURRENT = (
    ("synced_at", "TIMESTAMP", False, {}, "when the pipeline accepted the current version (UTC)"),
    ("version", "INTEGER", False, {"ge": 1}, "1 for the first accepted record, +1 per accepted change"),
)


def _columns(rows: tuple) -> tuple[Column, ...]:
    return tuple(Column(name, type_, doc, nullable=nullable, rules=rules) for name, type_, nullable, rules, doc in rows)


KEY: tuple[str, ...] = ("source", "hotel_id", "external_id")
KEY_COLUMNS: tuple[Column, ...] = _columns(_KEY)
FIELDS: tuple[Column, ...] = _columns(_FIELDS)

_CHECKED_OUT_ON = pl.col("checked_out_on")
#: The rules that span columns: each says why a row that breaks it would count a night wrongly.
CHECKS: tuple[FrameCheck, ...] = (
    FrameCheck("departure_is_arrival_plus_nights",
               "Nights are expanded from arrival and nights; a departure that disagrees would misplace revenue.",
               pl.col("departure_date") == pl.col("arrival_date") + pl.duration(days=pl.col("nights"))),
    FrameCheck("booked_on_not_after_arrival",
               "Lead time is never negative: a night cannot be on the books before the booking exists.",
               pl.col("booked_on") <= pl.col("arrival_date")),
    FrameCheck("cancelled_on_not_before_booked_on",
               "A cancellation before the booking would make the night vanish before it appears (pickup goes "
               "negative).",
               pl.col("cancelled_on").is_null() | (pl.col("cancelled_on") >= pl.col("booked_on"))),
    FrameCheck("checked_out_within_stay",
               "An early check-out frees the remaining nights; one outside arrival..departure has no meaning.",
               _CHECKED_OUT_ON.is_null() | _CHECKED_OUT_ON.is_between(pl.col("arrival_date"), pl.col("departure_date"))),
    FrameCheck("cancelled_on_matches_status",
               "cancelled_on is set exactly for cancelled and no-show bookings, else the nights stay on (or off) "
               "wrongly.",
               pl.col("status").is_in(OFF_THE_BOOKS) == pl.col("cancelled_on").is_not_null()),
    FrameCheck("checked_out_on_matches_status",
               "checked_out_on is set exactly for checked-out bookings (null until the guest has left).",
               (pl.col("status") == "checked_out") == _CHECKED_OUT_ON.is_not_null()),
    FrameCheck("is_dbb_matches_meal_plan",
               "Dinner-included is derived from the meal plan (HB or FB); a mismatch breaks the dining forecasts.",
               pl.col("is_dbb") == pl.col("meal_plan").is_in(DINNER_PLANS)),
)

#: The ``reservations`` model's table: key, fields, current version, and its contract.
RESERVATIONS = TableSpec(
    "reservations", (*KEY_COLUMNS, *FIELDS, *_columns(_CURRENT)),
    doc="Unified model: the newest accepted version of every reservation, one row per (source, hotel_id, "
        "external_id).",
    grain="source, hotel_id, external_id",
    unique=KEY,
    checks=CHECKS,
)
