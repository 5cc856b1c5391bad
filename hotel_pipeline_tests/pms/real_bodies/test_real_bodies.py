"""Vendor bodies (SOURCES.md beside this file says which are the vendors' own examples and which we wrote in the
documented shape) through the connectors' normalisers, each compared with a unified row written by hand from the
vendor's documentation.

Also here, because real data carries them: records that are not bookings are skipped and counted, a hotel far from
UTC gets its own business dates, and an unreadable value is quarantined naming it.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from hotel_pipeline.privacy.pii import quarantine_payload
from hotel_pipeline.sources.pms.base import ExtractContext
from hotel_pipeline.sources.pms.newbook import NewbookConnector
from hotel_pipeline.sources.pms.rms import RmsConnector
from hotel_pipeline.sources.pms.stayntouch import StayntouchConnector

HERE = Path(__file__).parent


def body(path: str) -> Any:
    return json.loads((HERE / path).read_text(encoding="utf-8"))


def rows(normalised) -> list[dict[str, Any]]:
    return normalised.reservations.drop("hotel_id", "source", "guest_token").to_dicts()


# -- RMS Cloud -------------------------------------------------------------------------------------------------------
SYDNEY = ExtractContext("rms", "H9", "Australia/Sydney", "AUD")


def test_rms_search_answer_is_quarantined_naming_its_impossible_arrival() -> None:
    """Day and month swapped (``"2017-31-03 14:00:00"``: no month 31), as in RMS's own documented example: no
    guessing."""
    got = RmsConnector.normalise([{"label": "reservations", "body": body("rms_cloud/reservations_search_response.json")}],
                                 SYDNEY)
    assert got.reservations.height == 0
    [reject] = got.rejects
    assert "4207" in reject["reason"] and "'2017-31-03 14:00:00'" in reject["reason"]
    stored = quarantine_payload(reject["payload"])  # what the quarantine table receives
    assert "Marlo" not in stored and "Featherstone" not in stored and '"areaName": "Cabin 12"' in stored


def test_rms_search_answer_with_its_arrival_fixed() -> None:
    record = body("rms_cloud/reservations_search_response.json")[0]
    record["arrivalDate"] = "2017-03-31 14:00:00"  # the only change: month and day in their documented places
    got = RmsConnector.normalise([{"label": "reservations", "body": [record]}], SYDNEY)
    assert rows(got) == [{
        "external_id": "4207", "status": "confirmed", "booked_on": date(2017, 3, 2), "cancelled_on": None,
        "checked_out_on": None, "arrival_date": date(2017, 3, 31), "departure_date": date(2017, 4, 3),
        "nights": 3, "room_type": "Lakeside Cabin", "room_number": "Cabin 12", "adults": 2, "children": 1,
        "babies": 0, "meal_plan": "unknown",  # mealPlanId 21 is not in a /mealPlans answer here
        "is_dbb": False, "is_package": False, "net_amount": None, "gross_amount": None,  # no dailyRevenue read
        "currency": "AUD", "channel": "Phone"}]


def test_rms_daily_revenue_gives_the_stay_amounts() -> None:
    """A dailyRevenue answer in the documented shape (reservation 5133: 2021-03-04 accommodation 240 incl. 21.82 GST,
    other 30 not room revenue; 2021-03-05 nothing) on a two-night stay of a tax-inclusive property: net 218.18,
    gross 240."""
    record = {**body("rms_cloud/reservations_search_response.json")[0], "id": 5133,
              "arrivalDate": "2021-03-04 14:00:00", "departureDate": "2021-03-06 10:00:00"}
    ctx = ExtractContext("rms", "H9", "Australia/Sydney", "AUD", {"tax_inclusive": True})
    got = RmsConnector.normalise([{"label": "reservations", "body": [record]},
                                  {"label": "dailyRevenue", "body": body("rms_cloud/reservations_dailyRevenue_search_response.json")}],
                                 ctx)
    [row] = rows(got)
    assert (row["nights"], row["net_amount"], row["gross_amount"]) == (2, 218.18, 240.0)


def test_rms_stop_sells_and_quotes_are_skipped_and_counted() -> None:
    base = {**body("rms_cloud/reservations_search_response.json")[0], "arrivalDate": "2017-03-31 14:00:00"}
    records = [{**base, "id": 1, "status": "stopSell"}, {**base, "id": 2, "status": "Quote"},
               {**base, "id": 3, "status": "Pencil"}, {**base, "id": 4, "status": "Teleported"}]
    got = RmsConnector.normalise([{"label": "reservations", "body": records}], SYDNEY)
    assert got.skipped == {"rms status stopSell": 1, "rms status Quote": 1}
    assert got.reservations["external_id"].to_list() == ["3"] and got.reservations["status"][0] == "confirmed"
    assert len(got.rejects) == 1 and "'Teleported'" in got.rejects[0]["reason"]


def test_rms_naive_local_times_are_the_hotels_dates() -> None:
    """RMS writes property-local times without an offset: 23:30 stays on its own date in Sydney (no shift via UTC)."""
    record = {**body("rms_cloud/reservations_search_response.json")[0], "arrivalDate": "2017-03-31 14:00:00",
              "createdDate": "2017-03-02 23:30:00"}
    [row] = rows(RmsConnector.normalise([{"label": "reservations", "body": [record]}], SYDNEY))
    assert row["booked_on"] == date(2017, 3, 2)


# -- Stayntouch ------------------------------------------------------------------------------------------------------
def test_stayntouch_documented_reservation_notification() -> None:
    """A create_reservation notification in the developer page's shape carries a reservation stub: what it says is read; what
    it does not say (room, guests, amounts, creation time) stays unknown rather than invented."""
    event = body("stayntouch/webhook_create_reservation.json")
    ctx = ExtractContext("stayntouch", "H9", "Europe/Lisbon", "EUR")
    got = StayntouchConnector.normalise([{"label": "reservations", "body": {"results": [event["data"]]}}], ctx)
    assert rows(got) == [{
        "external_id": "6402718", "status": "confirmed", "booked_on": None, "cancelled_on": None,
        "checked_out_on": None, "arrival_date": date(2019, 3, 8), "departure_date": date(2019, 3, 10),
        "nights": 2, "room_type": None, "room_number": None, "adults": None, "children": None, "babies": None,
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


# -- Mews ------------------------------------------------------------------------------------------------------------
MEWS_PAGES = {"reservations": ("reservations_getAll_2023-06-06_response.json", "Reservations"),
              "orderItems": ("orderItems_getAll_response.json", "OrderItems"),
              "customers": ("customers_getAll_response.json", "Customers"),
              "products": ("products_getAll_response.json", "Products"),
              "resources": ("resources_getAll_response.json", "Resources"),
              "resourceCategories": ("resourceCategories_getAll_response.json", "ResourceCategories"),
              "resourceCategoryAssignments": ("resourceCategoryAssignments_getAll_response.json",
                                              "ResourceCategoryAssignments"),
              "ageCategories": ("ageCategories_getAll_response.json", "AgeCategories")}
PRAGUE = ExtractContext("mews", "H9", "Europe/Prague", "EUR")
RESERVATION = "e6cc2718-ed3b-4f0c-b83b-ebeb12532f7a"
UNKNOWN_AGE = "925615d9-1dd2-43eb-932a-5b19821b40ee"  # in the reservation example, not in the age categories one


def mews_pages(**replace: Any) -> list[dict[str, Any]]:
    """The Mews bodies (in the documented shape, values ours) as raw pages; ``replace`` swaps one label's items."""
    out = []
    for label, (file, key) in MEWS_PAGES.items():
        page = body(f"mews/{file}")
        if label in replace:
            page = {**page, key: replace[label]}
        out.append({"label": label, "body": page})
    return out


