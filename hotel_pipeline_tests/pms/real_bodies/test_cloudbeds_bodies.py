"""Cloudbeds ``getReservationsWithRateDetails`` bodies, each with its unified row written by hand.

Cloudbeds publishes no response example (its OpenAPI file has schemas only), so these bodies are written here in the
operation's documented shape and every one is validated against the bundled spec before it is read: a body the spec
would not allow cannot pass for a real one.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from hotel_pipeline.sources.pms.base import ExtractContext
from hotel_pipeline.sources.pms.cloudbeds import CloudbedsConnector
from hotel_pipeline.workshop.sandbox.spec import OpenApiSpec

OP = "/api/v1.3/getReservationsWithRateDetails"
ROOM_TYPES = {"success": True, "data": [{"roomTypeID": "501", "propertyID": "77", "roomTypeName": "Deluxe Double",
                                         "roomTypeNameShort": "DD"},
                                        {"roomTypeID": "502", "propertyID": "77", "roomTypeName": "Twin",
                                         "roomTypeNameShort": "TW"}]}
FIELDS = ("external_id", "status", "booked_on", "cancelled_on", "checked_out_on", "arrival_date", "departure_date",
          "nights", "room_type", "room_number", "adults", "children", "babies", "meal_plan", "net_amount",
          "gross_amount", "channel")


def room(**fields: Any) -> dict[str, Any]:
    base = {"roomTypeID": "501", "roomTypeName": "Deluxe Double", "subReservationID": "R1", "adults": "2",
            "children": "1", "roomID": "77-101", "roomName": "101", "roomCheckIn": "2024-05-01",
            "roomCheckOut": "2024-05-03", "roomStatus": "not_checked_in",
            "detailedRoomRates": {"2024-05-01": 120.0, "2024-05-02": 130.0}}
    return {**base, **fields}


def reservation(**fields: Any) -> dict[str, Any]:
    base = {"propertyID": "77", "reservationID": "9876543210", "dateCreated": "2024-03-31 20:15:00",
            "dateCreatedUTC": "2024-04-01 03:15:00", "dateModified": "2024-03-31 20:15:00",
            "dateModifiedUTC": "2024-04-01 03:15:00", "status": "confirmed", "reservationCheckIn": "2024-05-01",
            "reservationCheckOut": "2024-05-03", "guestID": "555", "sourceName": "Booking.com",
            "mealPlans": "Breakfast", "total": 265.0, "balance": 265.0, "rooms": [room()]}
    return {**base, **fields}


def run(*reservations: dict[str, Any], timezone: str = "America/Los_Angeles", validate: bool = True):
    body = {"success": True, "data": list(reservations), "count": len(reservations), "total": len(reservations)}
    if validate:
        OpenApiSpec.load("cloudbeds").validate_response("GET", OP, 200, body)
    ctx = ExtractContext("cloudbeds", "H7", timezone, "USD", {})
    return CloudbedsConnector.normalise([{"label": "room_types", "body": ROOM_TYPES},
                                         {"label": "reservations", "body": body}], ctx)


def rows(normalised) -> dict[str, dict[str, Any]]:
    assert normalised.rejects == [], normalised.rejects
    return {r["external_id"]: {k: r[k] for k in FIELDS} for r in normalised.reservations.to_dicts()}


def test_one_room_booking_read_from_the_rate_details_fields() -> None:
    """Los Angeles hotel: created 20:15 local on 31 March = 03:15 UTC on 1 April; the business date is 31 March."""
    assert rows(run(reservation())) == {"9876543210": {
        "external_id": "9876543210", "status": "confirmed", "booked_on": date(2024, 3, 31), "cancelled_on": None,
        "checked_out_on": None, "arrival_date": date(2024, 5, 1), "departure_date": date(2024, 5, 3), "nights": 2,
        "room_type": "DD", "room_number": "101", "adults": 2, "children": 1, "babies": None, "meal_plan": "BB",
        "net_amount": 250.0, "gross_amount": 265.0, "channel": "Booking.com"}}


def test_far_from_utc_the_utc_twin_decides_the_hotel_date() -> None:
    """Auckland: 2024-04-01 03:15 UTC is 16:15 on 1 April local; Los Angeles: still 31 March."""
    r = reservation(dateCreated=None, dateModified=None)
    r = {k: v for k, v in r.items() if v is not None}
    assert rows(run(r, timezone="Pacific/Auckland"))["9876543210"]["booked_on"] == date(2024, 4, 1)
    assert rows(run(r, timezone="America/Los_Angeles"))["9876543210"]["booked_on"] == date(2024, 3, 31)


def test_a_three_room_booking_is_three_reservations_with_their_own_revenue() -> None:
    rooms = [room(),
             room(subReservationID="R2", roomTypeID="502", roomTypeName="Twin", adults="1", children="0",
                  roomID="77-102", roomName="102", detailedRoomRates={"2024-05-01": 90.0, "2024-05-02": 90.0}),
             room(subReservationID="R3", adults="3", children="0", roomName=None, roomID=None,
                  roomCheckIn="2024-05-02", detailedRoomRates={"2024-05-02": 180.0})]
    rooms[2] = {k: v for k, v in rooms[2].items() if v is not None or k == "roomName"}
    got = rows(run(reservation(rooms=rooms, total=655.0)))
    assert sorted(got) == ["9876543210:1", "9876543210:2", "9876543210:3"]
    assert [(got[k]["room_type"], got[k]["room_number"], got[k]["adults"], got[k]["arrival_date"],
             got[k]["nights"], got[k]["net_amount"], got[k]["gross_amount"]) for k in sorted(got)] == [
        ("DD", "101", 2, date(2024, 5, 1), 2, 250.0, 268.44),  # gross 655 split as the nets: 655 * 250 / 610
        ("TW", "102", 1, date(2024, 5, 1), 2, 180.0, 193.28),
        ("DD", None, 3, date(2024, 5, 2), 1, 180.0, 193.28),
    ]
    assert sum(r["net_amount"] for r in got.values()) == 610.0  # every room counted, not a third of the booking


def test_early_check_out_cancellation_and_no_show() -> None:
    left = room(roomCheckOut="2024-05-02", roomStatus="checked_out")
    row = rows(run(reservation(status="checked_out", rooms=[left])))["9876543210"]
    assert (row["departure_date"], row["checked_out_on"], row["nights"]) == (date(2024, 5, 3), date(2024, 5, 2), 2)
    row = rows(run(reservation(status="canceled", dateCancelled="2024-04-10 22:00:00",
                               dateCancelledUTC="2024-04-11 05:00:00")))["9876543210"]
    assert (row["status"], row["cancelled_on"]) == ("cancelled", date(2024, 4, 10))
    row = rows(run(reservation(status="no_show", dateCancelled="2024-05-01 23:00:00")))["9876543210"]
    assert (row["status"], row["cancelled_on"]) == ("no_show", date(2024, 5, 1))
    assert rows(run(reservation(status="not_confirmed")))["9876543210"]["status"] == "confirmed"


@pytest.mark.parametrize(("text", "plan"), [("Breakfast", "BB"), ("Half Board", "HB"), ("Full Board", "FB"),
                                            ("Room Only", "RO"), ("", "unknown")])
def test_meal_plans(text: str, plan: str) -> None:
    assert rows(run(reservation(mealPlans=text)))["9876543210"]["meal_plan"] == plan


def test_unknown_status_and_meal_text_are_quarantined_by_name() -> None:
    got = run(reservation(status="tentative"), validate=False)  # not in the spec's enum
    assert got.reservations.height == 0 and "unknown status 'tentative'" in got.rejects[0]["reason"]
    got = run(reservation(mealPlans="Continental Deluxe"))
    assert got.reservations.height == 0 and "'Continental Deluxe'" in got.rejects[0]["reason"]
    assert "guestList" not in got.rejects[0]["payload"]
