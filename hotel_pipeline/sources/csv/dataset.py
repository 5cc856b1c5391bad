"""The bundled real data set and its booking history: the one place that knows the ``hotel_bookings`` layout.

"Hotel booking demand datasets" (Antonio, Almeida, Nunes, Data in Brief 22 (2019) 41-49, CC BY 4.0): 119,390 bookings
of a resort (H1) and a city hotel (H2). The contract's semantics are derived here once and reused by the CSV importer,
the daily-export generator and the vendor sandboxes:

- arrival = (arrival_date_year, _month, _day_of_month); nights = weekend + week nights; departure = arrival + nights;
- booked_on = arrival - lead_time;
- is_canceled = 1 (Canceled or No-Show): cancelled on reservation_status_date;
- Check-Out: checked out on reservation_status_date (an early departure frees the nights from that day on).

Rows carry no booking id: ``booking_ref`` is the 1-based data-row number in the file, stable across every export.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path

import polars as pl

from hotel_pipeline.core import settings
from hotel_pipeline.core.vocabularies import OFF_THE_BOOKS

#: The data set's hotel names and the demo portfolio ids they map to.
DATASET_HOTEL_IDS = {"Resort Hotel": "H1", "City Hotel": "H2"}

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]

#: Columns of the hotel_bookings layout, in file order.
HOTEL_BOOKINGS_COLUMNS = [
    "hotel", "is_canceled", "lead_time", "arrival_date_year", "arrival_date_month", "arrival_date_week_number",
    "arrival_date_day_of_month", "stays_in_weekend_nights", "stays_in_week_nights", "adults", "children", "babies",
    "meal", "country", "market_segment", "distribution_channel", "is_repeated_guest", "previous_cancellations",
    "previous_bookings_not_canceled", "reserved_room_type", "assigned_room_type", "booking_changes", "deposit_type",
    "agent", "company", "days_in_waiting_list", "customer_type", "adr", "required_car_parking_spaces",
    "total_of_special_requests", "reservation_status", "reservation_status_date",
]

#: The data set's meal codes in the unified vocabulary (SC = self catering = room only).
MEAL_PLANS = {"BB": "BB", "HB": "HB", "FB": "FB", "SC": "RO", "Undefined": "unknown"}

#: Status words of the hotel_bookings layout (the last three are the data set's; the first two appear in daily
#: exports of bookings that have not reached a final status yet) and the unified status they mean.
CSV_STATUSES = {
    "Booked": "confirmed",
    "Check-In": "checked_in",
    "Check-Out": "checked_out",
    "Canceled": "cancelled",
    "No-Show": "no_show",
}


def stay_expressions(strict: bool = True) -> list[pl.Expr]:
    """Derived stay fields from string columns of the hotel_bookings layout (contract semantics).

    With ``strict=False`` unparseable values become null, so the importer can quarantine the row with a reason.
    """
    month = pl.col("arrival_date_month").str.strip_chars().replace_strict(
        {m: i + 1 for i, m in enumerate(MONTHS)}, default=None, return_dtype=pl.Int32
    )
    arrival = pl.date(
        pl.col("arrival_date_year").str.strip_chars().cast(pl.Int32, strict=strict),
        month,
        pl.col("arrival_date_day_of_month").str.strip_chars().cast(pl.Int32, strict=strict),
    )
    nights = pl.col("stays_in_weekend_nights").str.strip_chars().cast(pl.Int32, strict=strict) + pl.col(
        "stays_in_week_nights"
    ).str.strip_chars().cast(pl.Int32, strict=strict)
    lead = pl.col("lead_time").str.strip_chars().cast(pl.Int32, strict=strict)
    status_date = pl.col("reservation_status_date").str.strip_chars().str.to_date("%Y-%m-%d", strict=strict)
    status = pl.col("reservation_status").str.strip_chars()
    return [
        arrival.alias("arrival_date"),
        nights.alias("nights"),
        (arrival + pl.duration(days=nights)).alias("departure_date"),
        (arrival - pl.duration(days=lead)).alias("booked_on"),
        status_date.alias("status_date"),
        pl.when(status.is_in(["Canceled", "No-Show"])).then(status_date).alias("cancelled_on"),
        pl.when(status == "Check-Out").then(status_date).alias("checked_out_on"),
        status.replace_strict(CSV_STATUSES, default=None, return_dtype=pl.String).alias("status"),
    ]


@cache
def _load_history(path: Path) -> pl.DataFrame:
    raw = pl.read_csv(path, infer_schema_length=0).with_row_index("booking_ref", offset=1)
    return raw.with_columns(
        pl.col("booking_ref").cast(pl.Int64),
        pl.col("hotel").replace_strict(DATASET_HOTEL_IDS).alias("hotel_id"),
        *stay_expressions(strict=True),
        pl.col("adr").cast(pl.Float64).alias("adr_value"),
    )


def load_history(path: Path | None = None) -> pl.DataFrame:
    """Every booking of the data set, with the raw columns (strings) plus the derived typed fields.

    Added columns: booking_ref, hotel_id, arrival_date, nights, departure_date, booked_on, status_date,
    cancelled_on, checked_out_on, status (final unified status), adr_value (float).
    """
    return _load_history(path or settings.DATASET_PATH)


def state_as_of(history: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """What the PMS knew at the end of business date ``as_of``: bookings made by then, with their status then.

    A final event (cancellation, no-show, check-out) dated after ``as_of`` has not happened yet: such a booking is
    ``checked_in`` if it has arrived by ``as_of`` (and is not a no-show or cancellation), else ``confirmed``.
    Returns the history columns with status, status_date, cancelled_on and checked_out_on rewritten as of that date.
    """
    happened = pl.col("status_date") <= pl.lit(as_of)
    arrived = pl.col("arrival_date") <= pl.lit(as_of)
    final = pl.col("status")
    status = (
        pl.when(happened).then(final)
        .when(arrived & (final == "checked_out")).then(pl.lit("checked_in"))
        .otherwise(pl.lit("confirmed"))
    )
    status_date = (
        pl.when(happened).then(pl.col("status_date"))
        .when(arrived & (final == "checked_out")).then(pl.col("arrival_date"))
        .otherwise(pl.col("booked_on"))
    )
    return (
        history.filter(pl.col("booked_on") <= pl.lit(as_of))
        .with_columns(status.alias("status"), status_date.alias("status_date"))
        .with_columns(
            pl.when(pl.col("status").is_in(OFF_THE_BOOKS)).then(pl.col("status_date")).alias("cancelled_on"),
            pl.when(pl.col("status") == "checked_out").then(pl.col("status_date")).alias("checked_out_on"),
        )
    )