def mews_reservation(**changes: Any) -> dict[str, Any]:
    return {**body("mews/reservations_getAll_2023-06-06_response.json")["Reservations"][0], **changes}


def _known_people() -> list[dict[str, Any]]:
    return [pc for pc in mews_reservation()["PersonCounts"] if pc["AgeCategoryId"] != UNKNOWN_AGE]


def test_mews_bodies_quarantine_an_unknown_age_category() -> None:
    """The reservation counts 2 people of an age category the ageCategories answer does not
    hold: they are not guessed to be children; the record is quarantined naming the category."""
    from hotel_pipeline.sources.pms.mews import MewsConnector

    got = MewsConnector.normalise(mews_pages(), PRAGUE)
    assert got.reservations.height == 0
    [reject] = got.rejects
    assert RESERVATION in reject["reason"] and UNKNOWN_AGE in reject["reason"]


def test_mews_reservation_as_a_unified_row() -> None:
    from hotel_pipeline.sources.pms.mews import MewsConnector

    got = MewsConnector.normalise(mews_pages(reservations=[mews_reservation(PersonCounts=_known_people())]), PRAGUE)
    assert rows(got) == [{
        "external_id": RESERVATION, "status": "confirmed",
        "booked_on": date(2023, 3, 30),  # CreatedUtc 16:00Z = 18:00 in Prague
        "cancelled_on": None, "checked_out_on": None,
        "arrival_date": date(2023, 4, 30), "departure_date": date(2023, 5, 2), "nights": 2,  # 16:00 -> 14:00 CEST
        "room_type": None,  # RequestedResourceCategoryId a358a9b1... is not in the categories answer
        "room_number": "214",  # AssignedResourceId e6bc4827... = resource "214"
        "adults": 2, "children": 0, "babies": 0,  # 02ff349d... is the Adult category
        "meal_plan": "RO",  # none of the example's order items belongs to this reservation
        "is_dbb": False, "is_package": False, "net_amount": 0.0, "gross_amount": 0.0,
        "currency": "EUR", "channel": "Connector"}]  # OriginDetails null -> Origin
    assert got.guests["external_id"].to_list() == ["a71dba49-5552-4a89-9ab4-fcb8093f36eb"]  # Ada Kowal, tokenised


