"""Restaurant bookings from the Resos-shaped API (real HTTP on loopback) and the CSV inbox, matched to room nights by
booking number then room and date, with the gaps the restaurant acts on; diners' names only in the encrypted store."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from hotel_pipeline.core.clock import local_instant
from hotel_pipeline.core.portfolio import parse_portfolio
from hotel_pipeline.core.sql_models import run_model
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.occupancy.restaurant import sync_restaurant
from hotel_pipeline.privacy.erasure import erase_guest
from hotel_pipeline.workshop.sandbox.restaurant.bookings import bookings_csv_rows
from hotel_pipeline.workshop.sandbox.restaurant.server import API_KEY, ResosSandbox
from hotel_pipeline_tests.occupancy.test_room_assignment import T, build
from hotel_pipeline_tests.privacy.helpers import scan_files, scan_warehouse


def resos(bid: str, day: date, people: int, name: str, fields: dict[str, str]) -> dict:
    return {"_id": bid, "date": day.isoformat(), "time": "20:00", "dateTime": f"{day.isoformat()}T20:00:00",
            "people": people, "status": "approved",
            "guest": {"name": name, "email": f"{bid}@diner.example", "phone": f"+351 21{bid[-3:]}0000"},
            "customFields": [{"name": k, "value": v} for k, v in fields.items()]}


BOOKINGS = [
    resos("rb-001", T, 2, "Ada Lovelace", {"Hotel booking number": "r1"}),
    resos("rb-002", T, 2, "Alan Turing", {"Room number": "A102"}),
    resos("rb-003", T + timedelta(days=5), 2, "Grace Hopper", {"Hotel booking number": "r1"}),
    resos("rb-004", T, 4, "Edsger Dijkstra", {}),
    *[resos(f"rb-{n:03d}", T + timedelta(days=1), 2, f"Outside Guest{n}", {}) for n in range(100, 250)],
]


def _sync(warehouse: Warehouse, tmp_path: Path, url: str) -> None:
    portfolio = parse_portfolio({"hotels": [
        {"id": "H1", "name": "Resort Hotel", "timezone": "Europe/Lisbon", "currency": "EUR", "capacity": 187,
         "sources": [{"type": "resos", "base_url": url, "api_key_env": "TEST_RESOS_KEY_H1"},
                     {"type": "restaurant_csv"}]}]})
    sync_restaurant(warehouse, portfolio.hotel("H1"), T, local_instant(T, "Europe/Lisbon", 3), tmp_path / "raw",
                    tmp_path / "inbox")
    for name in ("restaurant_bookings", "dinner_gaps"):
        with warehouse.transaction() as tx:
            run_model(tx, name, {})


def test_restaurant_bookings_matched_and_gaps(warehouse: Warehouse, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOTEL_PIPELINE_VAULT_KEY_FILE", str(tmp_path / "vault.key"))
    monkeypatch.setenv("TEST_RESOS_KEY_H1", API_KEY)
    build(warehouse, tmp_path)
    inbox = tmp_path / "inbox" / "restaurant"
    inbox.mkdir(parents=True)
    rows = bookings_csv_rows([resos("c-1", T, 2, "Barbara Liskov", {"Hotel booking number": "r4"})])
    with open(inbox / "H1_2016-07-31.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with ResosSandbox(BOOKINGS) as url:
        _sync(warehouse, tmp_path, url)
        first = warehouse.read_table("restaurant_booking_records", order_by="source, booking_id")
        _sync(warehouse, tmp_path, url)  # the same bookings again: nothing changes
    assert not list(inbox.iterdir())  # landed in the raw zone, gone from the inbox
    again = warehouse.read_table("restaurant_booking_records", order_by="source, booking_id")
    assert again.drop("synced_at", "batch_id").equals(first.drop("synced_at", "batch_id"))
    assert again.height == len(BOOKINGS) + 1  # 150 outside bookings: two pages of 100

    rb = warehouse.query("SELECT booking_id, match_method, matched_external_id FROM restaurant_bookings "
                         "WHERE booking_id NOT LIKE 'rb-1%' AND booking_id NOT LIKE 'rb-2%' ORDER BY booking_id")
    assert rb.rows() == [("c-1", "booking_number", "r4"), ("rb-001", "booking_number", "r1"),
                         ("rb-002", "room_and_date", "r6"), ("rb-003", None, None), ("rb-004", None, None)]
    gaps = warehouse.query("SELECT stay_date, gap_kind, hotel_external_id, restaurant_booking_id, reason "
                           "FROM dinner_gaps WHERE restaurant_booking_id IS NULL OR restaurant_booking_id NOT LIKE "
                           "'rb-1%' AND restaurant_booking_id NOT LIKE 'rb-2%' ORDER BY stay_date, gap_kind")
    assert gaps.rows() == [
        (T, "booking_without_resident", None, "rb-004", "no hotel reference"),
        (T + timedelta(days=1), "dbb_without_booking", "r1", None, "dinner included, no table booked"),
        (T + timedelta(days=2), "dbb_without_booking", "r1", None, "dinner included, no table booked"),
        (T + timedelta(days=5), "booking_without_resident", "r1", "rb-003",
         "booking number matches no resident that night"),
    ]
    names = ["Ada Lovelace", "Barbara Liskov", "rb-001@diner.example", "c-1@diner.example"]
    assert scan_warehouse(warehouse, names) == []
    assert scan_files(tmp_path / "raw", ["Barbara Liskov"]) != []

    result = erase_guest(warehouse, "H1", email="c-1@diner.example", requested_by="test",
                         now=local_instant(T, "Europe/Lisbon", 9).replace(tzinfo=None), raw_root=tmp_path / "raw")
    assert result.status == "erased" and result.guests_erased == 1 and result.raw_files_redacted == 1
    assert scan_files(tmp_path / "raw", ["Barbara Liskov", "c-1@diner.example", "+351 21c-10000"]) == []
    assert scan_files(tmp_path / "raw", ["Ada Lovelace"]) != []  # another diner is untouched
    links = warehouse.query("SELECT COUNT(*) AS n FROM restaurant_bookings WHERE match_method IS NOT NULL")
    assert links["n"][0] == 3  # the erased diner's booking and its link stay (no name in them)
    assert pl.Series(warehouse.read_table("erasure_log")["lookup"]).to_list() == ["email"]


def test_restaurant_inbox_sensor_requests_a_batch_once(tmp_path: Path, monkeypatch) -> None:
    import dagster as dg

    from hotel_pipeline.defs.occupancy.jobs import restaurant_inbox_sensor

    monkeypatch.setenv("HOTEL_PIPELINE_DATA_DIR", str(tmp_path))
    skipped = restaurant_inbox_sensor(dg.build_sensor_context())
    assert not skipped.run_requests
    (tmp_path / "inbox" / "restaurant").mkdir(parents=True)
    (tmp_path / "inbox" / "restaurant" / "H1_2016-07-31.csv").write_text("booking_id\n", encoding="utf-8")
    first = restaurant_inbox_sensor(dg.build_sensor_context())
    assert len(first.run_requests) == 1 and first.run_requests[0].run_key.startswith("restaurant-")
    again = restaurant_inbox_sensor(dg.build_sensor_context(cursor=first.cursor))
    assert not again.run_requests
