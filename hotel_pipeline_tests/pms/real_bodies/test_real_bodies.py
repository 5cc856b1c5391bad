"""The vendors' own example bodies (SOURCES.md beside this file) through the connectors' normalisers, each compared
with a unified row written by hand from the vendor's documentation.

Also here, because real data carries them: records that are not bookings are skipped and counted, a hotel far from
UTC gets its own business dates, and an unreadable value is quarantined naming it.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from hotel_pipeline.sources.pms.base import ExtractContext
from hotel_pipeline.sources.pms.newbook import NewbookConnector
from hotel_pipeline.sources.pms.pii import quarantine_payload
from hotel_pipeline.sources.pms.rms import RmsConnector
from hotel_pipeline.sources.pms.stayntouch import StayntouchConnector

HERE = Path(__file__).parent


def body(path: str) -> Any:
    return json.loads((HERE / path).read_text(encoding="utf-8"))


def rows(normalised) -> list[dict[str, Any]]:
    return normalised.reservations.drop("hotel_id", "source", "guest_token").to_dicts()


# -- RMS Cloud -------------------------------------------------------------------------------------------------------
SYDNEY = ExtractContext("rms", "H9", "Australia/Sydney", "AUD")


def test_rms_documented_search_answer_is_quarantined_naming_its_impossible_arrival() -> None:
    """RMS's own example says ``"arrivalDate": "2016-28-08 13:26:00"``: no month 28, so no guessing."""
    got = RmsConnector.normalise([{"label": "reservations", "body": body("rms_cloud/reservations_search_response.json")}],
                                 SYDNEY)
    assert got.reservations.height == 0
    [reject] = got.rejects
    assert "3681" in reject["reason"] and "'2016-28-08 13:26:00'" in reject["reason"]
    stored = quarantine_payload(reject["payload"])  # what the quarantine table receives
    assert "Smithers" not in stored and "Westingham" not in stored and '"areaName": "Room 7"' in stored


def test_rms_documented_search_answer_with_its_arrival_typo_fixed() -> None:
    record = body("rms_cloud/reservations_search_response.json")[0]
    record["arrivalDate"] = "2016-08-28 13:26:00"  # the only change: month and day in their documented places
    got = RmsConnector.normalise([{"label": "reservations", "body": [record]}], SYDNEY)
    assert rows(got) == [{
        "external_id": "3681", "status": "confirmed", "booked_on": date(2016, 8, 22), "cancelled_on": None,
        "checked_out_on": None, "arrival_date": date(2016, 8, 28), "departure_date": date(2019, 9, 29),
        "nights": 1127, "room_type": "Super Delux Queen", "room_number": "Room 7", "adults": 2, "children": 1,
        "babies": 1, "meal_plan": "unknown",  # mealPlanId 16 is not in a /mealPlans answer here
        "is_dbb": False, "is_package": False, "net_amount": None, "gross_amount": None,  # no dailyRevenue read
        "currency": "AUD", "channel": "Online"}]


def test_rms_documented_daily_revenue_gives_the_stay_amounts() -> None:
    """The documented dailyRevenue example (reservation 163577: 2020-12-10 accommodation 360 incl. 32.72 GST, 2020-12-11
    nothing) on a two-night stay of a tax-inclusive property: net 327.28, gross 360."""
    record = {**body("rms_cloud/reservations_search_response.json")[0], "id": 163577,
              "arrivalDate": "2020-12-10 14:00:00", "departureDate": "2020-12-12 10:00:00"}
    ctx = ExtractContext("rms", "H9", "Australia/Sydney", "AUD", {"tax_inclusive": True})
    got = RmsConnector.normalise([{"label": "reservations", "body": [record]},
                                  {"label": "dailyRevenue", "body": body("rms_cloud/reservations_dailyRevenue_search_response.json")}],
                                 ctx)
    [row] = rows(got)
    assert (row["nights"], row["net_amount"], row["gross_amount"]) == (2, 327.28, 360.0)


def test_rms_stop_sells_and_quotes_are_skipped_and_counted() -> None:
    base = {**body("rms_cloud/reservations_search_response.json")[0], "arrivalDate": "2016-08-28 13:26:00"}
    records = [{**base, "id": 1, "status": "stopSell"}, {**base, "id": 2, "status": "Quote"},
               {**base, "id": 3, "status": "Pencil"}, {**base, "id": 4, "status": "Teleported"}]
    got = RmsConnector.normalise([{"label": "reservations", "body": records}], SYDNEY)
    assert got.skipped == {"rms status stopSell": 1, "rms status Quote": 1}
    assert got.reservations["external_id"].to_list() == ["3"] and got.reservations["status"][0] == "confirmed"
    assert len(got.rejects) == 1 and "'Teleported'" in got.rejects[0]["reason"]


