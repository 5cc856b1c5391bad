"""The spec validator the sandbox holds its traffic to (hotel_pipeline/workshop/sandbox/spec.py)."""

from __future__ import annotations

from datetime import date

import httpx
import pytest

from hotel_pipeline.workshop.sandbox.pms.harness import running_sandbox
from hotel_pipeline.workshop.sandbox.pms.world import World
from hotel_pipeline.workshop.sandbox.spec import OpenApiSpec, SpecViolation

CB_LIST = "/api/v1.3/getReservationsWithRateDetails"


def test_cloudbeds_request_parameters_are_names_and_types_of_the_operation() -> None:
    spec = OpenApiSpec.load("cloudbeds")
    spec.validate_request("GET", CB_LIST, {"pageNumber": "2", "pageSize": "100", "includeGuestsDetails": "true",
                                           "reservationCheckOutFrom": "2024-01-01"})
    with pytest.raises(SpecViolation, match="'checkInFrom' is not documented"):
        spec.validate_request("GET", CB_LIST, {"checkInFrom": "2024-01-01"})  # a getReservations filter
    with pytest.raises(SpecViolation, match="includeGuestsDetails"):
        spec.validate_request("GET", CB_LIST, {"includeGuestsDetails": "yes"})
    with pytest.raises(SpecViolation, match="no operation GET /api/v1.3/getNothing"):
        spec.validate_request("GET", "/api/v1.3/getNothing", {})


def test_cloudbeds_response_types_nullable_and_field_path() -> None:
    spec = OpenApiSpec.load("cloudbeds")
    good = {"success": True, "data": [{"reservationID": "1", "dateCancelled": None, "status": "confirmed",
                                       "rooms": [{"adults": "2", "children": "0", "roomName": None}]}]}
    spec.validate_response("GET", CB_LIST, 200, good)  # nullable: true accepts null
    bad = {"success": True, "data": [{"reservationID": "1", "rooms": [{"adults": 2}], "status": "booked"}]}
    with pytest.raises(SpecViolation) as err:
        spec.validate_response("GET", CB_LIST, 200, bad)
    assert "data[0].rooms[0].adults: 2 is not of type 'string'" in str(err.value)
    assert "data[0].status: 'booked' is not one of" in str(err.value)


def test_alike_records_of_later_bodies_are_skipped_and_a_new_breach_still_reported() -> None:
    """The sandbox validates a whole extract's pages with one memory: a record alike one already validated (it
    differs only in ids, dates and amounts) is not validated again, a breach is reported where it first appears,
    and a breach of a new kind in a later page is reported too."""
    spec = OpenApiSpec.load("cloudbeds")
    seen: set[str] = set()

    def page(first: int, status: str, adults: object) -> dict:
        return {"success": True, "data": [{"reservationID": str(first + i), "status": status,
                                           "rooms": [{"adults": adults, "children": "0"}]} for i in range(50)]}

    assert spec.response_violations("GET", CB_LIST, 200, page(100, "confirmed", "2"), seen=seen) == []
    remembered = len(seen)
    assert spec.response_violations("GET", CB_LIST, 200, page(200, "confirmed", "2"), seen=seen) == []
    assert len(seen) == remembered  # nothing new to validate on the alike page
    later = spec.response_violations("GET", CB_LIST, 200, page(300, "booked", "2"), seen=seen)
    assert any("data[0].status: 'booked' is not one of" in p for p in later)
    typed = spec.response_violations("GET", CB_LIST, 200, page(400, "confirmed", 2), seen=seen)
    assert any("data[0].rooms[0].adults: 2 is not of type 'string'" in p for p in typed)
    # without a memory every call stands alone: the same bad page is reported each time
    assert spec.response_violations("GET", CB_LIST, 200, page(300, "booked", "2"))
    assert spec.response_violations("GET", CB_LIST, 200, page(300, "booked", "2"))


def test_beds24_arrays_in_query_request_bodies_and_error_bodies() -> None:
    spec = OpenApiSpec.load("beds24")
    spec.validate_request("GET", "/bookings", {"id": ["1", "2"], "arrivalFrom": "2024-01-01", "status": ["request"]})
    with pytest.raises(SpecViolation, match=r"'id' \[1\]: 'x' is not of type 'integer'"):
        spec.validate_request("GET", "/v2/bookings", {"id": ["1", "x"]})
    with pytest.raises(SpecViolation, match=r"body \[0\]: 'arrival' is a required property"):
        spec.validate_request("POST", "/bookings", body=[{"roomId": 1, "departure": "2024-01-02"}])
    with pytest.raises(SpecViolation, match="'error' is a required property"):
        spec.validate_response("GET", "/bookings", 400, {"success": False})
    with pytest.raises(SpecViolation, match="not documented"):
        spec.validate_response("GET", "/bookings", 418, {}, strict_status=True)


def test_opera_swagger2_path_templates_headers_and_inline_parameters() -> None:
    spec = OpenApiSpec.load("opera")
    op, values = spec.operation("GET", "/rsv/v1/hotels/HOTEL1/reservations/123")
    assert op.template == "/hotels/{hotelId}/reservations/{reservationId}" and values["reservationId"] == "123"
    headers = {"authorization": "Bearer t", "x-app-key": "6b3a1c9e-1f2d-4c3b-9a8e-0123456789ab", "x-hotelid": "H"}
    spec.validate_request("GET", "/hotels/H/reservations", {"limit": "200", "offset": "0"}, headers=headers)
    with pytest.raises(SpecViolation, match="'x-hotelid' is required"):
        spec.validate_request("GET", "/hotels/H/reservations", {}, headers={"authorization": "Bearer t"})
    with pytest.raises(SpecViolation, match="'limit': 'many' is not of type 'integer'"):
        spec.validate_request("GET", "/hotels/H/reservations", {"limit": "many"})


def test_the_sandbox_records_every_breach_and_the_harness_fails_on_any() -> None:
    world = World(hotel_ids=["H2"], arrival_from=date(2016, 7, 1), arrival_to=date(2016, 7, 3))
    with pytest.raises(SpecViolation, match="'checkInFrom' is not documented"):  # noqa: PT012 - the block is the run
        with running_sandbox(world, ["cloudbeds"], validate_specs=True) as sb:
            key = sb.credentials["cloudbeds"]["H2"]["api_key"]
            answer = httpx.get(sb.server.base_url("cloudbeds") + CB_LIST, params={"checkInFrom": "2016-07-01"},
                               headers={"x-api-key": key})
            assert answer.status_code == 200  # still served: the test sees every breach at once
            sb.sandbox.settle()  # requests, like responses, are checked after serving (never delaying the client)
            assert sb.sandbox.spec_violations
