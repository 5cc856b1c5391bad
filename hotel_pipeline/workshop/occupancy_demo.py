"""The demo's restaurant side: room nights, the kitchen's forecast and restaurant links for every hotel.

Runs after the pacing demo, through Dagster like production, at 03:30 on its last night: the occupancy assets
(with their blocking checks) from the synced state; then a week of restaurant bookings generated from the room
nights reaches the pipeline the two ways a restaurant sends them: the first hotel's from the Resos-shaped sandbox
API (real HTTP on loopback), the others' as a CSV file in the restaurant inbox. Finally one residents list is
produced for the first hotel under its guest_display policy (logged in pii_access_log).
"""

from __future__ import annotations

import csv
import dataclasses
import os
from datetime import date

import dagster as dg
import polars as pl

from hotel_pipeline.core import settings
from hotel_pipeline.core.clock import Clock, local_instant
from hotel_pipeline.core.portfolio import Portfolio, Source, current_portfolio
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.definitions import build_defs
from hotel_pipeline.defs.tables import with_owned
from hotel_pipeline.occupancy.residents import residents_list
from hotel_pipeline.workshop.demo import DEMO_TAG, NIGHT_TAG
from hotel_pipeline.workshop.sandbox.restaurant.bookings import bookings_csv_rows, generate_bookings
from hotel_pipeline.workshop.sandbox.restaurant.server import API_KEY, ResosSandbox

LAST_NIGHT = date(2016, 7, 31)
OCCUPANCY = ["hotels", "reservations", "reservation_nights", "daily_metrics", "hotel_policies", "night_meals",
             "room_nights", "room_conflicts", "residents_daily"]
RESTAURANT = ["restaurant_booking_records", "restaurant_bookings", "dinner_gaps"]
KEY_ENV = "HOTEL_RESOS_API_KEY_DEMO"


def _run(defs: dg.Definitions, names: list[str], warehouse: Warehouse, clock: Clock,
         instance: dg.DagsterInstance, night: date) -> None:
    assets = [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)
              and any(k.to_user_string() in names for k in a.keys)]
    checks = [c for c in defs.asset_checks or []
              if {s.asset_key.to_user_string() for s in c.check_specs} <= set(names)]
    resources = {"warehouse": warehouse, "clock": clock, "portfolio": defs.resources["portfolio"]}
    # The tables a writer alone writes (night_meals_files beside night_meals) are recorded with it.
    result = dg.materialize([*assets, *checks], instance=instance, resources=resources, selection=with_owned(*names),
                            tags={DEMO_TAG: "true", NIGHT_TAG: night.isoformat()},
                            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}})
    if not result.success:
        raise RuntimeError(f"occupancy demo run of {names} failed")


def with_restaurants(portfolio: Portfolio, resos_url: str) -> Portfolio:
    """The portfolio with a restaurant source per hotel: the first on the Resos sandbox, the others by CSV."""
    hotels = []
    for i, h in enumerate(portfolio.hotels):
        extra = Source("resos", {"base_url": resos_url, "api_key_env": KEY_ENV}) if i == 0 else \
            Source("restaurant_csv", {"file_glob": f"{h.id}_*.csv"})
        hotels.append(dataclasses.replace(h, sources=(*h.sources, extra)))
    return dataclasses.replace(portfolio, hotels=tuple(hotels))


def run_occupancy_demo(warehouse: Warehouse, instance: dg.DagsterInstance, portfolio: Portfolio | None = None,
                       last_night: date = LAST_NIGHT, restaurant_nights: int = 7) -> None:
    portfolio = portfolio or current_portfolio()
    tz = portfolio.hotels[0].timezone
    clock = Clock(frozen_at=local_instant(last_night, tz, 3, 30).isoformat())
    _run(build_defs(portfolio), OCCUPANCY, warehouse, clock, instance, last_night)
    generated = {h.id: generate_bookings(warehouse, h.id, last_night, restaurant_nights) for h in portfolio.hotels}
    inbox = settings.inbox_dir() / "restaurant"
    inbox.mkdir(parents=True, exist_ok=True)
    for h in portfolio.hotels[1:]:
        rows = bookings_csv_rows(generated[h.id])
        with open(inbox / f"{h.id}_{last_night.isoformat()}.csv", "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    os.environ[KEY_ENV] = API_KEY  # a sandbox value, not a secret
    with ResosSandbox(generated[portfolio.hotels[0].id]) as url:
        _run(build_defs(with_restaurants(portfolio, url)), RESTAURANT, warehouse, clock, instance, last_night)
    first = portfolio.hotels[0]
    listed = residents_list(warehouse, first, last_night, 7, requested_by="make demo", now=clock.now_naive_utc())
    print_occupancy(warehouse, listed, first.guest_display)


def print_occupancy(warehouse: Warehouse, listed: pl.DataFrame, policy: str) -> None:
    forecast = warehouse.query(
        "SELECT hotel_id, stay_date, occupied_rooms, arrivals, departures, dbb_rooms, dbb_covers, breakfast_covers "
        "FROM residents_daily WHERE stay_date < as_of_date + 7 ORDER BY hotel_id, stay_date")
    print("\nthe kitchen's forecast (residents_daily), next 7 nights")
    print(f"  {'hotel':<6}{'night':<12}{'rooms':>6}{'arr':>5}{'dep':>5}{'DBB rooms':>10}{'DBB covers':>11}"
          f"{'breakfasts':>11}")
    for row in forecast.iter_rows():
        print(f"  {row[0]:<6}{row[1]!s:<12}{row[2]:>6}{row[3]:>5}{row[4]:>5}{row[5]:>10}{row[6]:>11}{row[7]:>11}")
    links = warehouse.query(
        "SELECT hotel_id, COUNT(*) AS bookings, SUM(CASE WHEN match_method = 'booking_number' THEN 1 ELSE 0 END) AS "
        "by_number, SUM(CASE WHEN match_method = 'room_and_date' THEN 1 ELSE 0 END) AS by_room FROM "
        "restaurant_bookings GROUP BY hotel_id ORDER BY hotel_id")
    gaps = dict(warehouse.query("SELECT hotel_id, COUNT(*) AS n FROM dinner_gaps WHERE gap_kind = "
                                "'dbb_without_booking' GROUP BY hotel_id").iter_rows())
    for hotel_id, bookings, by_number, by_room in links.iter_rows():
        print(f"{hotel_id}: {bookings} restaurant bookings, {by_number} linked by booking number, {by_room} by room "
              f"and date; {gaps.get(hotel_id, 0)} DBB room nights without a table in the next 14 nights")
    tonight = listed.filter(pl.col("stay_date") == listed["stay_date"].min()).head(3) if listed.height else listed
    print(f"residents list (guest_display={policy}, logged in pii_access_log), first rows tonight:")
    for row in tonight.iter_rows(named=True):
        board = "DBB" if row["dinner_included"] else row["meal_plan"]
        print(f"  {row['room']:<14} {row['guest']:<28} {board}")
    print(f"  ... {listed.height} room nights over 7 nights" + (f" from {LAST_NIGHT}" if listed.height else ""))


