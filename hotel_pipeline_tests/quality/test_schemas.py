"""The pandera contracts and anomaly rules on in-memory frames: each rule passes good data and names bad rows."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl
import pytest

from hotel_pipeline.core.schemas import (
    DailyMetrics,
    PacingSnapshots,
    Reservations,
    adr_outliers,
    horizon_gaps,
    over_capacity,
    validate_frame,
    zero_guest_bookings,
)
from hotel_pipeline.core.schemas import reservations as reservations_schema
from hotel_pipeline.sources.csv.dataset import MEAL_PLANS, load_history
from hotel_pipeline_tests.quality.helpers import sample_reservations

SYNCED = datetime(2016, 7, 31, 2, 0)


def reservations_frame(rows: list[dict] | None = None) -> pl.DataFrame:
    frame = pl.DataFrame(rows or sample_reservations(), infer_schema_length=None)
    return frame.with_columns(pl.lit(SYNCED).alias("synced_at"), pl.lit(1).alias("version"))


def board(hotel_id: str = "H1", as_of: date = date(2016, 7, 31), days: int = 365) -> pl.DataFrame:
    stays = [as_of + timedelta(days=i) for i in range(days)]
    return pl.DataFrame({
        "hotel_id": hotel_id, "stay_date": stays, "rooms_sold": [i % 7 for i in range(days)], "capacity_count": 187,
        "net_revenue": 0.0, "gross_revenue": None, "updated_at": SYNCED, "as_of_date": as_of,
    }, schema_overrides={"gross_revenue": pl.Float64})


def snapshot(hotel_id: str, day: date) -> pl.DataFrame:
    return board(hotel_id, day).rename({"as_of_date": "snapshot_date", "updated_at": "recorded_at"}).with_columns(
        pl.lit("reconstructed").alias("origin"))


def failing(frame: pl.DataFrame, model, key: list[str]) -> dict[str, str]:
    """external_id (or key tuple) -> failed rules."""
    v = validate_frame(model, frame, key, "t")
    return {str(tuple(r[k] for k in key)): r["failed_checks"] for r in v.failing_rows.iter_rows(named=True)}


def test_reservations_contract_passes_sample() -> None:
    v = validate_frame(Reservations, reservations_frame(), reservations_schema.KEY, "reservations")
    assert v.passed, v.failure_cases
    assert v.rows_checked == len(sample_reservations())


@pytest.mark.parametrize(("change", "rule"), [
    ({"departure_date": date(2016, 8, 9)}, "departure_is_arrival_plus_nights"),
    ({"booked_on": date(2016, 8, 11)}, "booked_on_not_after_arrival"),
    ({"status": "cancelled", "cancelled_on": date(2016, 5, 1)}, "cancelled_on_not_before_booked_on"),
    ({"status": "checked_out", "checked_out_on": date(2016, 8, 20)}, "checked_out_within_stay"),
    ({"status": "cancelled"}, "cancelled_on_matches_status"),
    ({"checked_out_on": date(2016, 8, 11)}, "checked_out_on_matches_status"),
    ({"is_dbb": True}, "is_dbb_matches_meal_plan"),
    ({"adults": -1}, "greater_than_or_equal_to(0)[adults]"),
    ({"status": "tentative"}, "isin("),
    ({"currency": "euro"}, "str_matches("),
    ({"arrival_date": None}, "not_nullable[arrival_date]"),
])
def test_reservations_contract_names_the_broken_row(change: dict, rule: str) -> None:
    rows = sample_reservations()
    rows[0].update(change)  # external_id "1": arrival 2016-08-10, 2 nights, booked 2016-06-01
    bad = failing(reservations_frame(rows), Reservations, reservations_schema.KEY)
    assert list(bad) == [str(("csv", "H1", "1"))]
    assert rule in bad[str(("csv", "H1", "1"))]


def test_reservations_contract_flags_both_rows_of_a_duplicate_key() -> None:
    rows = [*sample_reservations(), sample_reservations()[1]]
    v = validate_frame(Reservations, reservations_frame(rows), reservations_schema.KEY, "reservations")
    assert v.counts_by_check() == {"multiple_fields_uniqueness": 2}
    assert v.failing_rows["external_id"].to_list() == ["2", "2"]


def test_reservations_contract_holds_on_the_real_data_set() -> None:
    """Every hard rule holds on the 119,390 bookings (final states), shaped as the CSV importer shapes them."""
    h = load_history()
    meal = pl.col("meal").replace_strict(MEAL_PLANS, default="unknown", return_dtype=pl.String)
    frame = h.select(
        "hotel_id", pl.lit("csv").alias("source"), pl.col("booking_ref").cast(pl.String).alias("external_id"),
        "status", "booked_on", "cancelled_on", "checked_out_on", "arrival_date", "departure_date", "nights",
        pl.col("reserved_room_type").alias("room_type"), pl.lit(None, pl.String).alias("room_number"),
        pl.lit(None, pl.String).alias("guest_token"), pl.col("adults").cast(pl.Int64),
        pl.col("children").replace("NA", None).cast(pl.Int64), pl.col("babies").cast(pl.Int64),
        meal.alias("meal_plan"), meal.is_in(["HB", "FB"]).alias("is_dbb"), pl.lit(False).alias("is_package"),
        (pl.col("adr_value") * pl.col("nights")).round(2).alias("net_amount"),
        pl.lit(None, pl.Float64).alias("gross_amount"), pl.lit("EUR").alias("currency"),
        pl.col("distribution_channel").alias("channel"), pl.lit(SYNCED).alias("synced_at"), pl.lit(1).alias("version"),
    )
    v = validate_frame(Reservations, frame, reservations_schema.KEY, "reservations")
    assert v.passed, v.counts_by_check()
    assert v.rows_checked == 119_390
    outliers = adr_outliers(frame)
    assert dict(zip(outliers["external_id"], outliers["adr"], strict=True)) == {"14970": -6.38, "48516": 5400.0}
    assert zero_guest_bookings(frame).height == 180


def test_daily_metrics_contract_dense_board_passes_and_gaps_are_named() -> None:
    good = pl.concat([board("H1"), board("H2")])
    assert validate_frame(DailyMetrics, good, ["hotel_id", "stay_date"], "daily_metrics").passed
    gap_day = date(2016, 8, 15)
    bad = good.filter(~((pl.col("hotel_id") == "H2") & (pl.col("stay_date") == gap_day)))
    bad = bad.with_columns(
        pl.when((pl.col("hotel_id") == "H1") & (pl.col("stay_date") == date(2016, 8, 1)))
        .then(-3).otherwise(pl.col("rooms_sold")).alias("rooms_sold"))
    v = validate_frame(DailyMetrics, bad, ["hotel_id", "stay_date"], "daily_metrics")
    assert v.counts_by_check() == {"dense_horizon": 364, "greater_than_or_equal_to(0)[rooms_sold]": 1}
    gaps = horizon_gaps(bad, ["hotel_id", "as_of_date"], "as_of_date", 365)
    assert gaps.select("hotel_id", "rows", "missing_stay_dates").to_dicts() == [
        {"hotel_id": "H2", "rows": 364, "missing_stay_dates": [gap_day]}]


def test_daily_metrics_contract_rejects_stay_dates_outside_the_horizon_and_mixed_boards() -> None:
    early = board("H1").with_columns(
        pl.when(pl.col("stay_date") == date(2016, 7, 31)).then(date(2016, 7, 30))
        .otherwise(pl.col("stay_date")).alias("stay_date"))
    v = validate_frame(DailyMetrics, early, ["hotel_id", "stay_date"], "daily_metrics")
    assert v.counts_by_check() == {"stay_date_in_horizon": 1}
    assert v.failing_rows["stay_date"].to_list() == [date(2016, 7, 30)]
    mixed = pl.concat([board("H1"), board("H1", date(2017, 8, 1))])
    assert "one_board_per_hotel" in validate_frame(DailyMetrics, mixed, ["hotel_id", "stay_date"], "d").counts_by_check()


def test_pacing_snapshots_contract() -> None:
    key = ["hotel_id", "snapshot_date", "stay_date"]
    good = pl.concat([snapshot("H1", date(2016, 7, 30)), snapshot("H1", date(2016, 7, 31))])
    assert validate_frame(PacingSnapshots, good, key, "pacing_snapshots").passed
    partial = snapshot("H2", date(2016, 7, 31)).head(300)
    stray = snapshot("H1", date(2016, 7, 30)).head(1).with_columns(
        pl.lit(date(2016, 7, 29)).alias("stay_date"), pl.lit(-1, pl.Int64).alias("rooms_sold"),
        pl.lit("guessed").alias("origin"))
    v = validate_frame(PacingSnapshots, pl.concat([good, partial, stray]), key, "pacing_snapshots")
    counts = v.counts_by_check()
    assert counts["dense_horizon"] == 300 + 366
    assert counts["stay_date_in_horizon"] == 1
    assert counts["greater_than_or_equal_to(0)[rooms_sold]"] == 1
    assert any(k.startswith("isin(") for k in counts)
    stray_row = v.failing_rows.filter(pl.col("stay_date") == date(2016, 7, 29)).to_dicts()
    assert len(stray_row) == 1 and "stay_date_in_horizon" in stray_row[0]["failed_checks"]


def test_anomaly_rules() -> None:
    frame = reservations_frame()
    outliers = adr_outliers(frame)
    assert outliers["external_id"].to_list() == ["14970", "48516"]
    assert outliers["adr"].to_list() == [-6.38, 5400.0]
    assert adr_outliers(frame, floor=-10.0, ceiling=6000.0).height == 0
    assert zero_guest_bookings(frame)["external_id"].to_list() == ["5"]
    b = board("H1").with_columns(pl.when(pl.col("stay_date") == date(2016, 8, 3)).then(190)
                                 .otherwise(pl.col("rooms_sold")).alias("rooms_sold"))
    over = over_capacity(b)
    assert over.select("stay_date", "occupancy").to_dicts() == [{"stay_date": date(2016, 8, 3), "occupancy": 1.016}]