def test_rms_naive_local_times_are_the_hotels_dates() -> None:
    """RMS writes property-local times without an offset: 23:30 stays on its own date in Sydney (no shift via UTC)."""
    record = {**body("rms_cloud/reservations_search_response.json")[0], "arrivalDate": "2016-08-28 13:26:00",
              "createdDate": "2016-08-22 23:30:00"}
    [row] = rows(RmsConnector.normalise([{"label": "reservations", "body": [record]}], SYDNEY))
    assert row["booked_on"] == date(2016, 8, 22)


# -- Stayntouch ------------------------------------------------------------------------------------------------------
def test_stayntouch_documented_reservation_notification() -> None:
    """The developer page's create_reservation notification carries a reservation stub: what it says is read; what
    it does not say (room, guests, amounts, creation time) stays unknown rather than invented."""
    event = body("stayntouch/webhook_create_reservation.json")
    ctx = ExtractContext("stayntouch", "H9", "Europe/Lisbon", "EUR")
    got = StayntouchConnector.normalise([{"label": "reservations", "body": {"results": [event["data"]]}}], ctx)
    assert rows(got) == [{
        "external_id": "3157941", "status": "confirmed", "booked_on": None, "cancelled_on": None,
        "checked_out_on": None, "arrival_date": date(2018, 10, 15), "departure_date": date(2018, 10, 16),
        "nights": 1, "room_type": None, "room_number": None, "adults": None, "children": None, "babies": None,
        "meal_plan": "unknown", "is_dbb": False, "is_package": False, "net_amount": None, "gross_amount": None,
        "currency": "EUR", "channel": None}]


@pytest.mark.parametrize(("created", "zone", "booked_on"), [
    ("2018-10-15T19:11:40.622Z", "Pacific/Auckland", date(2018, 10, 16)),  # UTC evening = next morning in NZ
    ("2018-10-15T19:11:40.622Z", "Pacific/Honolulu", date(2018, 10, 15)),
    ("2018-10-16T08:11:40.622+13:00", "Pacific/Auckland", date(2018, 10, 16)),  # the hotel's own offset
    ("2018-10-16T08:11:40.622+13:00", "America/Los_Angeles", date(2018, 10, 15)),
])
def test_stayntouch_booked_on_is_the_hotels_business_date(created: str, zone: str, booked_on: date) -> None:
    record = {**body("stayntouch/webhook_create_reservation.json")["data"], "created_time": created,
              "updated_time": created}
    ctx = ExtractContext("stayntouch", "H9", zone, "NZD")
    [row] = rows(StayntouchConnector.normalise([{"label": "reservations", "body": {"results": [record]}}], ctx))
    assert row["booked_on"] == booked_on


# -- Newbook (no published example body: a record in the shape VENDORS.md's client code reads) ----------------------
def _newbook(status: str, tariff: str) -> dict[str, Any]:
    return {"booking_id": 501, "booking_status": status, "booking_arrival": "2024-03-01 14:00:00",
            "booking_departure": "2024-03-03 10:00:00", "booking_placed": "2024-02-01 23:30:00",
            "booking_modified": "2024-02-02 08:00:00", "site_name": "12", "category_name": "Deluxe King",
            "booking_adults": "2", "booking_children": "0", "booking_infants": "0", "tariff_name": tariff,
            "tariffs_quoted": [{"stay_date": "2024-03-01", "calculated_amount": "150.00"},
                               {"stay_date": "2024-03-02", "calculated_amount": "160.00"}],
            "inventory_items": [], "booking_source_name": "Direct",
            "guests": [{"primary_client": "1", "firstname": "Ana", "lastname": "Silva", "contact_details": []}]}


def test_newbook_quotes_are_skipped_and_dinner_bed_and_breakfast_is_half_board() -> None:
    ctx = ExtractContext("newbook", "H9", "Pacific/Auckland", "NZD")
    got = NewbookConnector.normalise([{"label": "bookings", "body": {"data": [
        _newbook("Quote", "Bed & Breakfast"), {**_newbook("Confirmed", "Dinner Bed & Breakfast"), "booking_id": 502},
        {**_newbook("Confirmed", "Breakfast not included"), "booking_id": 503}]}}], ctx)
    assert got.skipped == {"newbook booking_status Quote": 1}
    assert dict(zip(got.reservations["external_id"], got.reservations["meal_plan"], strict=True)) == {
        "502": "HB", "503": "RO"}
    row = rows(got)[0]
    assert (row["booked_on"], row["nights"], row["net_amount"], row["status"]) == (date(2024, 2, 1), 2, 310.0,
                                                                                   "confirmed")
