"""The poller against the loopback Resy-style server: auth, throttling, faults, and the in-process equivalence."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import polars as pl
import pytest

from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.dining.client import InvalidBody, ResyClient, parse_find_body
from hotel_pipeline.dining.store import apply_polls_to
from hotel_pipeline.workshop.dining.market import Market, MarketConfig, generate_market, simulate
from hotel_pipeline.workshop.dining.sandbox import (
    API_KEY,
    LOGIN_EMAIL,
    LOGIN_PASSWORD,
    Faults,
    SandboxPlatform,
    SandboxServer,
)
from hotel_pipeline.workshop.dining.simulate import poll_round_http, simulated_polls
from hotel_pipeline_tests.sockets import server_nodelay

START = datetime(2016, 7, 24, 12, 0)  # 08:00 New York: the 09:00 release happens during the span


class SimClock:
    """The platform's and poller's shared simulated clock (naive UTC)."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture(scope="module")
def small_market() -> Market:
    market = generate_market(MarketConfig(venues=4, neighborhoods=2, cancel_rate_range=(150.0, 200.0)))
    simulate(market, START, START + timedelta(hours=4))
    return market


@pytest.fixture
def sandbox(small_market: Market) -> Iterator[tuple[str, SandboxPlatform, SimClock]]:
    clock = SimClock(START)
    platform = SandboxPlatform(small_market, clock, requests_per_second=2000, burst=2000)
    with SandboxServer(platform) as url:
        yield url, platform, clock


def client_for(url: str, **kw) -> ResyClient:
    return ResyClient(url, api_key=API_KEY, email=LOGIN_EMAIL, password=LOGIN_PASSWORD, min_interval_s=0.0,
                      backoff_base_s=0.001, **kw)


def test_find_body_has_resy_shape_and_parses(sandbox, small_market: Market) -> None:
    url, platform, clock = sandbox
    clock.at = START + timedelta(hours=1, minutes=2)  # just after the release of the day 14 days ahead
    day = small_market.released_days(clock.at)[-1]
    with client_for(url, keep_bodies=True) as c:
        res = c.find(1001, day, 2, clock.at)
    assert res.ok and res.status == 200
    body = json.loads(res.body)
    venue = body["results"]["venues"][0]
    assert venue["venue"]["id"]["resy"] == 1001 and venue["venue"]["location"]["time_zone"] == "America/New_York"
    assert body["query"] == {"day": day.isoformat(), "party_size": 2}
    slot = venue["slots"][0]
    assert slot["config"]["token"].startswith(f"rgs://resy/1001/1/1/{day.isoformat()}")
    assert {"start", "end"} <= set(slot["date"]) and slot["size"] == {"min": 2, "max": 2}
    assert [(r["slot_time"], r["seating"]) for r in res.slots] == small_market.open_slots(1001, day, 2, clock.at)


def test_auth_expiry_and_throttling_are_handled(small_market: Market) -> None:
    clock = SimClock(START)
    platform = SandboxPlatform(small_market, clock, requests_per_second=20, burst=2)
    with SandboxServer(platform) as url, client_for(url) as c:
        results = [c.find(1001, small_market.released_days(START)[0], 2, START) for _ in range(6)]
        platform.expire_tokens()
        results.append(c.find(1002, small_market.released_days(START)[0], 4, START))
    assert all(r.ok for r in results)
    assert platform.stats["throttled"] >= 1 and c.stats["throttled"] == platform.stats["throttled"]
    assert c.stats["relogins"] == 1 and platform.stats["unauthorized"] == 1


def test_a_wrong_api_key_is_a_failed_attempt_not_an_observation(sandbox) -> None:
    url, _, _ = sandbox
    bad = ResyClient(url, api_key="wrong", email=LOGIN_EMAIL, password=LOGIN_PASSWORD, min_interval_s=0,
                     backoff_base_s=0.001, max_retries=1)
    with bad:
        res = bad.find(1001, START.date(), 2, START)
    assert not res.ok and res.slots == []


@pytest.mark.parametrize("mode", ["503", "empty", "novenue"])
def test_outage_answers_are_failed_attempts(small_market: Market, mode: str) -> None:
    clock = SimClock(START)
    faults = Faults(outages=[(START, START + timedelta(minutes=5), mode)])
    platform = SandboxPlatform(small_market, clock, faults=faults, requests_per_second=5000, burst=5000)
    with SandboxServer(platform) as url, client_for(url, max_retries=1) as c:
        attempts, obs, _ = poll_round_http(c, small_market, START)
    assert attempts.height > 0 and not attempts["ok"].any() and obs.height == 0


def test_parser_rejects_bodies_that_are_not_observations() -> None:
    day = date(2016, 7, 30)
    for body in (b"", b"   ", b"<html>", b"{}", json.dumps({"query": {"day": "2016-07-30", "party_size": 2},
                                                              "results": {"venues": []}}).encode(),
                 json.dumps({"query": {"day": "2016-07-31", "party_size": 2}, "results": {"venues": []}}).encode()):
        with pytest.raises(InvalidBody):
            parse_find_body(body, 1001, day, 2)
    sold_out = {"query": {"day": "2016-07-30", "party_size": 2},
                "results": {"venues": [{"venue": {"id": {"resy": 1001}, "name": "A"}, "slots": []}]}}
    assert parse_find_body(json.dumps(sold_out).encode(), 1001, day, 2) == []


def test_http_polls_equal_the_in_process_simulation_and_land_in_the_warehouse(
        sandbox, small_market: Market, warehouse: Warehouse) -> None:
    """Real HTTP rounds give exactly the rows the week-long in-process simulation uses; events land idempotently."""
    url, platform, clock = sandbox
    interval = 300.0
    rounds = range(0, 24)  # two hours at 5 minutes, crossing the 09:00 release
    http_a, http_o = [], []
    with client_for(url) as c:
        for k in rounds:
            clock.at = START + timedelta(seconds=k * interval)
            a, o, _ = poll_round_http(c, small_market, clock.at)
            http_a.append(a)
            http_o.append(o)
    http_attempts, http_obs = pl.concat(http_a), pl.concat(http_o)
    sim_attempts, sim_obs = simulated_polls(small_market, START, interval, rounds)
    order = ["venue_id", "party_size", "slot_date", "polled_at"]
    assert http_attempts.sort(order).equals(sim_attempts.sort(order))
    assert http_obs.sort([*order, "slot_time", "seating"]).equals(sim_obs.sort([*order, "slot_time", "seating"]))
    assert http_obs.height > 50

    done = START + timedelta(hours=2)
    first = apply_polls_to(warehouse, http_attempts, http_obs, processed_at=done)
    again = apply_polls_to(warehouse, http_attempts, http_obs, processed_at=done)
    stored = warehouse.read_table("slot_events", order_by="event_id")
    assert first.inserted == stored.height > 0 and again.inserted == 0
    assert set(stored["event_type"]) == {"BASELINE_AVAILABLE", "NEW_DROP", "CLOSED"}
    assert warehouse.query("SELECT COUNT(*) AS n FROM dining_slot_state WHERE status = 'open'")["n"][0] > 0


def test_answers_leave_without_waiting_for_delayed_acks(small_market: Market, monkeypatch: pytest.MonkeyPatch) -> None:
    platform = SandboxPlatform(small_market, SimClock(START))
    server = SandboxServer(platform)
    with server as url:
        assert server_nodelay(server.httpd, url + "/4/find", monkeypatch) == [True]
