"""Per-night board from the vendors that say it per night, read from the raw zone.

Why from the raw zone: the unified model keeps one meal plan per booking, but some vendors post the board per night
(Mews posts a board product order item per night, consumed on that night; Newbook lists inventory items with a
``stay_date``), and a guest may have half board on two nights of five. ``room_nights`` takes a night's board from
here and falls back to the booking's plan where a vendor does not say it per night (Cloudbeds meal plans, OPERA
packages, Beds24 and the legacy CSV attach the board to the whole reservation).

Incremental and idempotent: a ledger (``night_meals_files``) names every raw file already read; a run reads only
new complete files, oldest first, and replaces the nights of the bookings each file carries, in the same
transaction as the ledger rows, so a crash repeats a file but never skips one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from hotel_pipeline.core.collector import collector_paused
from hotel_pipeline.core.vocabularies import BREAKFAST_PLANS, DINNER_PLANS
from hotel_pipeline.core.warehouse import Tx, Warehouse, spec
from hotel_pipeline.sources.pms.base import local_date, pages_with
from hotel_pipeline.sources.pms.mews import MEAL_RANK, MewsConnector, board_plan
from hotel_pipeline.sources.pms.newbook import meal_plan_from
from hotel_pipeline.sources.pms.raw import raw_paths, read_raw

NIGHT_MEALS = spec(
    "night_meals",
    [
        ("hotel_id", "VARCHAR", "portfolio hotel id"),
        ("source", "VARCHAR", "PMS that said it per night"),
        ("external_id", "VARCHAR", "the PMS's booking id"),
        ("stay_date", "DATE", "the night"),
        ("meal_plan", "VARCHAR", "board of that night: RO, BB, HB, FB or unknown"),
        ("breakfast", "BOOLEAN", "breakfast included (served the next morning)"),
        ("dinner", "BOOLEAN", "dinner included that evening"),
        ("raw_file", "VARCHAR", "raw extract the night was read from (relative to the raw zone)"),
    ],
    primary_key=("source", "hotel_id", "external_id", "stay_date"),
    doc="Board per booking and night, where the vendor posts it per night (Mews, Newbook).",
    grain="(source, hotel_id, external_id, stay_date)",
)

NIGHT_MEALS_FILES = spec(
    "night_meals_files",
    [
        ("raw_file", "VARCHAR", "raw extract read (relative to the raw zone)"),
        ("nights", "INTEGER", "booking nights it gave"),
        ("read_at", "TIMESTAMP", "when it was read (clock, UTC)"),
    ],
    primary_key=("raw_file",),
    doc="Ledger of the raw extracts night_meals has read.",
    grain="raw_file",
)

Night = dict[str, Any]


def flags(plan: str) -> tuple[bool, bool]:
    """(breakfast, dinner) of a board."""
    return plan in BREAKFAST_PLANS, plan in DINNER_PLANS


def _night(external_id: str, stay: date, plan: str) -> Night:
    breakfast, dinner = flags(plan)
    return {"external_id": external_id, "stay_date": stay, "meal_plan": plan, "breakfast": breakfast,
            "dinner": dinner}


def mews_nights(pages: list[dict[str, Any]], ctx: dict[str, Any]) -> tuple[set[str], list[Night]]:
    """Mews: board products are order items of the reservation (``ServiceOrderId``) consumed on a night.

    A reservation with board items gets a night row for every night of its stay: the best board consumed that night,
    RO on a night without one. A reservation without board items says nothing per night (the booking's plan holds).
    """
    tz = ctx["timezone"]
    options = ctx.get("options") or {}
    meal_products = dict(options.get("meal_products") or MewsConnector.default_options["meal_products"])
    reservations: dict[str, dict[str, Any]] = {}
    for page in pages_with(pages, "reservations"):
        for r in (page.get("body") or {}).get("Reservations") or []:
            reservations[r["Id"]] = r
    products = {}
    for page in pages_with(pages, "products"):
        for p in (page.get("body") or {}).get("Products") or []:
            products[p["Id"]] = board_plan(p, meal_products)  # any locale, as the connector reads it
    boards: dict[str, dict[date, str]] = defaultdict(dict)
    # A full extract holds hundreds of thousands of order items but only one consumption instant per night or so:
    # each instant is converted to the hotel's date once.
    consumed_on: dict[str | None, date | None] = {}
    for page in pages_with(pages, "orderItems"):
        for item in (page.get("body") or {}).get("OrderItems") or []:
            if item.get("Type") != "ProductOrder" or item.get("AccountingState") == "Canceled":
                continue
            plan = products.get(((item.get("Data") or {}).get("Product") or {}).get("ProductId"))
            if not plan:
                continue
            instant = item.get("ConsumedUtc")
            if instant not in consumed_on:
                consumed_on[instant] = local_date(instant, tz)
            night = consumed_on[instant]
            order = item.get("ServiceOrderId")
            if night and MEAL_RANK[plan] > MEAL_RANK.get(boards[order].get(night, "RO"), 0):
                boards[order][night] = plan
    nights: list[Night] = []
    for rid, per_night in boards.items():
        r = reservations.get(rid)
        if r is None:
            continue
        arrival = local_date(r.get("ScheduledStartUtc"), tz)
        departure = local_date(r.get("ScheduledEndUtc"), tz)
        day = arrival
        while day and departure and day < departure:
            nights.append(_night(rid, day, per_night.get(day, "RO")))
            day += timedelta(days=1)
    return set(reservations), nights


def newbook_nights(pages: list[dict[str, Any]], ctx: dict[str, Any]) -> tuple[set[str], list[Night]]:
    """Newbook: inventory items carrying a ``stay_date`` say the board of that night ("DBB", "Dinner", "Breakfast").

    A booking whose items carry no stay date says nothing per night (the booking's plan holds).
    """
    bookings: dict[str, dict[str, Any]] = {}
    for page in pages_with(pages, "bookings"):
        for b in (page.get("body") or {}).get("data") or []:
            bookings[str(b.get("booking_id"))] = b
    nights: list[Night] = []
    for bid, b in bookings.items():
        dated: dict[date, list[dict[str, Any]]] = defaultdict(list)
        for item in b.get("inventory_items") or []:
            if item.get("stay_date"):
                dated[date.fromisoformat(str(item["stay_date"])[:10])].append(item)
        if not dated:
            continue
        arrival = date.fromisoformat(str(b["booking_arrival"])[:10])
        departure = date.fromisoformat(str(b["booking_departure"])[:10])
        day = arrival
        while day < departure:
            plan = meal_plan_from(dated.get(day, []), None)
            nights.append(_night(bid, day, "RO" if plan == "unknown" else plan))
            day += timedelta(days=1)
    return set(bookings), nights


#: Vendors that post the board per night -> reader of one raw extract: (bookings it carries, their nights).
PER_NIGHT_READERS: dict[str, Callable[[list[dict[str, Any]], dict[str, Any]], tuple[set[str], list[Night]]]] = {
    "mews": mews_nights,
    "newbook": newbook_nights,
}


def update_night_meals(warehouse: Warehouse, raw_root: Path, read_at: datetime) -> dict[str, int]:
    """Read the raw extracts not read yet (oldest first) into ``night_meals``; returns files and nights read."""
    with warehouse.transaction() as tx:
        tx.ensure_table(NIGHT_MEALS)
        tx.ensure_table(NIGHT_MEALS_FILES)
        done = set(tx.query("SELECT raw_file FROM night_meals_files")["raw_file"].to_list())
    files = nights_total = 0
    for source, reader in PER_NIGHT_READERS.items():
        for path in raw_paths(raw_root, source):
            name = str(path.relative_to(raw_root))
            if name in done:
                continue  # by name, unopened: the raw zone only grows, and every run would read it all again
            read = _read(path, reader)
            if read is None:
                continue
            hotel_id, carried, nights = read
            with warehouse.transaction() as tx:
                apply_file(tx, source, hotel_id, name, carried, nights, read_at)
            files += 1
            nights_total += len(nights)
    return {"files": files, "nights": nights_total}


def _read(path: Path, reader: Callable[[list[dict[str, Any]], dict[str, Any]], tuple[set[str], list[Night]]]
          ) -> tuple[str, set[str], list[Night]] | None:
    """One raw extract's hotel, the bookings it carries and their nights; None while the extract is incomplete.

    Parsed and read with the cyclic garbage collector paused, and the parsed file dropped before it resumes: a full
    Mews extract is 130 MB of JSON, millions of objects with no cycle among them, and every collection during the
    read walked them all again (60 % of reading the demo's full extract).
    """
    with collector_paused():
        doc = read_raw(path)
        if not doc.get("complete"):
            return None
        ctx = doc.get("context") or {}
        carried, nights = reader(doc.get("pages") or [], ctx)
        del doc
    return ctx["hotel_id"], carried, nights


def apply_file(tx: Tx, source: str, hotel_id: str, name: str, carried: set[str], nights: list[Night],
               read_at: datetime) -> None:
    """Replace the nights of the bookings one raw file carries, and record the file, in ``tx``."""
    if carried:
        keys = pl.DataFrame({"external_id": sorted(carried)})
        tx.temp_table("_night_meals_carried", keys)
        tx.execute("DELETE FROM night_meals WHERE source = :s AND hotel_id = :h AND external_id IN "
                   "(SELECT external_id FROM _night_meals_carried)", {"s": source, "h": hotel_id})
    if nights:
        frame = pl.DataFrame(nights).with_columns(
            pl.lit(hotel_id).alias("hotel_id"), pl.lit(source).alias("source"), pl.lit(name).alias("raw_file"))
        tx.insert_frame("night_meals", NIGHT_MEALS.conform(frame).unique(
            subset=["source", "hotel_id", "external_id", "stay_date"], keep="last"))
    tx.execute("DELETE FROM night_meals_files WHERE raw_file = :f", {"f": name})
    tx.insert_frame("night_meals_files", NIGHT_MEALS_FILES.conform(pl.DataFrame(
        [{"raw_file": name, "nights": len(nights), "read_at": read_at}])))
