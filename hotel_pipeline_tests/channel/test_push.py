"""Availability, the diff-based calendar push and the reservation push against the Beds24 write-side sandbox."""

from __future__ import annotations

import json
from datetime import timedelta

import polars as pl
import pytest

from hotel_pipeline.channel import outbox
from hotel_pipeline.channel.calendar import full_repush, runs
from hotel_pipeline.channel.client import Beds24Client
from hotel_pipeline.channel.drain import drain_hotel
from hotel_pipeline.channel.inbox import constant_rates, upsert_blocks, upsert_rates
from hotel_pipeline.channel.push import plan_hotel
from hotel_pipeline_tests.channel.helpers import AS_OF, NOW, hotel_channel, land, reservation, seed_rooms, write_side


def _clock():
    return NOW


def _client(hotel, sandbox) -> Beds24Client:
    return Beds24Client(sandbox.base_url, hotel.refresh_token(), backoff_base=0.01, backoff_cap=0.05)


def test_runs_merge_equal_consecutive_nights_only() -> None:
    d = AS_OF
    nights = [(d, "{\"a\":1}"), (d + timedelta(1), "{\"a\":1}"), (d + timedelta(2), "{\"a\":2}"),
              (d + timedelta(4), "{\"a\":2}")]
    assert runs(nights) == [
        {"from": str(d), "to": str(d + timedelta(1)), "a": 1},
        {"from": str(d + timedelta(2)), "to": str(d + timedelta(2)), "a": 2},
        {"from": str(d + timedelta(4)), "to": str(d + timedelta(4)), "a": 2},
    ]


def test_availability_counts_sold_blocks_overbooking_and_rates(duckdb_warehouse) -> None:
    wh, hotel = duckdb_warehouse, hotel_channel()
    seed_rooms(wh)
    land(wh, [reservation("1", "A", AS_OF, 3), reservation("2", "A", AS_OF + timedelta(1), 1),
              reservation("3", "A", AS_OF, 2, status="cancelled"),
              reservation("4", "B", AS_OF, 1), reservation("5", "B", AS_OF, 1), reservation("6", "B", AS_OF, 1)])
    with wh.transaction() as tx:
        upsert_blocks(tx, [{"block_id": "k1", "hotel_id": "H1", "room_number": "A101", "from_date": AS_OF,
                            "to_date": AS_OF + timedelta(1), "reason": "paint", "active": True, "origin": "table"}],
                      NOW.replace(tzinfo=None))
        upsert_rates(tx, constant_rates("H1", ["A"], "BAR", AS_OF, 30, 120.0, min_stay=2), "test",
                     NOW.replace(tzinfo=None))
    plan = plan_hotel(wh, hotel, AS_OF, NOW)
    got = wh.query("SELECT * FROM channel_availability ORDER BY room_type, stay_date")
    a = got.filter(pl.col("room_type") == "A")
    assert a["physical_rooms"][0] == 3
    # night 0: 1 sold + 1 blocked; night 1: 2 sold + 1 blocked; night 2: 1 sold; night 3: free
    assert a["rooms_sold"][:4].to_list() == [1, 2, 1, 0]
    assert a["rooms_out_of_order"][:4].to_list() == [1, 1, 0, 0]
    assert a["units_available"][:4].to_list() == [1, 0, 2, 3]
    assert a["min_stay"][0] == 2 and json.loads(a["prices"][0]) == {"BAR": 120.0}
    b = got.filter(pl.col("room_type") == "B")
    assert (b["units_available"][0], b["overbooked"][0]) == (0, 1)  # 3 sold of 2 rooms: never below zero
    assert got.height == 3 * 30
    assert plan.calendar.rooms == 3


def test_unmapped_room_type_is_listed_and_nothing_of_it_is_pushed(duckdb_warehouse) -> None:
    wh = duckdb_warehouse
    hotel = hotel_channel(types={"A": 500001})
    seed_rooms(wh)
    land(wh, [reservation("1", "A", AS_OF, 2), reservation("2", "C", AS_OF, 2)])
    plan = plan_hotel(wh, hotel, AS_OF, NOW)
    messages = plan.messages("H1")
    assert any("room type 'C'" in m and "no Beds24 roomId" in m for m in messages)
    assert any("room type 'B'" in m for m in messages)
    rows = wh.query("SELECT entity, payload FROM channel_outbox")
    assert set(rows["entity"]) == {"room:500001", "booking:mews:1"}
    assert plan.bookings.unmapped == {"C": 1}


def test_reservations_from_beds24_are_never_pushed_back(duckdb_warehouse) -> None:
    wh, hotel = duckdb_warehouse, hotel_channel()
    seed_rooms(wh)
    land(wh, [reservation("77", "A", AS_OF, 2, source="beds24"), reservation("1", "A", AS_OF, 2)])
    plan = plan_hotel(wh, hotel, AS_OF, NOW)
    assert plan.bookings.skipped_channel_origin == 1
    entities = wh.query("SELECT entity FROM channel_outbox WHERE kind = 'booking'")["entity"].to_list()
    assert entities == ["booking:mews:1"]
    # the Beds24 booking still occupies its room
    a = wh.query("SELECT rooms_sold FROM channel_availability WHERE room_type = 'A' AND stay_date = :d",
                 {"d": AS_OF})
    assert a["rooms_sold"][0] == 2


