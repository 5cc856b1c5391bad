"""Stayntouch: the sandbox's rendering and the connector's normalisation agree, in Stayntouch's own words."""

from __future__ import annotations

import json

import pytest

from hotel_pipeline.sources.pms import stayntouch as connector
from hotel_pipeline.workshop.sandbox.pms.vendors import stayntouch as sandbox
from hotel_pipeline_tests.pms.vendors._world_rows import TIMEZONE, expected, sample_rows

ROWS = sample_rows()
ROOM_TYPES = {sandbox.room_type_id(r["room_type"]): r["room_type"] for r in ROWS}


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r['external_id']}-{r['status']}-{r['meal_plan']}")
def test_round_trip(row: dict) -> None:
    record = json.loads(json.dumps(sandbox.render_reservation(row, TIMEZONE)))
    got = connector.normalise(record, ROOM_TYPES)
    assert {k: got[k] for k in expected(row)} == expected(row)
    assert got["net_amount"] == pytest.approx(row["net_amount"], abs=0.01)
    assert got["gross_amount"] is None  # the sandbox has no tax figure
    assert got["currency"] == "EUR"
    assert got["guest"]["phone"] == row["phone"]


def test_vendor_vocabulary() -> None:
    row = next(r for r in ROWS if r["status"] == "confirmed" and r["nights"] >= 2)
    rec = sandbox.render_reservation(row, TIMEZONE)
    assert rec["status"] == "reserved"
    assert len(rec["stay_dates"]) == row["nights"]
    assert rec["updated_time"][-6:] in ("+00:00", "+01:00")
    zero = next(r for r in ROWS if r["nights"] == 0)
    assert len(sandbox.render_reservation(zero, TIMEZONE)["stay_dates"]) == 1


def test_meal_idioms_and_status_case() -> None:
    assert connector.meal_plan_from([{"name": "Breakfast"}, {"name": "Dinner"}], None) == "HB"
    assert connector.meal_plan_from([{"name": "Breakfast", "included_in_rate": False}], "BAR") == "unknown"
    assert connector.meal_plan_from([], "BAR-RO") == "RO"
    rec = sandbox.render_reservation(ROWS[0], TIMEZONE)
    assert connector.normalise({**rec, "status": "CHECKEDIN"}, ROOM_TYPES)["status"] == "checked_in"
    with pytest.raises(connector.StayntouchRecordError):
        connector.normalise({**rec, "status": "teleported"}, ROOM_TYPES)


# -- through real HTTP on loopback ---------------------------------------------------------------------------------
from hotel_pipeline_tests.pms.vendors import _http as h  # noqa: E402

CREDS = {"client_id": "snt-client-4e1f", "client_secret": "snt-secret-9a0c77"}
OPTIONS = {"history_start": "2013-01-01"}


def test_full_and_incremental_extracts_equal_the_data_set(monkeypatch: pytest.MonkeyPatch) -> None:
    h.full_then_incremental(connector.StayntouchConnector, CREDS, OPTIONS, monkeypatch)


def test_faults_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    h.faults_change_nothing(connector.StayntouchConnector, CREDS, OPTIONS, monkeypatch)
