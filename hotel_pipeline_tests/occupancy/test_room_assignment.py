"""Rooms from the source, conflicts resolved into room_conflicts, per-night board, on DuckDB and Postgres alike."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import polars as pl

from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.occupancy.reconcile import board_mismatches, double_bookings
from hotel_pipeline.unified import accept_reservations
from hotel_pipeline_tests.occupancy.helpers import build_occupancy
from hotel_pipeline_tests.pipeline_helpers import build_live, clock_at

T = date(2016, 7, 31)


def booking(ref: str, arrival: date, nights: int, room: str | None, booked: date = date(2016, 6, 1),
            meal: str = "BB", **extra) -> dict:
    return {"hotel_id": "H1", "source": "mews", "external_id": ref, "status": "confirmed", "booked_on": booked,
            "arrival_date": arrival, "departure_date": date.fromordinal(arrival.toordinal() + nights),
            "nights": nights, "room_type": "A", "room_number": room, "adults": 2, "children": 0, "babies": 0,
            "meal_plan": meal, "is_dbb": meal in ("HB", "FB"), "is_package": False, "net_amount": 100.0 * nights,
            "currency": "EUR", "channel": "Direct", **extra}


BOOKINGS = [
    booking("r1", T, 3, "A101", meal="HB"),
    booking("r2", date(2016, 8, 1), 2, "A101", booked=date(2016, 6, 5)),  # claims A101 on Aug 1-2, held by r1
    booking("r3", T, 1, None, meal="RO"),
    booking("r4", T, 2, None, booked=date(2016, 5, 1)),
    booking("r5", T, 2, "A102", status="cancelled", cancelled_on=date(2016, 7, 1)),  # frees A102
    booking("r6", T, 2, "A102", booked=date(2016, 7, 2)),
]


def build(warehouse: Warehouse, tmp_path: Path) -> None:
    with warehouse.transaction() as tx:
        accept_reservations(tx, pl.DataFrame(BOOKINGS, infer_schema_length=None),
                            source_as_of=datetime(2016, 7, 30), synced_at=datetime(2016, 7, 30), batch_id="t")
    clock = clock_at(T)
    build_live(warehouse, clock)
    build_occupancy(warehouse, clock, tmp_path / "raw")


def test_rooms_conflicts_and_sequences(warehouse: Warehouse, tmp_path: Path) -> None:
    build(warehouse, tmp_path)
    assert board_mismatches(warehouse).height == 0
    assert double_bookings(warehouse).height == 0
    rn = warehouse.query("SELECT stay_date, room_number, unassigned_seq, claimed_room, external_id, night_index, "
                         "is_dbb, dinner_included, breakfast_included, guest_display FROM room_nights "
                         "ORDER BY stay_date, room_number NULLS LAST, unassigned_seq")
    tonight = rn.filter(pl.col("stay_date") == T)
    assert tonight.select("room_number", "unassigned_seq", "external_id").rows() == [
        ("A101", None, "r1"), ("A102", None, "r6"), (None, 1, "r4"), (None, 2, "r3")]
    aug1 = rn.filter(pl.col("stay_date") == date(2016, 8, 1))
    displaced = aug1.filter(pl.col("external_id") == "r2").row(0, named=True)
    assert displaced["room_number"] is None and displaced["claimed_room"] == "A101"
    assert displaced["guest_display"] == f"Guest, unassigned #{displaced['unassigned_seq']}"
    r1 = rn.filter(pl.col("external_id") == "r1")
    assert r1["night_index"].to_list() == [0, 1, 2]
    assert r1["is_dbb"].all() and r1["dinner_included"].all() and r1["breakfast_included"].all()
    assert r1["guest_display"].to_list() == ["Guest, room A101"] * 3
    conflicts = warehouse.query("SELECT stay_date, room_number, kept_external_id, displaced_external_id "
                                "FROM room_conflicts ORDER BY stay_date")
    assert conflicts.rows() == [(date(2016, 8, 1), "A101", "r1", "r2"), (date(2016, 8, 2), "A101", "r1", "r2")]
    residents = warehouse.query("SELECT occupied_rooms, arrivals, departures, dbb_rooms, dbb_covers, "
                                "breakfast_covers FROM residents_daily WHERE stay_date = :d", {"d": T})
    assert residents.row(0) == (4, 4, 0, 1, 2, 6)


def test_a_rerun_changes_nothing_and_past_nights_stay(duckdb_warehouse: Warehouse, tmp_path: Path) -> None:
    build(duckdb_warehouse, tmp_path)
    first = duckdb_warehouse.read_table("room_nights", order_by="stay_date, external_id")
    build_occupancy(duckdb_warehouse, clock_at(T), tmp_path / "raw")
    assert duckdb_warehouse.read_table("room_nights", order_by="stay_date, external_id").equals(first)
    later = clock_at(date(2016, 8, 2))
    build_live(duckdb_warehouse, later)
    build_occupancy(duckdb_warehouse, later, tmp_path / "raw")
    after = duckdb_warehouse.read_table("room_nights", order_by="stay_date, external_id")
    kept = after.filter(pl.col("stay_date") < date(2016, 8, 2))
    assert kept.equals(first.filter(pl.col("stay_date") < date(2016, 8, 2)))
    assert board_mismatches(duckdb_warehouse).height == 0
