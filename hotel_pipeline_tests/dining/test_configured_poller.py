"""The poller polls the venues the portfolio names, on the platform it names; one served market stays one market."""

from __future__ import annotations

from datetime import datetime, timedelta

import dagster as dg
import pytest

from hotel_pipeline.core.clock import Clock
from hotel_pipeline.core.portfolio import PortfolioError, parse_portfolio
from hotel_pipeline.core.portfolio_resource import PortfolioResource
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.defs.dining.definitions import DiningPollConfig, dining_poll_sensor, slot_events
from hotel_pipeline.dining.config import dining_config, parse_dining
from hotel_pipeline.dining.platform import DiningPlatform
from hotel_pipeline.dining.transitions import advance
from hotel_pipeline.workshop.dining.market import MarketConfig
from hotel_pipeline.workshop.dining.sandbox import API_KEY, LOGIN_EMAIL, LOGIN_PASSWORD
from hotel_pipeline.workshop.dining.serve import MarketSandbox, serve_market
from hotel_pipeline.workshop.dining.simulate import simulated_polls

START = datetime(2016, 7, 25, 16, 0)  # noon in New York: cancellations are frequent
HOTEL = {"id": "H1", "name": "Resort Hotel", "timezone": "Europe/Lisbon", "currency": "EUR", "capacity": 187}
CREDENTIALS = DiningPlatform(api_key=API_KEY, email=LOGIN_EMAIL, password=LOGIN_PASSWORD)


def portfolio_for(sandbox: MarketSandbox, **overrides) -> PortfolioResource:
    return PortfolioResource.of(parse_portfolio({"hotels": [HOTEL], "dining": sandbox.dining_section(**overrides)}))


def poll(sandbox: MarketSandbox, warehouse: Warehouse, portfolio: PortfolioResource, at: datetime,
         credentials: DiningPlatform = CREDENTIALS) -> dg.ExecuteInProcessResult:
    sandbox.clock.at = at
    return dg.materialize([slot_events], resources={
        "warehouse": warehouse, "clock": Clock(frozen_at=at.isoformat()), "dining": credentials,
        "portfolio": portfolio}, run_config=dg.RunConfig(ops={"slot_events": DiningPollConfig(round_at=at.isoformat())}))


def test_thirty_rounds_against_one_market_see_the_drops_of_one_consistent_simulation(
        duckdb_warehouse: Warehouse) -> None:
    """Each round asks the same served market: the NEW_DROPs are those of polling that one simulation."""
    config = MarketConfig(venues=2, neighborhoods=2, party_sizes=(2,), release_days_ahead=2,
                          cancel_rate_range=(200.0, 300.0))
    interval = 120.0
    rounds = range(30)
    with serve_market(START - timedelta(days=1), START + timedelta(hours=2), config) as sandbox:
        portfolio = portfolio_for(sandbox, poll_interval_s=interval)
        for k in rounds:  # the asset itself, invoked directly (a full run per round only adds Dagster's overhead)
            at = START + timedelta(seconds=k * interval)
            sandbox.clock.at = at
            with dg.build_asset_context(resources={
                    "warehouse": duckdb_warehouse, "clock": Clock(frozen_at=at.isoformat()), "dining": CREDENTIALS,
                    "portfolio": portfolio}) as ctx:
                list(slot_events(ctx, DiningPollConfig(round_at=at.isoformat())))  # a multi_asset yields its results
        attempts, obs = simulated_polls(sandbox.market, START, interval, rounds)
    expected = advance(attempts, obs).events
    key = ["venue_id", "slot_date", "slot_time", "seating", "party_size", "observed_at"]
    got = duckdb_warehouse.query("SELECT * FROM slot_events WHERE event_type = 'NEW_DROP'").select(key).sort(key)
    want = expected.filter(expected["event_type"] == "NEW_DROP").select(key).sort(key)
    assert want.height >= 5, want
    assert got.equals(want)


