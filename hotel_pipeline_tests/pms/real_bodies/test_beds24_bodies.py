"""Beds24 bodies from Beds24's own spec and in its documented idioms, each with its unified row written by hand.

Fixtures: ``beds24/bookings_post_newBooking_request.json`` is the ``newBooking`` example of apiV2.yaml (see
beds24/SOURCES.md). The other bookings below are written here in the spec's ``booking`` shape (and validated against
it), for what the spec documents but gives no example of: every status, group bookings, info items, time zones.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from hotel_pipeline.sources.pms.base import ExtractContext
from hotel_pipeline.sources.pms.beds24 import Beds24Connector, meal_plan_from
from hotel_pipeline.workshop.sandbox.spec import OpenApiSpec

HERE = Path(__file__).parent / "beds24"
PROPERTIES = {"success": True, "type": "property", "count": 1, "pages": {"nextPageExists": False},
              "data": [{"id": 1, "name": "Harbour", "roomTypes": [
                  {"id": 1234567, "name": "Double", "qty": 3, "units": [{"id": 1, "name": "101"},
                                                                         {"id": 2, "name": "102"}]}]}]}


def page(*bookings: dict[str, Any], validate: bool = True) -> dict[str, Any]:
    body = {"success": True, "type": "booking", "count": len(bookings), "pages": {"nextPageExists": False},
            "data": list(bookings)}
    if validate:  # the shape is the spec's
        OpenApiSpec.load("beds24").validate_response("GET", "/bookings", 200, body)
    return {"label": "bookings", "body": body}


def run(*bookings: dict[str, Any], timezone: str = "Europe/Berlin", validate: bool = True):
    ctx = ExtractContext("beds24", "H9", timezone, "EUR", {})
    return Beds24Connector.normalise([{"label": "properties", "body": PROPERTIES},
                                      page(*bookings, validate=validate)], ctx)


def booking(**fields: Any) -> dict[str, Any]:
    base = {"id": 7001, "propertyId": 1, "roomId": 1234567, "unitId": 1, "status": "confirmed",
            "subStatus": "none", "arrival": "2024-03-10", "departure": "2024-03-12", "numAdult": 2, "numChild": 0,
            "price": 240.0, "referer": "Booking.com", "channel": "booking", "rateDescription": "Bed and breakfast",
            "bookingTime": "2024-01-05T09:30:00Z", "modifiedTime": "2024-01-05T09:30:00Z"}
    return {k: v for k, v in {**base, **fields}.items() if v is not None}  # the spec's fields are never null


def one(normalised) -> dict[str, Any]:
    assert normalised.rejects == [], normalised.rejects
    [row] = normalised.reservations.to_dicts()
    return row


def test_the_spec_new_booking_example_as_listed_once_created() -> None:
    [example] = json.loads((HERE / "bookings_post_newBooking_request.json").read_text())
    # what the server adds when it lists the booking it created (id, property, times), written by hand
    listed = {**example, "id": 88001, "propertyId": 1, "bookingTime": "2020-12-01T10:00:00Z",
              "modifiedTime": "2020-12-01T10:00:00Z"}
    listed.pop("mobile")  # the example sends a number where the spec says string; checked on its own below
    row = one(run(listed))
    assert {k: row[k] for k in ("external_id", "status", "arrival_date", "departure_date", "nights", "adults",
                                "children", "babies", "room_type", "room_number", "meal_plan", "channel",
                                "booked_on", "net_amount")} == {
        "external_id": "88001", "status": "confirmed", "arrival_date": date(2021, 1, 1),
        "departure_date": date(2021, 1, 5), "nights": 4, "adults": 2, "children": 1, "babies": None,
        "room_type": "Double", "room_number": None, "meal_plan": "unknown", "channel": None,
        "booked_on": date(2020, 12, 1), "net_amount": None}
    # the example's "mobile": 123456789 (a number) does not fail the booking
    ctx = ExtractContext("beds24", "H9", "Europe/Berlin", "EUR", {})
    body = {"success": True, "data": [{**listed, "mobile": example["mobile"]}]}
    got = Beds24Connector.normalise([{"label": "properties", "body": PROPERTIES}, {"label": "bookings",
                                                                                   "body": body}], ctx)
    assert got.reservations.height == 1 and got.guests["phone_token"].null_count() == 0


def test_front_desk_info_items_and_foreign_info_items() -> None:
    items = [{"id": 1, "code": "NOTE", "text": "Checked in 15:20", "createTime": "2024-03-10T14:20:00Z"},
             {"id": 2, "code": "NOTE", "text": "Checked out 11:05", "createTime": "2024-03-11T10:05:00Z"},
             {"id": 3, "code": "PARKING", "text": "Car HH-AB 123"}]
    row = one(run(booking(infoItems=items)))
    assert (row["status"], row["checked_out_on"]) == ("checked_out", date(2024, 3, 11))  # left a night early
    row = one(run(booking(infoItems=items[:1] + items[2:])))
    assert (row["status"], row["checked_out_on"]) == ("checked_in", None)
    row = one(run(booking(infoItems=[{"code": "CHECKIN", "text": "2024-03-10"}])))  # not a front-desk note
    assert row["status"] == "confirmed"


@pytest.mark.parametrize(("status", "sub"), [("request", "none"), ("inquiry", "none"), ("black", "none"),
                                             ("confirmed", "waitlist")])
def test_requests_inquiries_blocks_and_waitlists_are_skipped_and_counted(status: str, sub: str) -> None:
    got = run(booking(), booking(id=7002, status=status, subStatus=sub))
    assert got.reservations["external_id"].to_list() == ["7001"] and got.rejects == []
    assert sum(got.skipped.values()) == 1


def test_cancelled_no_show_and_an_unknown_status() -> None:
    row = one(run(booking(status="cancelled", subStatus="cancelledByGuest", cancelTime="2024-02-01T08:00:00Z")))
    assert (row["status"], row["cancelled_on"]) == ("cancelled", date(2024, 2, 1))
    row = one(run(booking(status="cancelled", subStatus="noShow", cancelTime="2024-03-11T07:00:00Z")))
    assert (row["status"], row["cancelled_on"]) == ("no_show", date(2024, 3, 11))
    got = run(booking(status="tentative"), validate=False)  # not in the spec's enum: what a new value looks like
    assert got.reservations.height == 0 and "'tentative'" in got.rejects[0]["reason"]


def test_hotel_local_dates_far_from_utc() -> None:
    """Booked at 13:30 UTC on 1 July = 01:30 on 2 July in Auckland: the hotel's business date is the 2nd."""
    row = one(run(booking(bookingTime="2024-07-01T13:30:00Z", status="cancelled",
                          cancelTime="2024-07-03T12:00:00+00:00"), timezone="Pacific/Auckland"))
    assert (row["booked_on"], row["cancelled_on"]) == (date(2024, 7, 2), date(2024, 7, 4))
    row = one(run(booking(bookingTime="2024-07-01T13:30:00Z"), timezone="America/Los_Angeles"))
    assert row["booked_on"] == date(2024, 7, 1)


