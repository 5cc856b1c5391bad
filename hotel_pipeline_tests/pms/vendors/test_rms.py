"""RMS Cloud: the sandbox's rendering and the connector's normalisation agree, in RMS's own words."""

from __future__ import annotations

import json

import pytest

from hotel_pipeline.sources.pms import rms as connector
from hotel_pipeline.sources.pms.base import NotABooking
from hotel_pipeline.sources.pms.errors import AuthError
from hotel_pipeline.workshop.sandbox.pms.vendors import rms as sandbox
from hotel_pipeline_tests.pms.vendors._world_rows import TIMEZONE, expected, sample_rows

ROWS = sample_rows()


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r['external_id']}-{r['status']}-{r['meal_plan']}")
def test_round_trip(row: dict) -> None:
    record = json.loads(json.dumps(sandbox.render_reservation(row, TIMEZONE)))
    revenue = json.loads(json.dumps(sandbox.render_daily_revenue(row)))
    got = connector.normalise(record, sandbox.MEAL_PLANS, {revenue["reservationId"]: revenue["dailyRevenue"]})
    assert {k: got[k] for k in expected(row)} == expected(row)
    assert got["external_id"] == row["external_id"]
    assert got["net_amount"] == pytest.approx(row["net_amount"], abs=0.01)
    assert got["guest"]["last_name"] == row["last_name"]


def test_vendor_vocabulary_and_capital_m_modified_date() -> None:
    row = next(r for r in ROWS if r["status"] == "no_show")
    rec = sandbox.render_reservation(row, TIMEZONE)
    assert rec["status"] == "NoShow"
    assert "ModifiedDate" in rec and "modifiedDate" not in rec
    assert rec["arrivalDate"].endswith(" 14:00:00")
    rec["modifiedDate"] = rec.pop("ModifiedDate")  # either spelling is read
    assert connector.normalise(rec, sandbox.MEAL_PLANS)["source_modified_at"].year >= 2014


def test_non_guest_rows_are_skipped_and_unknown_status_fails() -> None:
    rec = sandbox.render_reservation(ROWS[0], TIMEZONE)
    for status in ("Maintenance", "stopSell", "StopSell", "quote", "ownerOccupied"):
        with pytest.raises(NotABooking, match=status):
            connector.normalise({**rec, "status": status}, sandbox.MEAL_PLANS)
    with pytest.raises(NotABooking, match="Blocking"):
        connector.normalise({**rec, "reservationType": "Blocking"}, sandbox.MEAL_PLANS)
    assert connector.normalise({**rec, "status": "pencil"}, sandbox.MEAL_PLANS)["status"] == "confirmed"
    assert connector.normalise({**rec, "status": "No Show"}, sandbox.MEAL_PLANS)["status"] == "no_show"
    with pytest.raises(connector.RmsRecordError, match="Teleported"):
        connector.normalise({**rec, "status": "Teleported"}, sandbox.MEAL_PLANS)


def test_meal_plan_names() -> None:
    assert [connector.meal_plan_from_name(n) for n in sandbox.MEAL_PLANS.values()] == ["RO", "BB", "HB", "FB"]
    assert connector.meal_plan_from_name(None) == "unknown"
    assert connector.meal_plan_from_name("Dinner Bed and Breakfast") == "HB"


# -- through real HTTP on loopback ---------------------------------------------------------------------------------
from hotel_pipeline_tests.pms.vendors import _http as h  # noqa: E402

#: Short numeric ids as RMS issues them: credentials (from the environment), redacted as whole field values only.
CREDS = {"agent_id": "7", "agent_password": "rms-agent-pw-55d1", "client_id": "11", "client_password": "rms-cli-pw-0b9e"}


SECRETS = [CREDS["agent_password"], CREDS["client_password"]]


def test_full_and_incremental_extracts_equal_the_data_set(monkeypatch: pytest.MonkeyPatch) -> None:
    conn, _ = h.full_then_incremental(connector.RmsConnector, CREDS, {"page_size": 400}, monkeypatch, SECRETS)
    bodies = [p.as_dict()["request"]["json"] for p in conn.http.pages if p.label == "reservations"]
    assert all({"cancelled", "noShow", "pencil"} <= set(b["listOfStatus"]) for b in bodies)
    assert all(set(b["listOfStatus"]) <= {s.lower() for s in sandbox.STATUS_ENUM} | set(sandbox.STATUS_ENUM)
               for b in bodies)  # spelled as the documented enum
    # the short ids ("7", "11") are not blanked out of the data: room numbers, amounts, ids still hold them
    text = repr([p.body for p in conn.http.pages])
    assert "<redacted>" not in text and "11" in text


def test_faults_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    h.faults_change_nothing(connector.RmsConnector, CREDS, {"page_size": 400}, monkeypatch, SECRETS)


def test_refused_login_is_an_auth_error_without_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    """A refused login is final: the core's refresh hook does not fire for the login itself (three failed logins
    would lock the agent), so exactly one login attempt reaches RMS, with no per-connector workaround."""
    with h.sandbox("rms", CREDS) as server:
        conn = h.make_connector(connector.RmsConnector, server.base_url("rms"),
                                {**CREDS, "agent_password": "wrong-pw-123"}, {}, monkeypatch)
        assert conn.http.on_auth_failure is not None  # the hook is wired, and stays wired
        with pytest.raises(AuthError) as err:
            conn.login()
        assert "wrong-pw-123" not in str(err.value)
        assert server.sandbox.handlers["rms"]._failed_logins == {"7": 1}
        assert conn.http.stats.requests == 1
