"""The daily exports a legacy PMS would drop each night: the data set as known at the end of business date E.

One file per hotel and date, ``<hotel>_hotel_bookings_asof_<E>.csv``, in the hotel_bookings layout plus a
``booking_ref`` column (a legacy PMS export carries its booking number; here it is the data-set row number, so every
export names a booking the same way). Status words as of E: Booked, Check-In, Check-Out, Canceled, No-Show.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from hotel_pipeline.core.clock import date_range
from hotel_pipeline.sources.csv.dataset import CSV_STATUSES, HOTEL_BOOKINGS_COLUMNS, load_history, state_as_of

_WORDS = {unified: word for word, unified in CSV_STATUSES.items()}


def export_name(hotel_id: str, as_of: date) -> str:
    return f"{hotel_id}_hotel_bookings_asof_{as_of.isoformat()}.csv"


def export_frame(history: pl.DataFrame, hotel_id: str, as_of: date) -> pl.DataFrame:
    state = state_as_of(history.filter(pl.col("hotel_id") == hotel_id), as_of)
    return state.with_columns(
        pl.col("status").is_in(["cancelled", "no_show"]).cast(pl.Int8).cast(pl.String).alias("is_canceled"),
        pl.col("status").replace_strict(_WORDS, return_dtype=pl.String).alias("reservation_status"),
        pl.col("status_date").dt.strftime("%Y-%m-%d").alias("reservation_status_date"),
    ).select(*HOTEL_BOOKINGS_COLUMNS, pl.col("booking_ref").cast(pl.String))


def write_daily_exports(dest: Path, start: date, end: date, hotel_ids: list[str] | None = None,
                        history: pl.DataFrame | None = None) -> list[Path]:
    """Write the exports of business dates start..end (inclusive) for the hotels; returns the paths in date order."""
    history = history if history is not None else load_history()
    hotel_ids = hotel_ids or sorted(history["hotel_id"].unique().to_list())
    dest.mkdir(parents=True, exist_ok=True)
    paths = []
    for day in date_range(start, end):
        for hotel_id in hotel_ids:
            path = dest / export_name(hotel_id, day)
            tmp = path.with_name(path.name + ".part")
            export_frame(history, hotel_id, day).write_csv(tmp)
            tmp.replace(path)  # a half-written export never appears in the inbox
            paths.append(path)
    return paths