def _nights(*changes: dict[str, Any]) -> list[dict[str, Any]]:
    """The SpaceOrder item (93.46 net, 100 gross) as nights of the reservation."""
    item = next(i for i in body("mews/orderItems_getAll_response.json")["OrderItems"] if i["Type"] == "SpaceOrder")
    return [{**item, "Id": f"{item['Id'][:-2]}{n:02d}", "ServiceOrderId": RESERVATION, **c}
            for n, c in enumerate(changes)]


def test_mews_canceled_items_are_not_summed_and_night_rebates_are_applied() -> None:
    from hotel_pipeline.sources.pms.mews import MewsConnector

    three = _nights({}, {}, {})
    rebate = {"Type": "NightRebate", "Amount": {**three[0]["Amount"], "NetValue": -93.46, "GrossValue": -100},
              "Data": {"Discriminator": "Rebate", "Rebate": {"ProductId": None, "RebatedItemId": three[2]["Id"]}}}
    cases = {
        "one night canceled on its own": _nights({}, {}, {"AccountingState": "Canceled"}),
        "one night rebated": three + _nights({}, {}, {}, rebate)[3:],
    }
    reservation = [mews_reservation(PersonCounts=_known_people())]
    for why, items in cases.items():
        got = MewsConnector.normalise(mews_pages(reservations=reservation, orderItems=items), PRAGUE)
        assert (got.reservations["net_amount"][0], got.reservations["gross_amount"][0]) == (186.92, 200.0), why
    # a cancelled reservation keeps what it was worth: its items were canceled *with* it
    cancelled = [mews_reservation(PersonCounts=_known_people(), State="Canceled", CancelledUtc="2023-04-01T10:00:00Z",
                                  CancellationReason="BookedElsewhere")]
    with_it = _nights(*[{"AccountingState": "Canceled", "Options": {"CanceledWithReservation": True}}] * 2)
    got = MewsConnector.normalise(mews_pages(reservations=cancelled, orderItems=with_it), PRAGUE)
    assert rows(got)[0]["status"] == "cancelled" and rows(got)[0]["net_amount"] == 186.92
    assert rows(got)[0]["cancelled_on"] == date(2023, 4, 1)