def test_a_three_room_group_and_a_room_quantity() -> None:
    group = {"master": 7001, "ids": [7001, 7002, 7003]}
    got = run(booking(bookingGroup=group, masterId=7001, price=200.0),
              booking(id=7002, bookingGroup=group, masterId=7001, unitId=2, price=180.0),
              booking(id=7003, bookingGroup=group, masterId=7001, price=220.0, numAdult=1))
    rows = {r["external_id"]: r for r in got.reservations.to_dicts()}
    assert {k: (r["net_amount"], r["adults"]) for k, r in rows.items()} == {
        "7001": (200.0, 2), "7002": (180.0, 2), "7003": (220.0, 1)}
    got = run(booking(id=7100, roomQty=3, price=600.0, unitId=None))
    assert sorted(got.reservations["external_id"]) == ["7100:1", "7100:2", "7100:3"]
    assert got.reservations["net_amount"].to_list() == [200.0, 200.0, 200.0]


@pytest.mark.parametrize(("text", "plan"), [
    ("Breakfast not included", "RO"), ("Room only", "RO"), ("Non-refundable, no breakfast", "RO"),
    ("Bed and breakfast", "BB"), ("Flexible rate incl. breakfast", "BB"), ("B&B", "BB"),
    ("Half board", "HB"), ("Dinner, bed and breakfast", "HB"), ("Full board", "FB"), ("All inclusive", "FB"),
    ("Flexible rate", "unknown"), ("", "unknown"),
])
def test_meal_idioms(text: str, plan: str) -> None:
    assert meal_plan_from(text) == plan


def test_channel_from_the_ota_code_then_api_source_then_referer() -> None:
    assert one(run(booking()))["channel"] == "booking"
    assert one(run(booking(channel=None, apiSource="Airbnb.com")))["channel"] == "Airbnb.com"
    assert one(run(booking(channel=None)))["channel"] == "Booking.com"
