"""The channel domain as Dagster runs it: the assets queue, the sensor asks for a drain, the drain job pushes."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import yaml

from hotel_pipeline.channel import outbox
from hotel_pipeline.channel.config import ChannelConfigError, parse_channel_config
from hotel_pipeline.core.clock import Clock
from hotel_pipeline.core.portfolio import load_portfolio
from hotel_pipeline.core.portfolio_resource import PortfolioResource
from hotel_pipeline.defs.channel.definitions import (
    build_defs,
    channel_availability,
    channel_blocks,
    channel_drain_job,
    channel_outbox,
    channel_outbox_sensor,
    channel_rates,
)
from hotel_pipeline_tests.channel.helpers import (
    AS_OF,
    NOW,
    ROOM_IDS,
    hotel_channel,
    land,
    reservation,
    seed_rooms,
    write_side,
)


def test_assets_sensor_and_drain_job_push_for_real(duckdb_warehouse, tmp_path: Path, monkeypatch) -> None:
    wh, hotel = duckdb_warehouse, hotel_channel()
    seed_rooms(wh)
    land(wh, [reservation("1", "A", AS_OF, 2)])
    inbox = tmp_path / "data" / "inbox" / "channel"
    inbox.mkdir(parents=True)
    (inbox / "rates_1.csv").write_text("hotel_id,room_type,rate_plan,from,to,price\nH1,A,BAR,2016-07-31,2017-07-30,88\n")
    monkeypatch.setenv("HOTEL_PIPELINE_DATA_DIR", str(tmp_path / "data"))
    with write_side(hotel) as sandbox:
        config = tmp_path / "channel.yaml"
        config.write_text(yaml.safe_dump({"hotels": {"H1": {
            "beds24": {"base_url": sandbox.base_url, "refresh_token_env": hotel.refresh_token_env},
            "room_types": {t: {"room_id": i} for t, i in ROOM_IDS.items()}, "rate_plans": {"BAR": "price1"}}}}))
        monkeypatch.setenv("HOTEL_CHANNEL_CONFIG", str(config))
        resources = {"warehouse": wh, "clock": Clock(frozen_at=NOW.isoformat()),
                     "portfolio": PortfolioResource.of(load_portfolio())}
        result = dg.materialize([channel_blocks, channel_rates, channel_availability, channel_outbox], resources=resources)
        assert result.success
        assert wh.query("SELECT COUNT(*) AS n FROM channel_availability")["n"][0] == 3 * 365
        with dg.instance_for_test() as instance:
            with dg.build_sensor_context(instance=instance, resources=resources) as context:
                requests = channel_outbox_sensor(context).run_requests
            assert len(requests) == 1
            assert channel_drain_job.execute_in_process(resources=resources, instance=instance).success
            with dg.build_sensor_context(instance=instance, resources=resources) as context:
                assert channel_outbox_sensor(context).skip_reason
        assert outbox.counts(wh) == {"pending": 0, "sent": 0, "failed": 0, "acknowledged": 4}
        assert sandbox.handler.calendar_of("H1", ROOM_IDS["A"])[AS_OF] == {"numAvail": 2, "price1": 88.0}
        assert len(sandbox.handler.bookings["H1"]) == 1
    defs = build_defs(load_portfolio())
    assert {s.name for s in defs.schedules} == {"channel_plan_schedule", "channel_reconcile_schedule"}


def test_mapping_mistakes_are_refused_with_the_reason() -> None:
    base = {"beds24": {"base_url": "http://x", "refresh_token_env": "T"}}
    cases = [
        ({**base, "room_types": {"A": 1, "B": 1}}, "same Beds24 roomId"),
        ({**base, "rate_plans": {"BAR": "price17"}}, "not Beds24 price slots"),
        ({**base, "rate_plans": {"BAR": "price1", "NRF": "price1"}}, "share a price slot"),
        ({**base, "rate_plans": {"BAR": "price1"}, "min_stay_rate_plan": "NRF"}, "not a mapped rate plan"),
        ({"room_types": {"A": 1}}, "beds24.base_url is required"),
    ]
    for raw, reason in cases:
        try:
            parse_channel_config({"hotels": {"H1": raw}})
        except ChannelConfigError as exc:
            assert reason in str(exc)
        else:
            raise AssertionError(f"accepted {raw}")
