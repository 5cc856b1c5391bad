"""OPERA Cloud: the sandbox's rendering and the connector's normalisation agree, in OPERA's own words."""

from __future__ import annotations

import json

import pytest

from hotel_pipeline.sources.pms import opera as connector
from hotel_pipeline.workshop.sandbox.pms.vendors import opera as sandbox
from hotel_pipeline_tests.pms.vendors._world_rows import TIMEZONE, expected, sample_rows

ROWS = sample_rows()


def test_sample_covers_every_status_meal_and_early_departure() -> None:
    assert {r["status"] for r in ROWS} == {"confirmed", "checked_in", "checked_out", "cancelled", "no_show"}
    assert {r["meal_plan"] for r in ROWS} == {"RO", "BB", "HB", "FB", "unknown"}
    assert any(r["checked_out_on"] and r["checked_out_on"] < r["departure_date"] for r in ROWS)


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r['external_id']}-{r['status']}-{r['meal_plan']}")
def test_round_trip(row: dict) -> None:
    record = json.loads(json.dumps(sandbox.render_reservation(row, TIMEZONE)))
    [got] = connector.normalise(record, TIMEZONE)
    assert {k: got[k] for k in expected(row)} == expected(row)
    assert got["external_id"] == row["external_id"]
    assert got["net_amount"] == pytest.approx(row["net_amount"], abs=0.01)
    assert got["currency"] == "EUR"
    assert got["guest"]["email"] == row["email"]


def test_vendor_vocabulary() -> None:
    """The record speaks OPERA: status words, packages, the original span and an early departure."""
    early = next(r for r in ROWS if r["checked_out_on"] and r["checked_out_on"] < r["departure_date"])
    rec = sandbox.render_reservation(early, TIMEZONE)
    assert rec["reservationStatus"] == "CheckedOut"
    assert rec["roomStay"]["departureDate"] == early["checked_out_on"].isoformat()
    assert rec["roomStay"]["originalTimeSpan"]["endDate"] == early["departure_date"].isoformat()
    hb = next(r for r in ROWS if r["meal_plan"] == "HB")
    assert [p["packageCode"] for p in sandbox.render_reservation(hb, TIMEZONE)["pkgConsumptionInfo"]] == [
        "BRKF", "DINR"]
    assert rec["lastModifyDateTime"].endswith(".0")


def test_meal_idioms() -> None:
    assert connector.meal_plan_from([], "BAR-RO") == "RO"
    assert connector.meal_plan_from([], "BAR") == "unknown"
    assert connector.meal_plan_from([{"packageCode": "DINR"}], "PKG") == "HB"
    assert connector.meal_plan_from([{"packageCode": "BKFST"}], None) == "BB"


def test_unknown_status_is_an_error() -> None:
    rec = sandbox.render_reservation(ROWS[0], TIMEZONE)
    rec["reservationStatus"] = "Teleported"
    with pytest.raises(connector.OperaRecordError, match="Teleported"):
        connector.normalise(rec, TIMEZONE)


# -- through real HTTP on loopback ---------------------------------------------------------------------------------
from hotel_pipeline.sources.pms.base import Window  # noqa: E402
from hotel_pipeline_tests.pms.vendors import _http as h  # noqa: E402

CREDS = {"client_id": "opera-client", "client_secret": "opera-secret-7f3a", "app_key": "5b1c2f0e-7d4a-4c3b-9e8f-0a1b2c3d4e5f"}
OPTIONS = {"arrival_from": "2015-12-01", "horizon_days": 120, "window_days": 92}


def _connector(server: h.SandboxServer, monkeypatch: pytest.MonkeyPatch) -> connector.OperaConnector:
    return h.make_connector(connector.OperaConnector, server.base_url("opera"), CREDS, OPTIONS, monkeypatch)


def test_full_extract_equals_the_data_set_and_splits_windows_at_the_offset_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    with h.sandbox("opera", CREDS) as server:
        conn = _connector(server, monkeypatch)
        got = h.extract(conn, server, Window("full", until=h.T2))
        h.assert_same(h.comparable(got), h.expected(h.T2))
        offsets = [p["request"]["params"]["offset"] for p in (x.as_dict() for x in conn.http.pages)]
        assert max(offsets) <= connector.MAX_OFFSET  # a 92-day window holds > 1200 arrivals: it was split
        spans = {(p.request["params"]["arrivalStartDate"], p.request["params"]["arrivalEndDate"])
                 for p in conn.http.pages}
        assert len(spans) > 2
        assert set(h.comparable(got)["status"]) == {"confirmed", "checked_in", "checked_out", "cancelled", "no_show"}
        h.secrets_absent(conn, [*CREDS.values(), conn.auth.token or "-"])


def test_incremental_rereads_the_arrival_window(monkeypatch: pytest.MonkeyPatch) -> None:
    with h.sandbox("opera", CREDS) as server:
        conn = _connector(server, monkeypatch)
        first = h.extract(conn, server, Window("full", until=h.T1))
        h.assert_same(h.comparable(first), h.expected(h.T1))
        later = h.extract(conn, server, Window("incremental", until=h.T2, since=h.T1))
        h.assert_same(h.merge(h.comparable(first), h.comparable(later)), h.expected(h.T2))
        assert later.newest_modified is not None and later.newest_modified <= h.T2


def test_faults_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    conn = h.faults_change_nothing(connector.OperaConnector, CREDS, OPTIONS, monkeypatch)
    assert conn.http.stats.throttle_waits > 0


def test_offset_beyond_the_cap_is_refused_by_the_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    with h.sandbox("opera", CREDS) as server:
        conn = _connector(server, monkeypatch)
        server.sandbox.world.set_now(h.T2)
        with pytest.raises(connector.ClientRequestError, match="offset"):
            conn.http.call("GET", "/rsv/v1/hotels/H1/reservations", params={"limit": 200, "offset": 1200},
                           headers=conn._headers)
