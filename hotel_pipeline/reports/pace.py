"""The figures of a hotel's pace report, read from the warehouse as of the hotel's latest pickup date.

One function gathers every number a chart shows (``pace_data``), so the PNG, the HTML page and the test that checks
the page against the warehouse all use the same figures.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hotel_pipeline.core.warehouse import Warehouse

#: Stay dates of the next 90 nights shown in the pickup / pace / occupancy charts.
HORIZON = 90
#: Upcoming nights whose booking curve is drawn (days after T), each against the same night last year.
CURVE_OFFSETS = (7, 30, 60)
#: How far back a booking curve goes (days before the stay).
CURVE_DAYS = 120
#: Same time last year: 364 days back, weekday-aligned (as pickup's STLY).
STLY_DAYS = 364


def _curve(warehouse: Warehouse, hotel_id: str, stay: date, until: date) -> list[dict[str, Any]]:
    frame = warehouse.query(
        "SELECT snapshot_date, rooms_sold FROM pacing_snapshots WHERE hotel_id = :h AND stay_date = :d "
        "AND snapshot_date <= :until AND snapshot_date >= :since ORDER BY snapshot_date",
        {"h": hotel_id, "d": stay, "until": until, "since": stay - timedelta(days=CURVE_DAYS)})
    return [{"days_before": (stay - r["snapshot_date"]).days, "rooms_sold": int(r["rooms_sold"])}
            for r in frame.iter_rows(named=True)]


def pace_data(warehouse: Warehouse, hotel_id: str) -> dict[str, Any]:
    """Everything the report shows for ``hotel_id``; raises LookupError if pickup has no row for it."""
    hotel = warehouse.query("SELECT hotel_id, name, capacity, currency FROM hotels WHERE hotel_id = :h",
                            {"h": hotel_id})
    nights = warehouse.query(
        "SELECT as_of_date, stay_date, rooms_sold, pickup_1d, pickup_7d, pickup_30d, rooms_sold_stly, pace_vs_stly, "
        "occupancy, adr FROM pickup WHERE hotel_id = :h AND stay_date < as_of_date + :n ORDER BY stay_date",
        {"h": hotel_id, "n": HORIZON})
    if nights.height == 0 or hotel.height == 0:
        raise LookupError(f"no pickup for hotel {hotel_id}: run the nightly job (or `make demo`) first")
    as_of = nights["as_of_date"][0]
    curves = []
    for offset in CURVE_OFFSETS:
        stay = as_of + timedelta(days=offset)
        last_year = stay - timedelta(days=STLY_DAYS)
        curves.append({"stay_date": stay.isoformat(), "this_year": _curve(warehouse, hotel_id, stay, as_of),
                       "last_year_stay_date": last_year.isoformat(),
                       "last_year": _curve(warehouse, hotel_id, last_year, as_of - timedelta(days=STLY_DAYS))})
    health = []
    if warehouse.table_exists("integration_status"):
        status = warehouse.query("SELECT * FROM integration_status WHERE hotel_id = :h ORDER BY source",
                                 {"h": hotel_id})
        for r in status.iter_rows(named=True):
            health.append({k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()
                           if k in ("source", "last_status", "last_attempt_at", "last_success_at", "errors",
                                    "last_error", "lag_seconds", "records_fetched")})
    h = hotel.row(0, named=True)
    return {
        "hotel_id": hotel_id, "name": h["name"], "capacity": int(h["capacity"]), "currency": h["currency"],
        "as_of": as_of.isoformat(),
        "nights": [{"stay_date": r["stay_date"].isoformat(), **{k: r[k] for k in (
            "rooms_sold", "pickup_1d", "pickup_7d", "pickup_30d", "rooms_sold_stly", "pace_vs_stly", "occupancy",
            "adr")}} for r in nights.iter_rows(named=True)],
        "curves": curves,
        "health": health,
    }


def hotels_with_pickup(warehouse: Warehouse) -> list[str]:
    if not warehouse.table_exists("pickup"):
        return []
    return warehouse.query("SELECT DISTINCT hotel_id FROM pickup ORDER BY hotel_id")["hotel_id"].to_list()