def test_mews_names_in_any_locale_inquiries_and_waitlists() -> None:
    from hotel_pipeline.sources.pms.mews import MewsConnector

    products = [{**p, "Names": {"en-GB": "Breakfast"}, "ShortNames": {"en-GB": "BFST"}}
                for p in body("mews/products_getAll_response.json")["Products"]]
    board = {**_nights({})[0], "Id": "b0a7d000-0000-0000-0000-000000000001", "Type": "ProductOrder",
             "Data": {"Discriminator": "Product", "Product": {"ProductId": products[0]["Id"]}}}
    people = _known_people()
    reservations = [mews_reservation(PersonCounts=people),
                    mews_reservation(Id="inq", State="Inquired", PersonCounts=people),
                    mews_reservation(Id="wait", State="Requested", PersonCounts=people),
                    mews_reservation(Id="odd", State="Teleported", PersonCounts=people)]
    got = MewsConnector.normalise(mews_pages(reservations=reservations, products=products, orderItems=[board]),
                                  PRAGUE)
    assert got.reservations["external_id"].to_list() == [RESERVATION]
    assert got.reservations["meal_plan"].to_list() == ["BB"]  # en-GB "BFST", not only en-US
    assert got.skipped == {"mews inquiry Inquired": 1, "mews waitlist Requested": 1}
    assert len(got.rejects) == 1 and "'Teleported'" in got.rejects[0]["reason"]


@pytest.mark.parametrize(("zone", "booked_on", "arrival"), [
    ("Pacific/Auckland", date(2023, 3, 31), date(2023, 5, 1)),  # 16:00Z = 05:00 next day (NZDT); 14:00Z = 02:00 (NZST)
    ("Pacific/Honolulu", date(2023, 3, 30), date(2023, 4, 30)),  # 06:00 / 04:00 the same day
])
def test_mews_utc_instants_become_the_hotels_dates(zone: str, booked_on: date, arrival: date) -> None:
    from hotel_pipeline.sources.pms.mews import MewsConnector

    ctx = ExtractContext("mews", "H9", zone, "NZD")
    got = MewsConnector.normalise(mews_pages(reservations=[mews_reservation(PersonCounts=_known_people())]), ctx)
    assert (rows(got)[0]["booked_on"], rows(got)[0]["arrival_date"]) == (booked_on, arrival)


# -- multi-room bookings: Mews and RMS model them as a group of one-room reservations --------------------------------
def test_mews_three_room_group_is_three_reservations_with_their_own_amounts() -> None:
    """Mews: a booking of three rooms is a reservation group (``GroupId``) of three Reservations, one per room, each
    with its own order items: three unified rows, keyed by the reservation ids, each with its own amount."""
    from hotel_pipeline.sources.pms.mews import MewsConnector

    ids = [f"{RESERVATION[:-1]}{n}" for n in (1, 2, 3)]
    group = [mews_reservation(Id=rid, PersonCounts=_known_people()) for rid in ids]
    items = [{**item, "ServiceOrderId": rid} for rid, item in zip(ids, _nights({}, {}, {}), strict=True)]
    items += [{**items[2], "Id": items[2]["Id"][:-2] + "99"}]  # the third room has two nights' items
    got = MewsConnector.normalise(mews_pages(reservations=group, orderItems=items), PRAGUE)
    assert dict(got.reservations.select("external_id", "net_amount").rows()) == {
        ids[0]: 93.46, ids[1]: 93.46, ids[2]: 186.92}


def test_rms_three_room_group_is_three_reservations() -> None:
    base = {**body("rms_cloud/reservations_search_response.json")[0], "arrivalDate": "2017-03-31 14:00:00"}
    group = [{**base, "id": 4207 + n, "areaName": f"Cabin {12 + n}"} for n in range(3)]  # same groupReservationId
    got = RmsConnector.normalise([{"label": "reservations", "body": group}], SYDNEY)
    assert got.reservations.select("external_id", "room_number").rows() == [
        ("4207", "Cabin 12"), ("4208", "Cabin 13"), ("4209", "Cabin 14")]