@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_push_end_to_end_diff_and_lifecycle(request, engine) -> None:
    wh = request.getfixturevalue(f"{engine}_warehouse")
    hotel = hotel_channel()
    seed_rooms(wh)
    with wh.transaction() as tx:
        upsert_rates(tx, constant_rates("H1", ["A", "B", "C"], "BAR", AS_OF, 30, 99.0), "t", NOW.replace(tzinfo=None))
    land(wh, [reservation("1", "A", AS_OF + timedelta(3), 2), reservation("2", "B", AS_OF, 1)])
    with write_side(hotel) as sandbox, _client(hotel, sandbox) as client:
        handler = sandbox.handler
        plan_hotel(wh, hotel, AS_OF, NOW)
        drain_hotel(wh, hotel, _clock, client)
        assert outbox.counts(wh) == {"pending": 0, "sent": 0, "acknowledged": 5, "failed": 0}
        cal = handler.calendar_of("H1", 500001)
        assert len(cal) == 30 and cal[AS_OF] == {"numAvail": 3, "price1": 99.0}
        assert cal[AS_OF + timedelta(3)]["numAvail"] == 2
        (booking,) = [b for b in handler.bookings["H1"].values() if b["apiReference"] == "hp:H1:mews:1"]
        assert (booking["roomId"], booking["arrival"], booking["status"]) == (500001, str(AS_OF + timedelta(3)),
                                                                            "confirmed")
        stored = wh.query("SELECT beds24_id FROM channel_bookings WHERE external_id = '1'")["beds24_id"][0]
        assert stored == booking["id"]
        posts = handler.calendar_posts

        # nothing changed: nothing is queued
        again = plan_hotel(wh, hotel, AS_OF, NOW)
        assert (again.calendar.rooms, again.bookings.creates + again.bookings.updates) == (0, 0)

        # a modification (one night longer) and a cancellation
        later = NOW + timedelta(hours=1)
        land(wh, [reservation("1", "A", AS_OF + timedelta(3), 3), reservation("2", "B", AS_OF, 1,
                                                                             status="cancelled")], at=later)
        plan = plan_hotel(wh, hotel, AS_OF, later)
        assert (plan.bookings.updates, plan.bookings.cancels) == (1, 1)
        rows = wh.query("SELECT entity, payload FROM channel_outbox WHERE state = 'pending' AND kind = 'calendar'")
        by_room = {e: json.loads(p)["calendar"] for e, p in rows.iter_rows()}
        # only the changed nights, one run each
        assert by_room["room:500001"] == [{"from": str(AS_OF + timedelta(5)), "to": str(AS_OF + timedelta(5)),
                                           "numAvail": 2, "price1": 99.0}]
        assert by_room["room:500002"] == [{"from": str(AS_OF), "to": str(AS_OF), "numAvail": 2, "price1": 99.0}]
        drain_hotel(wh, hotel, _clock, client)
        assert handler.calendar_posts == posts + 2
        assert booking["departure"] == str(AS_OF + timedelta(6))
        (b2,) = [b for b in handler.bookings["H1"].values() if b["apiReference"] == "hp:H1:mews:2"]
        assert b2["status"] == "cancelled"
        ops = sorted((o.api_reference, o.op) for o in handler.ops)
        assert ops == [("hp:H1:mews:1", "create"), ("hp:H1:mews:1", "update"), ("hp:H1:mews:2", "cancel"),
                       ("hp:H1:mews:2", "create")]

        # a full re-push is a command: every night again
        full_repush(wh, "H1")
        assert plan_hotel(wh, hotel, AS_OF, later).calendar.nights == 90
        drain_hotel(wh, hotel, _clock, client)
        assert outbox.counts(wh)["pending"] == 0
        assert handler.violations == []


def test_lost_answer_of_a_create_is_read_back_not_sent_twice(duckdb_warehouse) -> None:
    wh, hotel = duckdb_warehouse, hotel_channel(batch_size=2)
    seed_rooms(wh)
    land(wh, [reservation(str(i), "A", AS_OF + timedelta(i), 1) for i in range(1, 9)])
    with write_side(hotel, lost_response_rate=0.5) as sandbox, _client(hotel, sandbox) as client:
        plan_hotel(wh, hotel, AS_OF, NOW)
        report, stats = drain_hotel(wh, hotel, _clock, client)
        assert report.read_back_acknowledged > 0
        creates = [o.api_reference for o in sandbox.handler.ops if o.op == "create"]
        assert sorted(creates) == sorted(f"hp:H1:mews:{i}" for i in range(1, 9))
        assert outbox.counts(wh)["acknowledged"] == 3 + 8
        assert sandbox.handler.violations == []


def test_refused_item_fails_with_its_error_and_holds_back_its_entity(duckdb_warehouse) -> None:
    wh = duckdb_warehouse
    hotel = hotel_channel()
    seed_rooms(wh)
    land(wh, [reservation("1", "A", AS_OF, 2)])
    with write_side(hotel_channel(types={"A": 500001, "B": 500002})) as sandbox, _client(hotel, sandbox) as client:
        plan_hotel(wh, hotel, AS_OF, NOW)
        drain_hotel(wh, hotel, _clock, client)
        failed = wh.query("SELECT entity, last_error, result FROM channel_outbox WHERE state = 'failed'")
        assert failed["entity"].to_list() == ["room:500003"]
        assert "roomId" in failed["last_error"][0] and "not in this account" in failed["last_error"][0]
        # its nights go back to "not pushed", so a later plan queues them again
        state = wh.query("SELECT COUNT(*) AS n FROM channel_calendar_state WHERE room_id = 500003 AND planned IS NULL")
        assert state["n"][0] == 30
        assert outbox.retry_failed(wh) == 1


def test_the_write_side_serves_without_a_traceback(capfd: pytest.CaptureFixture[str]) -> None:
    """Every answer of the write side ends cleanly in the server thread (it once raised after each response, so the
    demo printed a traceback per request)."""
    import httpx

    with write_side(hotel_channel()) as sandbox:
        answer = httpx.get(sandbox.url + "/_sandbox/state", timeout=5)
        assert answer.status_code == 200
    assert "Traceback" not in capfd.readouterr().err
