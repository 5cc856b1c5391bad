"""The snapshot partitions start at the portfolio's history start and, with the clock frozen, end at its date."""

from __future__ import annotations

from datetime import UTC, date, datetime

import dagster as dg
import pytest

from hotel_pipeline.core.clock import Clock
from hotel_pipeline.core.horizons import DEFAULT_HISTORY_START
from hotel_pipeline.core.partitions import snapshot_partitions
from hotel_pipeline.core.portfolio import PortfolioError, parse_portfolio
from hotel_pipeline.defs.pacing.schedules import recorder_schedules

HOTEL = {"id": "H1", "name": "Resort Hotel", "timezone": "Europe/Lisbon", "currency": "EUR", "capacity": 187}


def test_a_frozen_clock_ends_the_partitions_at_its_date() -> None:
    portfolio = parse_portfolio({"history_start": "2016-07-01", "hotels": [HOTEL]})
    keys = snapshot_partitions(portfolio, Clock(frozen_at="2016-07-31T02:00:00+00:00")).get_partition_keys()
    assert (keys[0], keys[-1], len(keys)) == ("2016-07-01", "2016-07-31", 31)


def test_the_wall_clock_keeps_today_as_the_last_partition() -> None:
    portfolio = parse_portfolio({"history_start": "2016-07-01", "hotels": [HOTEL]})
    keys = snapshot_partitions(portfolio, Clock(frozen_at=None)).get_partition_keys()
    today = datetime.now(UTC).astimezone(Clock().local_now("Europe/Lisbon").tzinfo).date()
    assert date.fromisoformat(keys[-1]) >= today


def test_history_start_per_hotel_or_portfolio() -> None:
    portfolio = parse_portfolio({"history_start": "2016-01-01", "hotels": [
        HOTEL, {**HOTEL, "id": "H2", "history_start": "2015-03-01"}]})
    assert [h.history_start for h in portfolio.hotels] == [date(2016, 1, 1), date(2015, 3, 1)]
    assert portfolio.history_start == date(2015, 3, 1)
    assert parse_portfolio({"hotels": [HOTEL]}).history_start == DEFAULT_HISTORY_START
    with pytest.raises(PortfolioError, match="history_start must be a date"):
        parse_portfolio({"history_start": "July", "hotels": [HOTEL]})


def test_the_recorder_schedule_requests_no_partition_after_the_frozen_date(monkeypatch) -> None:
    monkeypatch.setenv("HOTEL_PIPELINE_CLOCK", "2016-07-31T02:00:00+00:00")
    (schedule,) = recorder_schedules(parse_portfolio({"history_start": "2016-07-01", "hotels": [HOTEL]}))
    later = schedule.evaluate_tick(dg.build_schedule_context(
        scheduled_execution_time=datetime(2026, 3, 1, 3, 0, tzinfo=UTC)))
    assert later.run_requests == [] and "frozen at 2016-07-31" in later.skip_message
