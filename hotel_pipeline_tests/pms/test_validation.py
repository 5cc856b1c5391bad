"""Normalised rows that break the contract go to quarantine with a reason; the rest land (nothing silently dropped)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import polars as pl

from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.sources.pms.base import ExtractContext, reservations_frame, validate_reservations
from hotel_pipeline.sources.pms.extract import apply_extract

CTX = ExtractContext("cloudbeds", "H1", "Europe/Lisbon", "EUR")


def row(external_id: str, **changes) -> dict:
    base = {"external_id": external_id, "status": "confirmed", "booked_on": date(2016, 1, 1),
            "arrival_date": date(2016, 7, 1), "departure_date": date(2016, 7, 3), "nights": 2, "meal_plan": "BB",
            "adults": 2, "net_amount": 200.0}
    return {**base, **changes}


def test_contract_breaches_are_rejected_with_a_reason() -> None:
    frame = reservations_frame([
        row("ok"), row("s", status="tentative"), row("m", meal_plan="DBB"), row("d", departure_date=date(2016, 6, 1)),
        row("n", nights=5), row("a", adults=-1), row("x", arrival_date=None),
    ], CTX)
    good, bad = validate_reservations(frame)
    assert good["external_id"].to_list() == ["ok"]
    reasons = dict(bad.select("external_id", "_reason").iter_rows())
    assert reasons["s"].startswith("status") and reasons["m"].startswith("meal_plan")
    assert reasons["d"] == "departure before arrival" and reasons["n"].startswith("nights differ")
    assert reasons["a"].startswith("adults") and reasons["x"].startswith("arrival_date")


def test_rejected_rows_land_in_quarantine(tmp_path: Path) -> None:
    room = {"roomTypeID": "9", "roomTypeName": "Double", "adults": "2", "children": "0", "roomCheckIn": "2016-07-01",
            "roomCheckOut": "2016-07-03", "detailedRoomRates": {"2016-07-01": 100, "2016-07-02": 100}}
    page = {"label": "reservations", "body": {"success": True, "total": 2, "data": [
        {"reservationID": "1", "status": "confirmed", "reservationCheckIn": "2016-07-01",
         "reservationCheckOut": "2016-07-03", "dateCreated": "2016-01-01 23:10:00", "mealPlans": "Breakfast",
         "rooms": [room]},
        {"reservationID": "2", "status": "weird", "reservationCheckIn": "2016-07-01",
         "reservationCheckOut": "2016-07-03", "dateCreated": "2016-01-01 23:10:00", "mealPlans": "Breakfast",
         "rooms": [room]},
    ]}}
    header = {"extract_id": "t1", "mode": "full", "context": CTX.as_dict(),
              "window": {"until": "2016-07-02T02:00:00+00:00"}}
    wh = Warehouse(url=f"duckdb:///{tmp_path / 'w.duckdb'}")
    result = apply_extract(wh, header, [page], raw_file="x", now=datetime(2016, 7, 2, 2), move_cursor=True)
    assert result.accepted.new == 1 and result.quarantined == 1
    q = wh.query("SELECT reason, location FROM quarantine")
    assert "unknown status 'weird'" in q["reason"][0] and "reservation 2" in q["location"][0]
    assert pl.DataFrame(wh.query("SELECT external_id FROM reservation_versions"))["external_id"].to_list() == ["1"]
