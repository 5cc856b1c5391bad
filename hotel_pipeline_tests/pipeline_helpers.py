"""Helpers for tests that run the pacing pipeline on the real data set."""

from __future__ import annotations

import csv
import gzip
import shutil
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from hotel_pipeline.core import settings
from hotel_pipeline.core.clock import Clock, local_instant
from hotel_pipeline.core.portfolio import Portfolio, load_portfolio
from hotel_pipeline.core.sql_models import run_model
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.pacing.hotels import write_hotels
from hotel_pipeline.sources.csv.importer import import_file

MONTHS = {m: i + 1 for i, m in enumerate(
    ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November",
     "December"])}
HOTEL_IDS = {"Resort Hotel": "H1", "City Hotel": "H2"}


def clock_at(day: date, hour: int = 3) -> Clock:
    return Clock(frozen_at=local_instant(day, "Europe/Lisbon", hour).isoformat())


@contextmanager
def deployment_instance(home: Path) -> Iterator[dg.DagsterInstance]:
    """A persistent Dagster instance in ``home`` configured as the deployment's embedded default
    (data/dagster_instance.yaml, which ``make`` copies to $DAGSTER_HOME; DAGSTER_HOME names ``home`` meanwhile).

    Why: Dagster's own default SQLite storage (``DagsterInstance.local_temp``) opens a database connection per stored
    event, most of a short run's bookkeeping; the deployment's storage keeps its connections, and the tests then run
    on the storage the deployment runs on."""
    shutil.copy(settings.REPO_ROOT / "data" / "dagster_instance.yaml", home / "dagster.yaml")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAGSTER_HOME", str(home))
        with dg.DagsterInstance.from_config(str(home)) as instance:
            yield instance


def build_live(warehouse: Warehouse, clock: Clock, portfolio: Portfolio | None = None) -> None:
    """hotels -> reservations -> reservation_nights -> daily_metrics, as the nightly job does, in one transaction."""
    with warehouse.transaction() as tx:
        write_hotels(tx, portfolio or load_portfolio(), clock)
        for name in ("reservations", "reservation_nights", "daily_metrics"):
            run_model(tx, name, {"run_at": clock.now_naive_utc()})


def import_full_dataset(warehouse: Warehouse, clock: Clock) -> None:
    import_file(warehouse, settings.DATASET_PATH, load_portfolio(), clock, row_number_ids=True)


def independent_occupancy(path: Path = settings.DATASET_PATH) -> dict:
    """Rooms sold and net revenue per (hotel, as_of E, stay D), computed from the raw CSV with plain Python only.

    Returns a function-like dict builder: rows -> list of parsed bookings; see ``on_books``.
    """
    bookings = []
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            arrival = date(int(row["arrival_date_year"]), MONTHS[row["arrival_date_month"]],
                           int(row["arrival_date_day_of_month"]))
            nights = int(row["stays_in_weekend_nights"]) + int(row["stays_in_week_nights"])
            status_date = date.fromisoformat(row["reservation_status_date"])
            bookings.append({
                "hotel": HOTEL_IDS[row["hotel"]],
                "arrival": arrival,
                "departure": arrival + timedelta(days=nights),
                "booked_on": arrival - timedelta(days=int(row["lead_time"])),
                "cancelled_on": status_date if row["is_canceled"] == "1" else None,
                "checked_out_on": status_date if row["reservation_status"] == "Check-Out" else None,
                "adr": float(row["adr"]),
            })
    return {"bookings": bookings}


def on_books(bookings: list[dict], hotel: str, as_of: date, stay: date) -> tuple[int, float]:
    """The contract's rule, literally: booked by E, arrival <= D < departure, not cancelled by E,
    not checked out on or before min(E, D)."""
    rooms, revenue = 0, 0.0
    for b in bookings:
        if b["hotel"] != hotel or not (b["arrival"] <= stay < b["departure"]) or b["booked_on"] > as_of:
            continue
        if b["cancelled_on"] is not None and b["cancelled_on"] <= as_of:
            continue
        if b["checked_out_on"] is not None and b["checked_out_on"] <= min(as_of, stay):
            continue
        rooms += 1
        revenue += b["adr"]
    return rooms, revenue


def table(warehouse: Warehouse, name: str, order: str) -> pl.DataFrame:
    return warehouse.read_table(name, order_by=order)


def by_key(frame: pl.DataFrame, keys: list[str]) -> dict:
    out = defaultdict(dict)
    for row in frame.iter_rows(named=True):
        out[tuple(row[k] for k in keys)] = row
    return out
