"""OPERA Cloud: the examples of Oracle's own rsv.json, each with its unified row written by hand.

Fixtures (see SOURCES.md; UPL 1.0): ``opera/rsv_getReservations_response.json`` (the list operation's example, three
reservations) and ``opera/rsv_getReservation_byId_response.json`` (the detail operation's example). The examples print
counts and amounts as strings and the room as ``roomNumber`` (the schema: integers, numbers, ``roomId``); the
connector reads both. Further bodies below are written in the schema's shape for what the examples do not show.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from hotel_pipeline.sources.pms.base import ExtractContext
from hotel_pipeline.sources.pms.opera import OperaConnector
from hotel_pipeline.workshop.sandbox.spec import OpenApiSpec

HERE = Path(__file__).parent / "opera"
FIELDS = ("external_id", "status", "booked_on", "cancelled_on", "checked_out_on", "arrival_date", "departure_date",
          "nights", "room_type", "room_number", "adults", "children", "babies", "meal_plan", "net_amount",
          "currency", "channel")


def run(body: dict[str, Any], timezone: str = "America/Los_Angeles"):
    ctx = ExtractContext("opera", "HOTEL1", timezone, "USD", {})
    return OperaConnector.normalise([{"label": "reservations", "body": body}], ctx)


def rows(normalised) -> dict[str, dict[str, Any]]:
    assert normalised.rejects == [], normalised.rejects
    return {r["external_id"]: {k: r[k] for k in FIELDS} for r in normalised.reservations.to_dicts()}


def test_the_list_example_gives_four_room_reservations() -> None:
    got = rows(run(json.loads((HERE / "rsv_getReservations_response.json").read_text())))
    assert got == {
        "236552": {"external_id": "236552", "status": "checked_out", "booked_on": date(2020, 1, 9),
                   "cancelled_on": None, "checked_out_on": date(2020, 5, 9), "arrival_date": date(2020, 5, 8),
                   "departure_date": date(2020, 5, 9), "nights": 1, "room_type": "STDQ", "room_number": "2010",
                   "adults": 2, "children": 1, "babies": None, "meal_plan": "unknown", "net_amount": 100.0,
                   "currency": "USD", "channel": "CWEB"},
        "267803": {"external_id": "267803", "status": "checked_out", "booked_on": date(2020, 7, 10),
                   "cancelled_on": None, "checked_out_on": date(2020, 5, 9), "arrival_date": date(2020, 5, 8),
                   "departure_date": date(2020, 5, 9), "nights": 1, "room_type": "STDK", "room_number": "304",
                   "adults": 2, "children": 1, "babies": None, "meal_plan": "unknown", "net_amount": 106.0,
                   "currency": "USD", "channel": "TRAVAG1"},
        # numberOfRooms "2": one unified reservation per room, each at the per-room rate; a no-show without
        # cancellationInfo is dated on its arrival day
        **{f"238564:{n}": {"external_id": f"238564:{n}", "status": "no_show", "booked_on": date(2020, 1, 14),
                           "cancelled_on": date(2020, 5, 8), "checked_out_on": None,
                           "arrival_date": date(2020, 5, 8), "departure_date": date(2020, 5, 9), "nights": 1,
                           "room_type": "STDK", "room_number": None, "adults": 2, "children": 1, "babies": None,
                           "meal_plan": "unknown", "net_amount": 106.0, "currency": "USD", "channel": "TRAVEL"}
           for n in (1, 2)},
    }


def test_the_detail_example_read_as_a_reservation() -> None:
    detail = json.loads((HERE / "rsv_getReservation_byId_response.json").read_text())
    body = {"reservations": {"reservationInfo": detail["reservations"]["reservation"]}}
    assert rows(run(body)) == {"571062": {
        "external_id": "571062", "status": "confirmed", "booked_on": date(2020, 1, 28), "cancelled_on": None,
        "checked_out_on": None, "arrival_date": date(2020, 1, 13), "departure_date": date(2020, 1, 14),
        "nights": 1, "room_type": None, "room_number": None, "adults": None, "children": None, "babies": None,
        "meal_plan": "unknown", "net_amount": None, "currency": "USD", "channel": None}}  # the hotel's currency


def info(**fields: Any) -> dict[str, Any]:
    stay = {"arrivalDate": "2024-03-12", "departureDate": "2024-03-15",
            "originalTimeSpan": {"startDate": "2024-03-01", "endDate": "2024-03-03"}, "adultCount": 2,
            "childCount": 0, "roomType": "KING", "roomId": "512", "numberOfRooms": 1, "ratePlanCode": "BAR",
            "rateAmount": {"amount": 150.0, "currencyCode": "USD"}, "sourceCode": "WEB"}
    stay.update(fields.pop("roomStay", {}))
    stay = {k: v for k, v in stay.items() if v is not None}  # the schema's fields are never null
    record = {"reservationIdList": [{"id": "9001", "type": "Reservation"}], "roomStay": stay, "hotelId": "HOTEL1",
              "createDateTime": "2024-01-10 23:30:00.0", "lastModifyDateTime": "2024-02-20 08:00:00.0",
              "reservationStatus": "Reserved", **fields}
    return record


def page(*items: dict[str, Any], validate: bool = True) -> dict[str, Any]:
    body = {"reservations": {"reservationInfo": list(items), "totalResults": len(items), "hasMore": False,
                             "offset": 0, "limit": 200}}
    if validate:
        OpenApiSpec.load("opera").validate_response("GET", "/hotels/HOTEL1/reservations", 200, body)
    return body


def one(body: dict[str, Any], **kw: Any) -> dict[str, Any]:
    [row] = rows(run(body, **kw)).values()
    return row


def test_a_moved_stay_is_read_on_its_current_nights() -> None:
    row = one(page(info()))
    assert (row["arrival_date"], row["departure_date"], row["nights"], row["net_amount"]) == (
        date(2024, 3, 12), date(2024, 3, 15), 3, 450.0)


def test_an_early_departure_keeps_the_booked_stay() -> None:
    stay = {"arrivalDate": "2024-03-12", "departureDate": "2024-03-13",
            "originalTimeSpan": {"startDate": "2024-03-12", "endDate": "2024-03-15"}}
    row = one(page(info(reservationStatus="CheckedOut", roomStay=stay)))
    assert (row["departure_date"], row["checked_out_on"], row["nights"]) == (date(2024, 3, 15), date(2024, 3, 13), 3)


def test_cancellation_info_packages_and_channel() -> None:
    row = one(page(info(reservationStatus="Cancelled", cancellationInfo={"code": "CXL", "date": "2024-02-19"},
                        pkgConsumptionInfo=[{"packageCode": "BRKF"}, {"packageCode": "DINR"}])))
    assert (row["status"], row["cancelled_on"], row["meal_plan"], row["channel"]) == (
        "cancelled", date(2024, 2, 19), "HB", "WEB")
    row = one(page(info(roomStay={"sourceCode": None, "bookingChannelCode": "GDS", "ratePlanCode": "BAR-RO"})),)
    assert (row["channel"], row["meal_plan"]) == ("GDS", "RO")


def test_requested_and_waitlisted_are_skipped_and_counted_unknown_quarantined() -> None:
    other = {"reservationIdList": [{"id": "9002", "type": "Reservation"}]}
    got = run(page(info(), info(**other, reservationStatus="Waitlisted")))
    assert list(rows(got)) == ["9001"] and sum(got.skipped.values()) == 1
    got = run(page(info(), info(**other, reservationStatus="Requested")))
    assert list(rows(got)) == ["9001"] and sum(got.skipped.values()) == 1
    got = run(page(info(reservationStatus="Tentative"), validate=False))
    assert got.reservations.height == 0 and "'Tentative'" in got.rejects[0]["reason"]


def test_hotel_local_dates_far_from_utc() -> None:
    """OPERA prints property-local times; one with an offset is turned into the hotel's day."""
    row = one(page(info(createDateTime="2024-01-10T23:30:00Z")), timezone="Pacific/Auckland")
    assert row["booked_on"] == date(2024, 1, 11)
    row = one(page(info(createDateTime="2024-01-10T05:30:00+00:00")), timezone="America/Los_Angeles")
    assert row["booked_on"] == date(2024, 1, 9)
    assert one(page(info()), timezone="Pacific/Auckland")["booked_on"] == date(2024, 1, 10)  # naive = local


def test_a_three_room_reservation() -> None:
    row_stay = {"numberOfRooms": 3, "totalAmount": {"amount": 1350.0, "currencyCode": "USD"}}
    got = rows(run(page(info(roomStay=row_stay))))
    assert sorted(got) == ["9001:1", "9001:2", "9001:3"]
    assert [got[k]["net_amount"] for k in sorted(got)] == [450.0, 450.0, 450.0]
    assert [got[k]["room_number"] for k in sorted(got)] == ["512", None, None]