def test_only_the_configured_venues_and_party_sizes_are_polled(duckdb_warehouse: Warehouse) -> None:
    with serve_market(START - timedelta(days=1), START + timedelta(hours=1), MarketConfig(venues=4)) as sandbox:
        portfolio = portfolio_for(sandbox, venues=[1002, 1004], party_sizes=[4], days_ahead=14)
        result = poll(sandbox, duckdb_warehouse, portfolio, START)
    assert result.success
    polled = duckdb_warehouse.query("SELECT DISTINCT venue_id, party_size FROM dining_poll_state ORDER BY venue_id")
    assert polled.rows() == [("1002", 4), ("1004", 4)]
    days = dining_config(portfolio.get()).released_days(START)
    assert result.asset_materializations_for_node("slot_events")[0].metadata["polls"].value == 2 * len(days)


def test_missing_credentials_fail_the_round_by_name(duckdb_warehouse: Warehouse) -> None:
    with serve_market(START, START + timedelta(hours=1), MarketConfig(venues=1)) as sandbox:
        with pytest.raises(dg.Failure, match="HOTEL_DINING_PASSWORD"):
            poll(sandbox, duckdb_warehouse, portfolio_for(sandbox), START,
                 credentials=DiningPlatform(api_key=API_KEY, email=LOGIN_EMAIL))


def test_without_a_dining_section_nothing_is_polled(duckdb_warehouse: Warehouse) -> None:
    portfolio = PortfolioResource.of(parse_portfolio({"hotels": [HOTEL]}))
    assert dining_config(portfolio.get()) is None
    ctx = dg.build_sensor_context(resources={"clock": Clock(frozen_at=START.isoformat()), "portfolio": portfolio})
    assert isinstance(dining_poll_sensor(ctx), dg.SkipReason)


def test_the_sensor_follows_the_configured_interval() -> None:
    portfolio = PortfolioResource.of(parse_portfolio({"hotels": [HOTEL], "dining": {
        "base_url": "http://127.0.0.1:9", "venues": [1], "poll_interval_s": 300}}))

    def tick(at: str, cursor: str | None):
        return dining_poll_sensor(dg.build_sensor_context(cursor=cursor, resources={
            "clock": Clock(frozen_at=at), "portfolio": portfolio}))

    first = tick("2016-07-25T14:00:00+00:00", None)
    assert first.cursor == "2016-07-25T14:00:00"
    assert isinstance(tick("2016-07-25T14:04:59+00:00", first.cursor), dg.SkipReason)
    assert tick("2016-07-25T14:05:00+00:00", first.cursor).run_requests[0].run_key == "dining-round-2016-07-25T14:05:00"


@pytest.mark.parametrize(("section", "message"), [
    ({"venues": [1]}, "base_url is required"),
    ({"base_url": "http://x", "venues": []}, "venues must name at least one"),
    ({"base_url": "http://x", "venues": [1], "provider": "opentable"}, "provider 'opentable'"),
    ({"base_url": "http://x", "venues": [1], "time_zone": "Mars/Olympus"}, "not an IANA time zone"),
    ({"base_url": "http://x", "venues": [1], "release_hour": 24}, "release_hour"),
])
def test_a_wrong_dining_section_is_refused_with_the_field(section: dict, message: str) -> None:
    with pytest.raises(PortfolioError, match=message):
        parse_dining(section)


def test_days_are_polled_once_released() -> None:
    cfg = parse_dining({"base_url": "http://x", "venues": [1], "time_zone": "America/New_York", "days_ahead": 2,
                        "release_hour": 9})
    before, after = datetime(2016, 7, 25, 12, 59), datetime(2016, 7, 25, 13, 0)  # 08:59 and 09:00 in New York
    assert [d.day for d in cfg.released_days(before)] == [25, 26]
    assert [d.day for d in cfg.released_days(after)] == [25, 26, 27]
