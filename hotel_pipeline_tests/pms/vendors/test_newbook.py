"""Newbook: the sandbox's rendering and the connector's normalisation agree, in Newbook's own words."""

from __future__ import annotations

import json

import pytest

from hotel_pipeline.sources.pms import newbook as connector
from hotel_pipeline.workshop.sandbox.pms.vendors import newbook as sandbox
from hotel_pipeline_tests.pms.vendors._world_rows import TIMEZONE, expected, sample_rows

ROWS = sample_rows()


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r['external_id']}-{r['status']}-{r['meal_plan']}")
def test_round_trip(row: dict) -> None:
    record = json.loads(json.dumps(sandbox.render_booking(row, TIMEZONE)))
    got = connector.normalise(record)
    assert {k: got[k] for k in expected(row)} == expected(row)
    assert got["net_amount"] == pytest.approx(row["net_amount"], abs=0.01)
    assert got["guest"]["email"] == row["email"]


def test_dinner_packages_are_dbb_inventory_items() -> None:
    hb = next(r for r in ROWS if r["meal_plan"] == "HB")
    rec = sandbox.render_booking(hb, TIMEZONE)
    assert [i["description"] for i in rec["inventory_items"]] == ["DBB"]
    assert rec["booking_status"] in sandbox.STATUS_TO_NEWBOOK.values()
    assert connector.meal_plan_from([{"description": "Dinner voucher"}], "Flexible") == "HB"
    assert connector.meal_plan_from([{"description": "Breakfast"}], "Flexible") == "BB"
    assert connector.meal_plan_from([], "Room Only") == "RO"
    assert connector.meal_plan_from([], "Flexible") == "unknown"


def test_status_words() -> None:
    rec = sandbox.render_booking(ROWS[0], TIMEZONE)
    assert connector.normalise({**rec, "booking_status": "No Show"})["status"] == "no_show"
    assert connector.normalise({**rec, "booking_status": "Unconfirmed"})["status"] == "confirmed"
    with pytest.raises(connector.NewbookRecordError):
        connector.normalise({**rec, "booking_status": "Teleported"})


# -- through real HTTP on loopback ---------------------------------------------------------------------------------
from hotel_pipeline_tests.pms.vendors import _http as h  # noqa: E402

CREDS = {"username": "nb-user-31", "password": "nb-pass-x8q2", "api_key": "nb-apikey-5c6d0e"}
OPTIONS = {"history_start": "2013-01-01 00:00:00"}


def test_full_and_incremental_extracts_equal_the_data_set(monkeypatch: pytest.MonkeyPatch) -> None:
    h.full_then_incremental(connector.NewbookConnector, CREDS, OPTIONS, monkeypatch)


def test_faults_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    # small pages: enough requests (about 30) that the fault mix is certain to hit some of them
    h.faults_change_nothing(connector.NewbookConnector, CREDS, {**OPTIONS, "data_limit": 100}, monkeypatch)
