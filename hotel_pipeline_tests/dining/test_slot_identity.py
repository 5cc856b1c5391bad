"""A slot on the platform's own terms: its identity includes the config token's template, a seating past midnight
belongs to its service day, and a poll round is planned against the default budget of one request per 2 s."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl

from hotel_pipeline.dining.client import ResyClient, parse_find_body, round_plan, token_template
from hotel_pipeline.dining.config import DiningConfig
from hotel_pipeline.dining.poll import plan_round
from hotel_pipeline.dining.transitions import advance, attempts_frame, observations_frame

DAY = date(2023, 2, 28)
T0 = datetime(2023, 2, 27, 15, 0)  # 10:00 in New York


def find_body(slots: list[dict], day: date = DAY) -> dict:
    """A ``/4/find`` answer in the shape DINING.md documents (query, results.venues[].venue / slots[])."""
    return {"query": {"day": day.isoformat(), "party_size": 2},
            "results": {"venues": [{"venue": {"id": {"resy": 60058}, "name": "Monkey Bar", "price_range": 4,
                                              "location": {"time_zone": "America/New_York",
                                                           "neighborhood": "Midtown East"}},
                                    "slots": slots}], "meta": {"offset": 0, "limit": 1}}}


def slot(start: str, template: str, seating: str = "Dining Room", shift_day: str | None = None) -> dict:
    out = {"config": {"id": 1, "type": seating,
                      "token": f"rgs://resy/60058/{template}/2/{DAY}/{DAY}/{start[11:]}/2/{seating}"},
           "date": {"start": start, "end": start}, "size": {"min": 1, "max": 2}}
    if shift_day:
        out["shift"] = {"service": {"type": {"id": 2}}, "day": shift_day}
    return out


def test_the_token_template_tells_two_slots_at_one_time_and_seating_apart() -> None:
    both = [slot("2023-02-28 19:00:00", "1554"), slot("2023-02-28 19:00:00", "2311")]
    rows = parse_find_body(find_body(both), 60058, DAY, 2)
    assert [r["template"] for r in rows] == ["1554", "2311"]
    assert token_template({"token": "CONFIG_ID1"}) == "CONFIG_ID1" and token_template({"id": 7}) == "7"

    def poll(minute: int, slots: list[dict]) -> tuple[dict, list[dict]]:
        at = T0 + timedelta(minutes=minute)
        attempt = {"provider": "resy", "venue_id": "60058", "party_size": 2, "slot_date": DAY, "polled_at": at,
                   "ok": True}
        return attempt, [{**r, "polled_at": at} for r in parse_find_body(find_body(slots), 60058, DAY, 2)]

    a0, o0 = poll(0, both)
    a1, o1 = poll(1, both[1:])  # one of the two tables was booked
    adv = advance(attempts_frame([a0, a1]), observations_frame(o0 + o1))
    events = sorted(adv.events.select("template", "event_type").rows())
    assert events == [("1554", "BASELINE_AVAILABLE"), ("1554", "CLOSED"), ("2311", "BASELINE_AVAILABLE")]
    assert adv.events["event_id"].n_unique() == 3
    assert adv.slot_state.filter(pl.col("status") == "open")["template"].to_list() == ["2311"]


def test_a_seating_past_midnight_belongs_to_its_service_day() -> None:
    late = [slot("2023-02-28 22:30:00", "1"), slot("2023-03-01 00:30:00", "1", shift_day="2023-02-28"),
            slot("2023-03-01 01:00:00", "1")]  # no shift given: before 06:00 is still the night's service
    rows = parse_find_body(find_body(late), 60058, DAY, 2)  # the body is an observation, not InvalidBody
    assert [(r["slot_date"], r["slot_time"], r["time_bucket"]) for r in rows] == [
        (DAY, "22:30", "off_peak"), (DAY, "24:30", "off_peak"), (DAY, "25:00", "off_peak")]
    at = T0
    adv = advance(attempts_frame([{"provider": "resy", "venue_id": "60058", "party_size": 2, "slot_date": DAY,
                                   "polled_at": at, "ok": True}]),
                  observations_frame([{**r, "polled_at": at} for r in rows]))
    starts = dict(adv.slot_state.select("slot_time", "slot_start_at").rows())
    assert starts["24:30"] == datetime(2023, 3, 1, 5, 30)  # 00:30 EST on 1 March = 05:30 UTC
    assert starts["22:30"] == datetime(2023, 3, 1, 3, 30)


def test_a_slot_of_another_day_still_makes_the_body_invalid() -> None:
    import pytest

    from hotel_pipeline.dining.client import InvalidBody

    with pytest.raises(InvalidBody, match="2023-03-01 19:00"):
        parse_find_body(find_body([slot("2023-03-01 19:00:00", "1")]), 60058, DAY, 2)


def test_the_default_budget_is_one_request_per_two_seconds_and_the_round_plan_says_what_it_costs() -> None:
    config = DiningConfig(base_url="https://api.example", venue_ids=(1, 2, 3), party_sizes=(2, 4), days_ahead=14,
                          time_zone="America/New_York", poll_interval_s=60)
    assert config.min_request_interval_s == 2.0
    client = ResyClient("http://127.0.0.1:9", api_key="k", email="e", password="p")
    try:
        assert client.throttle.min_interval_s == 2.0
    finally:
        client.close()
    plan = plan_round(config, datetime(2023, 2, 27, 15, 0))
    assert plan.requests == 3 * 15 * 2 and plan.seconds == 180.0 and not plan.fits
    assert "180 s" in plan.describe() and "longer than the 60 s poll interval" in plan.describe()
    assert round_plan(20, 2.0, 60).fits and "within" in round_plan(20, 2.0, 60).describe()
