"""The pickup check recomputes every column from the historian, so the mistakes it names cannot pass it: a missing
baseline read as 0 (made consistent, so pace = rooms - STLY still holds) and a month's sum in a per-night column."""

from __future__ import annotations

from datetime import date

import pytest

from hotel_pipeline.core.clock import Clock
from hotel_pipeline.core.schemas import Pickup, validate_frame
from hotel_pipeline.core.schemas import pickup as pickup_schema
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.defs.pacing.checks import check_pickup
from hotel_pipeline_tests.quality.helpers import build_warehouse, reservation, sample_reservations

#: Booked on T-1 (2016-07-30): on the live board, not in snapshot T-1, so pickup_1d = 1 on its three nights.
LATE_BOOKING = reservation("99", arrival=date(2016, 8, 10), nights=3, booked_on=date(2016, 7, 30))

MISTAKES = {
    # coalesce(baseline, 0): every missing T-7 baseline becomes "no rooms then"
    "zero_baseline_7d": "UPDATE pickup SET pickup_7d = rooms_sold WHERE pickup_7d IS NULL",
    # the same for STLY, made consistent so that pace = rooms - STLY still holds
    "zero_baseline_stly": "UPDATE pickup SET rooms_sold_stly = 0, pace_vs_stly = rooms_sold "
                          "WHERE rooms_sold_stly IS NULL",
    # a month's pickup in every night of the month
    "month_sum_1d": "UPDATE pickup SET pickup_1d = (SELECT SUM(q.pickup_1d) FROM pickup q "
                    "WHERE q.hotel_id = pickup.hotel_id AND EXTRACT(month FROM q.stay_date) = "
                    "EXTRACT(month FROM pickup.stay_date)) WHERE pickup_1d IS NOT NULL",
    # revenue pickup against the wrong snapshot's revenue (all of it)
    "revenue_total": "UPDATE pickup SET revenue_pickup_1d = net_revenue WHERE revenue_pickup_1d IS NOT NULL "
                     "AND net_revenue <> 0",
    "occupancy_of_the_wrong_capacity": "UPDATE pickup SET occupancy = ROUND(rooms_sold / 100.0, 4) WHERE rooms_sold > 0",
}
NAMED = {"zero_baseline_7d": "pickup_7d", "zero_baseline_stly": "rooms_sold_stly", "month_sum_1d": "pickup_1d",
         "revenue_total": "revenue_pickup_1d", "occupancy_of_the_wrong_capacity": "occupancy"}


@pytest.fixture
def built(duckdb_warehouse: Warehouse, frozen_clock: Clock) -> Warehouse:
    build_warehouse(duckdb_warehouse, frozen_clock, rows=[*sample_reservations(), LATE_BOOKING])
    return duckdb_warehouse


def test_the_real_model_passes_and_pickup_1d_is_not_trivially_zero(built: Warehouse) -> None:
    result = check_pickup(built)
    assert result.passed, result.description
    assert result.metadata["recomputed_rows"].value == 2 * 365
    picked = built.query("SELECT stay_date, pickup_1d FROM pickup WHERE hotel_id = 'H1' AND pickup_1d <> 0 "
                         "ORDER BY stay_date")
    assert picked.rows() == [(date(2016, 8, 10), 1), (date(2016, 8, 11), 1), (date(2016, 8, 12), 1)]


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_a_planted_mistake_fails_the_check_and_names_its_column(built: Warehouse, mistake: str) -> None:
    built.execute(MISTAKES[mistake])
    planted = built.read_table("pickup")
    if mistake in ("zero_baseline_stly", "zero_baseline_7d"):
        # consistent enough for the arithmetic rules alone: they never saw it
        assert validate_frame(Pickup, planted, pickup_schema.KEY, "pickup").passed
    result = check_pickup(built)
    assert not result.passed
    assert NAMED[mistake] in result.metadata["mismatches_by_column"].value, result.description
    assert "differ from the historian's recomputation" in result.description
