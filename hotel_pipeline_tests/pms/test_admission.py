"""A PMS record is admitted by the same rules as a CSV row (``unified.admission``): the blocking reservations contract
and the portfolio's ``import_limits``, checked before anything is committed.

A record outside them goes to ``quarantine`` with its reason and never reaches ``reservation_versions`` (where it
would fail the contract for every hotel on every later run, or expand into millions of nights); the other records of
the page load; the sync is ``partial`` with the count; the limits travel in the raw file's header, so a rebuild from
the raw zone refuses exactly the same records.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl

from hotel_pipeline.core.portfolio import ImportLimits
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.sources.pms import connector_classes
from hotel_pipeline.sources.pms.base import ExtractContext
from hotel_pipeline.sources.pms.extract import apply_extract, current_status, rebuild_from_raw, run_extract
from hotel_pipeline_tests.pms.helpers import FAST_RETRY, NOW, expected_reservations, serving, unified_state

CTX = ExtractContext("cloudbeds", "H1", "Europe/Lisbon", "EUR")
SYNCED = datetime(2016, 7, 2, 2)


def _record(rid: str, check_in: str = "2016-07-01", check_out: str = "2016-07-03", created: str = "2016-01-01 23:10:00",
            rate: float = 100.0, adults: str = "2") -> dict:
    """A Cloudbeds ``getReservationsWithRateDetails`` record in the spec's shape (one room, a rate per night)."""
    first = date.fromisoformat(check_in)
    rates = {str(first + timedelta(days=i)): rate for i in range((date.fromisoformat(check_out) - first).days)}
    room = {"roomTypeID": "9", "roomTypeName": "Double", "adults": adults, "children": "0", "roomCheckIn": check_in,
            "roomCheckOut": check_out, "detailedRoomRates": rates}
    return {"reservationID": rid, "status": "confirmed", "reservationCheckIn": check_in,
            "reservationCheckOut": check_out, "dateCreated": created, "mealPlans": "Breakfast", "rooms": [room]}


def _apply(warehouse: Warehouse, records: list[dict], limits: ImportLimits | None = None, extract_id: str = "t1"):
    header = {"extract_id": extract_id, "mode": "full", "context": CTX.as_dict(),
              "window": {"until": "2016-07-02T02:00:00+00:00"}}
    if limits is not None:
        header["import_limits"] = asdict(limits)
    page = {"label": "reservations", "body": {"success": True, "total": len(records), "data": records}}
    return apply_extract(warehouse, header, [page], raw_file="x", now=SYNCED, move_cursor=True)


def test_records_outside_the_contract_or_the_bounds_are_quarantined_and_the_rest_loads(tmp_path: Path) -> None:
    wh = Warehouse(url=f"duckdb:///{tmp_path / 'w.duckdb'}")
    records = [
        _record("good"),
        _record("booked_after_arrival", created="2016-08-01 10:00:00"),  # contract: booked_on_not_after_arrival
        _record("year_9999", check_in="9999-07-01", check_out="9999-07-03"),  # outside the date window
        _record("thousand_nights", check_out="2019-03-28"),  # max_nights
        _record("absurd_rate", rate=5_000_000.0),  # max_nightly_rate
        _record("crowd", adults="500"),  # max_guests
        _record("good_too", check_in="2016-07-10", check_out="2016-07-12"),
    ]
    result = _apply(wh, records)
    assert (result.accepted.new, result.quarantined) == (2, 5)
    loaded = wh.query("SELECT external_id FROM reservation_versions ORDER BY external_id")["external_id"].to_list()
    assert loaded == ["good", "good_too"]
    reasons = {loc.rsplit(" ", 1)[1]: why for loc, why in wh.query("SELECT location, reason FROM quarantine").rows()}
    assert set(reasons) == {"booked_after_arrival", "year_9999", "thousand_nights", "absurd_rate", "crowd"}
    assert "booked_on_not_after_arrival" in reasons["booked_after_arrival"]
    assert "arrival_date 9999-07-01 is outside" in reasons["year_9999"]
    assert "1000 nights is more than import_limits max_nights 365" in reasons["thousand_nights"]
    assert "nightly rate" in reasons["absurd_rate"] and "outside import_limits" in reasons["absurd_rate"]
    assert "500 guests is more than import_limits max_guests 100" in reasons["crowd"]
    status = current_status(wh, "H1", "cloudbeds")
    assert (status["last_status"], status["quarantined"]) == ("partial", 5)


def test_the_limits_of_the_extract_header_are_the_ones_applied(tmp_path: Path) -> None:
    """The bounds are configuration: a tighter ``max_nights`` refuses a stay the default admits."""
    records = [_record("two_nights"), _record("five_nights", check_out="2016-07-06")]
    default = _apply(Warehouse(url=f"duckdb:///{tmp_path / 'a.duckdb'}"), records)
    tight = Warehouse(url=f"duckdb:///{tmp_path / 'b.duckdb'}")
    strict = _apply(tight, records, ImportLimits(max_nights=3))
    assert (default.accepted.new, default.quarantined) == (2, 0)
    assert (strict.accepted.new, strict.quarantined) == (1, 1)
    assert "5 nights is more than import_limits max_nights 3" in tight.query("SELECT reason FROM quarantine")["reason"][0]


def test_a_sandbox_extract_admits_by_the_portfolio_limits_and_a_rebuild_agrees(scope_world, duckdb_warehouse: Warehouse,
                                                                                tmp_path: Path) -> None:
    """Through the real HTTP path: the limits given to ``run_extract`` (the Dagster asset passes the portfolio's) refuse
    every longer stay of the sandbox's Cloudbeds world, load all the others exactly, and the raw zone alone gives the
    same tables on a rebuild."""
    raw = tmp_path / "raw"
    limits = ImportLimits(max_nights=4)
    with serving(scope_world("cloudbeds"), "cloudbeds") as sb:
        os.environ.update(sb.env)
        hotel = sb.hotel("cloudbeds", "H1")
        connector = connector_classes()["cloudbeds"](hotel, hotel.sources[0], retry=FAST_RETRY, throttle=False, seed=1)
        try:
            result = run_extract(duckdb_warehouse, connector, now=NOW, mode="full", raw_root=raw, limits=limits)
        finally:
            connector.close()
        expected = expected_reservations(sb.world, "cloudbeds", "H1", NOW)
    long_stays = expected.filter(pl.col("nights") > 4)["external_id"].sort().to_list()
    assert long_stays and result.quarantined == len(long_stays)
    got = unified_state(duckdb_warehouse, "cloudbeds", "H1")
    assert sorted(got["external_id"]) == sorted(expected.filter(pl.col("nights") <= 4)["external_id"])
    quarantined = duckdb_warehouse.query("SELECT location, reason FROM quarantine")
    assert all("more than import_limits max_nights 4" in r for r in quarantined["reason"])
    assert sorted(loc.rsplit(" ", 1)[1] for loc in quarantined["location"]) == long_stays
    rebuilt = Warehouse(url=f"duckdb:///{tmp_path / 'rebuilt.duckdb'}")
    assert [r.quarantined for r in rebuild_from_raw(rebuilt, raw)] == [len(long_stays)]
    assert unified_state(rebuilt, "cloudbeds", "H1").equals(got)
