"""room_nights on the real data set through the legacy CSV path: exact against daily_metrics and an independent
plain-Python reading of the CSV, never two bookings in a room, and the kitchen's forecast adds up."""

from __future__ import annotations

import csv
import gzip
from collections.abc import Iterator
from datetime import date, timedelta

import polars as pl
import pytest

from hotel_pipeline.core import settings
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.occupancy.reconcile import board_mismatches, double_bookings
from hotel_pipeline_tests.occupancy.helpers import build_occupancy
from hotel_pipeline_tests.pipeline_helpers import (
    HOTEL_IDS,
    MONTHS,
    build_live,
    clock_at,
    import_full_dataset,
    independent_occupancy,
    on_books,
)

T = date(2016, 7, 31)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    with pytest.MonkeyPatch.context() as mp:
        data = tmp_path_factory.mktemp("data")
        mp.setenv("HOTEL_PIPELINE_DATA_DIR", str(data))
        warehouse = Warehouse(url=f"duckdb:///{tmp_path_factory.mktemp('wh') / 'w.duckdb'}")
        clock = clock_at(T)
        import_full_dataset(warehouse, clock)
        build_live(warehouse, clock)
        build_occupancy(warehouse, clock, data / "raw")
        yield warehouse


def test_room_nights_equal_rooms_sold_every_night(live: Warehouse) -> None:
    assert board_mismatches(live).height == 0
    totals = live.query("SELECT (SELECT SUM(rooms_sold) FROM daily_metrics) AS sold, "
                        "(SELECT COUNT(*) FROM room_nights) AS nights")
    assert totals["sold"][0] == totals["nights"][0] > 10_000
    assert double_bookings(live).height == 0


def test_the_data_set_has_no_rooms_so_every_night_is_unassigned_with_a_stable_sequence(live: Warehouse) -> None:
    rn = live.read_table("room_nights")
    assert rn["room_number"].null_count() == rn.height
    per_night = rn.group_by("hotel_id", "stay_date").agg(pl.col("unassigned_seq").sort().alias("seq"), pl.len())
    assert all(s == list(range(1, n + 1)) for s, n in per_night.select("seq", "len").iter_rows())
    assert rn["guest_display"].str.starts_with("Guest, unassigned #").all()
    assert rn["guest_policy"].unique().to_list() == ["none"]


@pytest.mark.parametrize(("hotel", "stay"), [("H1", T), ("H2", T + timedelta(days=5)), ("H1", date(2016, 8, 20))])
def test_room_nights_match_the_raw_csv(live: Warehouse, hotel: str, stay: date) -> None:
    rooms, _ = on_books(independent_occupancy()["bookings"], hotel, T - timedelta(days=1), stay)
    got = live.query("SELECT COUNT(*) AS n FROM room_nights WHERE hotel_id = :h AND stay_date = :d",
                     {"h": hotel, "d": stay})
    assert got["n"][0] == rooms > 0


