"""Soft anomalies: figures that are possible but suspicious. They warn (with the rows named), never block or drop.

The bundled data set has a negative ADR (-6.38 EUR, a refund-like correction) and one of 5,400 EUR (a typo or a
group rate on one room); both are real source records, so revenue keeps them and someone looks at them. Zero-guest
bookings are usually placeholders or data-entry gaps. Rooms sold above capacity means the portfolio's capacity is
stale or the hotel overbooked.
"""

from __future__ import annotations

import polars as pl

#: Nightly net rates outside [ADR_FLOOR, ADR_CEILING] (in the hotel's currency) are reported; both configurable.
ADR_FLOOR = 0.0
ADR_CEILING = 1000.0


def adr_outliers(reservations: pl.DataFrame, floor: float = ADR_FLOOR, ceiling: float = ADR_CEILING) -> pl.DataFrame:
    """Reservations whose nightly net rate (net_amount / nights) is below ``floor`` or above ``ceiling``.

    Zero-night bookings have no nightly rate and are not judged. Returns the rows with an ``adr`` column, ordered by
    key so that reports are stable.
    """
    adr = (pl.col("net_amount") / pl.col("nights")).round(2)
    return (
        reservations.filter(pl.col("nights") > 0)
        .with_columns(adr.alias("adr"))
        .filter((pl.col("adr") < floor) | (pl.col("adr") > ceiling))
        .sort("source", "hotel_id", "external_id")
    )


def zero_guest_bookings(reservations: pl.DataFrame) -> pl.DataFrame:
    """Reservations with adults + children + babies = 0 (children NA counts as 0)."""
    guests = pl.col("adults").fill_null(0) + pl.col("children").fill_null(0) + pl.col("babies").fill_null(0)
    return reservations.filter(guests == 0).sort("source", "hotel_id", "external_id")


def over_capacity(board: pl.DataFrame) -> pl.DataFrame:
    """Rows of ``daily_metrics`` or ``pacing_snapshots`` with more rooms sold than the hotel has, with occupancy."""
    return (
        board.filter(pl.col("rooms_sold") > pl.col("capacity_count"))
        .with_columns((pl.col("rooms_sold") / pl.col("capacity_count")).round(4).alias("occupancy"))
        .sort([c for c in ("hotel_id", "snapshot_date", "stay_date") if c in board.columns])
    )
