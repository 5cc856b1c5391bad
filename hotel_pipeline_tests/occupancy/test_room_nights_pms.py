"""room_nights through the PMS sandboxes on the real data set (H1 on Mews, H2 on Cloudbeds, real HTTP): exact against
daily_metrics, rooms from the PMS, never two bookings in a room, and the Mews board read per night."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from hotel_pipeline.core.clock import local_instant
from hotel_pipeline.core.portfolio import parse_portfolio
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.occupancy.reconcile import board_mismatches, double_bookings
from hotel_pipeline.sources.pms.http import RetryPolicy
from hotel_pipeline.workshop.sandbox.pms.harness import running_sandbox
from hotel_pipeline.workshop.sandbox.pms.world import World
from hotel_pipeline_tests.occupancy.helpers import build_occupancy
from hotel_pipeline_tests.pipeline_helpers import build_live, clock_at
from hotel_pipeline_tests.pms.helpers import extract

T = date(2016, 7, 31)
#: No faults are injected here: patient timeouts, so a loaded CI machine does not turn slowness into a failure.
PATIENT = RetryPolicy(max_attempts=5, timeout_seconds=60.0, backoff_base_seconds=0.05, backoff_cap_seconds=0.5)
PORTFOLIO = parse_portfolio({"hotels": [
    {"id": h, "name": n, "timezone": "Europe/Lisbon", "currency": "EUR", "capacity": c}
    for h, n, c in (("H1", "Resort Hotel", 187), ("H2", "City Hotel", 226))]})


def test_room_nights_through_mews_and_cloudbeds(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOTEL_PIPELINE_DATA_DIR", str(tmp_path / "data"))
    now = local_instant(T, "Europe/Lisbon", 3)
    world = World(arrival_from=date(2016, 7, 20), arrival_to=date(2016, 8, 10))
    world.set_now(now)
    warehouse = Warehouse(url=f"duckdb:///{tmp_path / 'w.duckdb'}")
    with running_sandbox(world, ["mews", "cloudbeds"]) as sb:
        extract(sb, warehouse, "mews", "H1", now, tmp_path / "raw", retry=PATIENT)
        extract(sb, warehouse, "cloudbeds", "H2", now, tmp_path / "raw", retry=PATIENT)
    clock = clock_at(T)
    build_live(warehouse, clock, PORTFOLIO)
    build_occupancy(warehouse, clock, tmp_path / "raw", PORTFOLIO)

    assert board_mismatches(warehouse).height == 0
    assert double_bookings(warehouse).height == 0
    assert warehouse.read_table("room_conflicts").height == 0  # the PMS never puts two stays in one room
    rn = warehouse.read_table("room_nights")
    per_hotel = rn.group_by("hotel_id", "source").agg(pl.len(), pl.col("room_number").is_not_null().sum())
    assert sorted(per_hotel.select("hotel_id", "source").rows()) == [("H1", "mews"), ("H2", "cloudbeds")]
    assert (per_hotel["room_number"] > 0).all()  # rooms come from the PMS
    # a room named by the PMS is the room the world gave the stay
    mews_ids = {sb_id: ref for ref, sb_id in _mews_ids(world).items()}
    sample = rn.filter(pl.col("room_number").is_not_null() & (pl.col("source") == "mews")).head(50)
    rooms = dict(world.bookings.select("booking_ref", "room_number").iter_rows())
    assert all(rooms[mews_ids[x]] == r for x, r in sample.select("external_id", "room_number").iter_rows())
    # Mews posts the board per night: those nights say so; Cloudbeds' plan is per booking
    sources = dict(rn.group_by("source").agg((pl.col("meal_source") == "night").sum()).iter_rows())
    assert sources["mews"] > 0 and sources["cloudbeds"] == 0
    board = rn.filter(pl.col("meal_source") == "night")
    assert (board["breakfast_included"] == board["meal_plan"].is_in(["BB", "HB", "FB"])).all()


def _mews_ids(world: World) -> dict[int, str]:
    from hotel_pipeline.workshop.sandbox.pms.vendors import vendor_classes

    mews = vendor_classes()["mews"]
    refs = world.bookings.filter(pl.col("hotel_id") == "H1")["booking_ref"].to_list()
    return {r: mews.reservation_id("H1", r) for r in refs}