def _raw_dinner_covers(hotel: str, stay: date) -> tuple[int, int]:
    """(DBB rooms, DBB covers) of a night from the raw CSV: HB or FB bookings on the books, adults + children."""
    as_of = T - timedelta(days=1)
    rooms = covers = 0
    with gzip.open(settings.DATASET_PATH, "rt", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if HOTEL_IDS[row["hotel"]] != hotel or row["meal"].strip() not in ("HB", "FB"):
                continue
            arrival = date(int(row["arrival_date_year"]), MONTHS[row["arrival_date_month"]],
                           int(row["arrival_date_day_of_month"]))
            nights = int(row["stays_in_weekend_nights"]) + int(row["stays_in_week_nights"])
            status_date = date.fromisoformat(row["reservation_status_date"])
            if not (arrival <= stay < arrival + timedelta(days=nights)):
                continue
            if arrival - timedelta(days=int(row["lead_time"])) > as_of:
                continue
            if row["is_canceled"] == "1" and status_date <= as_of:
                continue
            if row["reservation_status"] == "Check-Out" and status_date <= min(as_of, stay):
                continue
            rooms += 1
            covers += int(row["adults"]) + (0 if row["children"] == "NA" else int(row["children"]))
    return rooms, covers


def test_residents_daily_is_the_kitchens_forecast(live: Warehouse) -> None:
    rd = live.read_table("residents_daily", order_by="hotel_id, stay_date")
    board = live.read_table("daily_metrics", order_by="hotel_id, stay_date")
    assert rd.height == board.height == 2 * 365
    assert rd["occupied_rooms"].to_list() == board["rooms_sold"].to_list()
    assert (rd["stayovers"] == rd["occupied_rooms"] - rd["arrivals"]).all()
    # tonight's in-house rooms = yesterday's minus departures plus arrivals, on every night after the first
    for hotel in ("H1", "H2"):
        h = rd.filter(pl.col("hotel_id") == hotel)
        prev = h["occupied_rooms"].shift(1)
        flow = (prev - h["departures"] + h["arrivals"]).slice(1, 60)
        assert flow.to_list() == h["occupied_rooms"].slice(1, 60).to_list(), hotel
    night = rd.filter((pl.col("hotel_id") == "H1") & (pl.col("stay_date") == T + timedelta(days=3)))
    assert (night["dbb_rooms"][0], night["dbb_covers"][0]) == _raw_dinner_covers("H1", T + timedelta(days=3))
    assert night["dbb_rooms"][0] > 0
    assert night["breakfast_covers"][0] >= night["dbb_covers"][0]


def test_the_demo_leaves_room_nights_forecast_and_restaurant_links_for_both_hotels(live: Warehouse) -> None:
    """The demo's occupancy step on the real data set (run last: it adds restaurant bookings to this warehouse)."""
    import dagster as dg

    from hotel_pipeline.core.portfolio import load_portfolio
    from hotel_pipeline.workshop.demo import NIGHT_TAG
    from hotel_pipeline.workshop.occupancy_demo import run_occupancy_demo

    with dg.DagsterInstance.ephemeral() as instance:
        run_occupancy_demo(live, instance, load_portfolio(), last_night=T)
        runs = instance.get_runs()  # tagged with the night, as every run the demo launches
        assert runs and all(r.tags.get(NIGHT_TAG) == T.isoformat() for r in runs)
        # What the steps wrote beside their own tables is recorded too: the UI shows none "Never materialized".
        for key in ("night_meals", "night_meals_files", "restaurant_booking_records", "guest_keys", "guest_vault"):
            assert instance.get_latest_materialization_event(dg.AssetKey(key)) is not None, key
    assert board_mismatches(live).height == 0
    per_hotel = live.query(
        "SELECT hotel_id, source, COUNT(*) AS bookings, SUM(CASE WHEN match_method = 'booking_number' THEN 1 ELSE 0 "
        "END) AS linked FROM restaurant_bookings GROUP BY hotel_id, source ORDER BY hotel_id")
    assert per_hotel.select("hotel_id", "source").rows() == [("H1", "resos"), ("H2", "restaurant_csv")]
    assert (per_hotel["linked"] > 0).all() and (per_hotel["bookings"] > per_hotel["linked"]).all()
    gaps = live.query("SELECT hotel_id, gap_kind, COUNT(*) AS n FROM dinner_gaps GROUP BY hotel_id, gap_kind")
    assert set(gaps.select("hotel_id", "gap_kind").rows()) == {
        (h, k) for h in ("H1", "H2") for k in ("dbb_without_booking", "booking_without_resident")}
    rd = live.query("SELECT hotel_id, SUM(occupied_rooms) AS rooms FROM residents_daily GROUP BY hotel_id")
    assert (rd["rooms"] > 0).all() and rd.height == 2
    log = live.read_table("pii_access_log")
    assert log.height == 1 and log["names_shown"][0] == 0 and log["policy"][0] == "none"
