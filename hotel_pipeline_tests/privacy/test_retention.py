"""Retention: room-level detail and names go N days after departure, aggregates stay, a second run purges nothing."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl

from hotel_pipeline.core.portfolio import parse_portfolio
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.privacy.retention import purge_expired
from hotel_pipeline.privacy.vault import reveal, store_guests
from hotel_pipeline.unified import accept_reservations
from hotel_pipeline_tests.occupancy.helpers import build_occupancy
from hotel_pipeline_tests.occupancy.test_room_assignment import booking
from hotel_pipeline_tests.pipeline_helpers import build_live, clock_at

PORTFOLIO = parse_portfolio({"hotels": [
    {"id": "H1", "name": "Resort Hotel", "timezone": "Europe/Lisbon", "currency": "EUR", "capacity": 187,
     "retention_days": 10}]})


def test_retention_purges_detail_after_departure_only(warehouse: Warehouse, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOTEL_PIPELINE_VAULT_KEY_FILE", str(tmp_path / "vault.key"))
    first, second = date(2016, 7, 1), date(2016, 7, 20)
    rows = [booking("old", first, 2, "A101", guest_token="g-old"), booking("new", second, 3, "A101",
                                                                          guest_token="g-new")]
    with warehouse.transaction() as tx:
        accept_reservations(tx, pl.DataFrame(rows, infer_schema_length=None), source_as_of=datetime(2016, 6, 30),
                            synced_at=datetime(2016, 6, 30), batch_id="t")
        store_guests(tx, pl.DataFrame([
            {"hotel_id": "H1", "source": "mews", "guest_token": t, "first_name": f, "last_name": "Doe",
             "email": f"{f}@example.org", "phone": None} for t, f in (("g-old", "Ann"), ("g-new", "Bob"))]),
            datetime(2016, 6, 30))
    # the nights are written while they are "tonight", then kept as history
    for day in (first, first + timedelta(days=1), second):
        clock = clock_at(day)
        build_live(warehouse, clock, PORTFOLIO)
        build_occupancy(warehouse, clock, tmp_path / "raw", PORTFOLIO)
    before = warehouse.query("SELECT external_id, COUNT(*) AS n FROM room_nights GROUP BY external_id "
                             "ORDER BY external_id")
    assert before.rows() == [("new", 3), ("old", 2)]
    board = warehouse.read_table("daily_metrics", order_by="stay_date")

    # departure of "old" is 2016-07-03: kept on 2016-07-13 (10 days after), purged from 2016-07-14 on
    assert purge_expired(warehouse, PORTFOLIO, clock_at(date(2016, 7, 13)), "test")["rows_purged"].sum() == 0
    log = purge_expired(warehouse, PORTFOLIO, clock_at(date(2016, 7, 14)), "test")
    purged = dict(log.select("table_name", "rows_purged").iter_rows())
    assert purged["room_nights"] == 2 and purged["guest_vault"] == 1
    assert log["cutoff_date"][0] == date(2016, 7, 4)
    left = warehouse.query("SELECT DISTINCT external_id FROM room_nights")["external_id"].to_list()
    assert left == ["new"]
    with warehouse.transaction() as tx:
        people = reveal(tx, ["g-old", "g-new"])
    assert list(people) == ["g-new"] and people["g-new"]["first_name"] == "Bob"
    # idempotent: the same day again purges nothing, and logs that it did
    again = purge_expired(warehouse, PORTFOLIO, clock_at(date(2016, 7, 14)), "test")
    assert again["rows_purged"].sum() == 0
    assert warehouse.query("SELECT COUNT(*) AS n FROM retention_log")["n"][0] == 3 * 4
    # aggregates and the unified model are untouched
    assert warehouse.read_table("daily_metrics", order_by="stay_date").equals(board)
    assert warehouse.query("SELECT COUNT(*) AS n FROM reservations")["n"][0] == 2


def test_retention_job_runs_in_dagster_and_logs(duckdb_warehouse: Warehouse, tmp_path: Path, monkeypatch) -> None:
    from hotel_pipeline.definitions import build_defs

    monkeypatch.setenv("HOTEL_PIPELINE_VAULT_KEY_FILE", str(tmp_path / "vault.key"))
    clock = clock_at(date(2016, 7, 31))
    with duckdb_warehouse.transaction() as tx:
        accept_reservations(tx, pl.DataFrame([booking("r1", date(2016, 7, 31), 2, "A101")], infer_schema_length=None),
                            source_as_of=datetime(2016, 7, 30), synced_at=datetime(2016, 7, 30), batch_id="t")
    build_live(duckdb_warehouse, clock, PORTFOLIO)
    build_occupancy(duckdb_warehouse, clock, tmp_path / "raw", PORTFOLIO)
    defs = build_defs(PORTFOLIO)
    job = defs.resolve_job_def("retention_job")
    result = job.execute_in_process(resources={"warehouse": duckdb_warehouse, "clock": clock})
    assert result.success
    log = duckdb_warehouse.read_table("retention_log")
    assert log.height == 4 and log["requested_by"][0] == f"run:{result.run_id}"
    names = {s.name for s in defs.schedules}
    assert {"retention_0430_europe_lisbon", "occupancy_0330_europe_lisbon"} <= names
