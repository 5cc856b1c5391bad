"""The sandbox world: state at an instant equals the data set's state_as_of, rooms never double-booked, fakes seeded."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from hotel_pipeline.core.clock import local_instant
from hotel_pipeline.sources.csv.dataset import load_history, state_as_of
from hotel_pipeline.workshop.sandbox.pms.world import World


def test_state_at_three_am_equals_state_as_of_the_previous_day() -> None:
    history = load_history().filter(pl.col("hotel_id") == "H1")
    world = World(history)
    for day in (date(2015, 10, 25), date(2016, 3, 27), date(2016, 7, 31)):  # incl. both DST changes
        got = world.state("H1", local_instant(day, "Europe/Lisbon", 3)).select(
            "booking_ref", "status", "cancelled_on", "checked_out_on").sort("booking_ref")
        expected = state_as_of(history, day - timedelta(days=1)).select(
            "booking_ref", "status", "cancelled_on", "checked_out_on").sort("booking_ref")
        assert got.height > 8_000
        assert got.equals(expected), day


def test_no_two_stays_share_a_room_on_a_night() -> None:
    world = World(hotel_ids=["H2"])
    stays = world.bookings.filter(pl.col("room_number").is_not_null()).select(
        "room_number", "assigned_room_type", "arrival_date", pl.max_horizontal("nights", 1).alias("n"))
    nights = stays.with_columns(pl.int_ranges(0, pl.col("n")).alias("i")).explode("i").with_columns(
        (pl.col("arrival_date") + pl.duration(days=pl.col("i"))).alias("night"))
    assert nights.height > 100_000
    assert nights.select("room_number", "night").is_duplicated().sum() == 0
    # a room always holds stays of its own type, and cancelled bookings never hold one
    assert stays.group_by("room_number").agg(pl.col("assigned_room_type").n_unique())["assigned_room_type"].max() == 1
    assert world.bookings.filter(pl.col("final_status") != "checked_out")["room_number"].null_count() == \
        world.bookings.filter(pl.col("final_status") != "checked_out").height


def test_modification_times_follow_the_history_and_fakes_are_seeded() -> None:
    a = World(hotel_ids=["H1"], arrival_from=date(2016, 7, 1), arrival_to=date(2016, 7, 31), seed=3)
    b = World(hotel_ids=["H1"], arrival_from=date(2016, 7, 1), arrival_to=date(2016, 7, 31), seed=3)
    assert a.bookings.select("first_name", "email", "phone").equals(b.bookings.select("first_name", "email", "phone"))
    early = a.state("H1", local_instant(date(2016, 7, 5), "Europe/Lisbon", 3))
    late = a.state("H1", local_instant(date(2016, 8, 5), "Europe/Lisbon", 3))
    both = early.select("booking_ref", "status", "modified_at").join(
        late.select("booking_ref", "status", "modified_at"), on="booking_ref", suffix="_late")
    changed = both.filter(pl.col("status") != pl.col("status_late"))
    assert changed.height > 100
    assert (changed["modified_at_late"] > changed["modified_at"]).all()
    assert (both.filter(pl.col("status") == pl.col("status_late") )["modified_at"]
            <= both.filter(pl.col("status") == pl.col("status_late"))["modified_at_late"]).all()
