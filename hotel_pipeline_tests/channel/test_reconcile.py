"""Reconciliation: what Beds24 holds against what it acknowledged; the inventory webhook reconciles its room."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import yaml

from hotel_pipeline.channel.client import Beds24Client
from hotel_pipeline.channel.config import load_channel_config
from hotel_pipeline.channel.drain import drain_hotel
from hotel_pipeline.channel.inbox import import_inbox
from hotel_pipeline.channel.push import plan_hotel
from hotel_pipeline.channel.reconcile import on_inventory_webhook, reconcile_hotel, reconcile_rooms
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

PAYLOAD = json.loads((Path(__file__).parent / "fixtures" / "inventory_webhook_payload.json").read_text())


def test_drift_is_recorded_and_the_webhook_reconciles_only_its_room(duckdb_warehouse, tmp_path: Path) -> None:
    wh, hotel = duckdb_warehouse, hotel_channel()
    seed_rooms(wh)
    land(wh, [reservation("1", "A", AS_OF, 2), reservation("2", "B", AS_OF, 2)])
    with write_side(hotel) as sandbox, Beds24Client(sandbox.base_url, hotel.refresh_token()) as client:
        plan_hotel(wh, hotel, AS_OF, NOW)
        drain_hotel(wh, hotel, lambda: NOW, client)
        clean = reconcile_hotel(wh, hotel, client, AS_OF, NOW)
        assert (clean.drift, clean.nights_checked, clean.bookings_checked) == (0, 90, 2)

        # someone closes a night and moves a booking in the Beds24 UI
        sandbox.handler.edit_calendar("H1", ROOM_IDS["A"], AS_OF + timedelta(days=5), numAvail=0)
        sandbox.handler.edit_calendar("H1", ROOM_IDS["B"], AS_OF + timedelta(days=6), numAvail=0)
        b24 = next(b for b in sandbox.handler.bookings["H1"].values() if b["apiReference"] == "hp:H1:mews:1")
        sandbox.handler.edit_booking("H1", b24["id"], departure=str(AS_OF + timedelta(days=9)))

        config = tmp_path / "channel.yaml"
        config.write_text(yaml.safe_dump({"hotels": {"H1": {
            "beds24": {"base_url": sandbox.base_url, "refresh_token_env": hotel.refresh_token_env},
            "room_types": {t: {"room_id": i} for t, i in ROOM_IDS.items()}, "rate_plans": {"BAR": "price1"},
            "horizon_days": 30}}}))
        # as the webhook receiver calls it, with the stored body
        report = on_inventory_webhook(PAYLOAD, warehouse=wh, config=load_channel_config(config), as_of=AS_OF,
                                      now=lambda: NOW)
        assert report is not None and report.nights_checked == 30  # room 500001 only
        drift = wh.query("SELECT * FROM channel_drift ORDER BY kind, entity")
        assert drift.select("kind", "entity", "field", "intended", "actual", "trigger").rows() == [
            ("booking", "booking:mews:1", "departure", json.dumps(str(AS_OF + timedelta(days=2))),
             json.dumps(str(AS_OF + timedelta(days=9))), "webhook"),
            ("calendar", "room:500001", "numAvail", "3", "0", "webhook"),
        ]
        assert on_inventory_webhook({**PAYLOAD, "roomId": "999"}, warehouse=wh,
                                    config=load_channel_config(config)) is None
        again = reconcile_rooms(wh, "H1", ["500002", "999"], config=load_channel_config(config), as_of=AS_OF,
                                now=lambda: NOW)
        assert again is not None and again.nights_checked == 30 and again.calendar_drift == 1  # room B's night

        # the drifted night is queued again and the next push puts it right
        plan = plan_hotel(wh, hotel, AS_OF, NOW)
        assert (plan.calendar.rooms, plan.calendar.nights) == (2, 2)
        drain_hotel(wh, hotel, lambda: NOW, client)
        assert sandbox.handler.calendar_of("H1", ROOM_IDS["A"])[AS_OF + timedelta(days=5)]["numAvail"] == 3
        assert sandbox.handler.violations == []


def test_block_and_rate_files_from_the_inbox(duckdb_warehouse, tmp_path: Path) -> None:
    wh, hotel = duckdb_warehouse, hotel_channel()
    seed_rooms(wh)
    land(wh, [reservation("1", "B", AS_OF, 1)])
    (tmp_path / "blocks_2016-07-30.csv").write_text(
        "hotel_id,room,from,to,reason\nH1,A101,2016-08-01,2016-08-03,new carpet\nH1,A102,2016-08-02,2016-08-02,leak\n")
    (tmp_path / "blocks_2016-07-31.csv").write_text(
        "hotel_id,room,from,to,reason,action\nH1,A102,2016-08-02,2016-08-02,leak,remove\n")
    (tmp_path / "rates_2016-07-30.csv").write_text(
        "hotel_id,room_type,rate_plan,from,to,price,min_stay\nH1,A,BAR,2016-07-31,2016-08-29,100,1\n"
        "H1,A,BAR,2016-08-05,2016-08-06,150,2\nH1,A,XMAS,2016-08-05,2016-08-06,300,\n")
    report = import_inbox(wh, NOW.replace(tzinfo=None), tmp_path)
    again = import_inbox(wh, NOW.replace(tzinfo=None), tmp_path)
    assert (report.files, again.files) == (3, 3)
    assert wh.query("SELECT COUNT(*) AS n FROM channel_blocks")["n"][0] == 2  # idempotent: upserts by block id
    plan = plan_hotel(wh, hotel, AS_OF, NOW)
    a = wh.query("""SELECT stay_date, rooms_out_of_order, units_available, min_stay, prices FROM channel_availability
                    WHERE room_type = 'A' ORDER BY stay_date""")
    assert a["rooms_out_of_order"][:5].to_list() == [0, 1, 1, 1, 0]  # the removed block frees A102
    assert a["min_stay"][5] == 2 and json.loads(a["prices"][5]) == {"BAR": 150.0}
    assert any("rate plan 'XMAS'" in m for m in plan.messages("H1"))
    calendar = json.loads(wh.query("SELECT payload FROM channel_outbox WHERE entity = 'room:500001'")["payload"][0])
    assert [(e["from"], e["to"], e["numAvail"]) for e in calendar["calendar"][:3]] == [
        ("2016-07-31", "2016-07-31", 3), ("2016-08-01", "2016-08-03", 2), ("2016-08-04", "2016-08-04", 3)]
