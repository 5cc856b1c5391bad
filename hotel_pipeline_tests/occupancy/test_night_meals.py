"""The per-night board readers on vendor-shaped raw pages: a guest with half board on one night of three."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.occupancy.night_meals import mews_nights, newbook_nights, update_night_meals
from hotel_pipeline.sources.pms.raw import raw_path, write_raw

CTX = {"hotel_id": "H1", "timezone": "Europe/Lisbon", "options": {}}


def test_mews_board_items_per_night_and_product() -> None:
    pages = [
        {"label": "reservations", "body": {"Reservations": [
            {"Id": "res-1", "ScheduledStartUtc": "2016-07-30T13:00:00Z", "ScheduledEndUtc": "2016-08-02T10:00:00Z"},
            {"Id": "res-2", "ScheduledStartUtc": "2016-07-30T13:00:00Z", "ScheduledEndUtc": "2016-07-31T10:00:00Z"}]}},
        {"label": "products", "body": {"Products": [{"Id": "p-hb", "ShortNames": {"en-US": "HB"}},
                                                    {"Id": "p-bb", "ShortNames": {"en-US": "BFST"}}]}},
        {"label": "orderItems", "body": {"OrderItems": [
            {"ServiceOrderId": "res-1", "Type": "ProductOrder", "ConsumedUtc": "2016-07-30T18:00:00Z",
             "Data": {"Product": {"ProductId": "p-hb"}}},
            {"ServiceOrderId": "res-1", "Type": "ProductOrder", "ConsumedUtc": "2016-07-31T18:00:00Z",
             "Data": {"Product": {"ProductId": "p-bb"}}},
            {"ServiceOrderId": "res-1", "Type": "ProductOrder", "ConsumedUtc": "2016-08-01T18:00:00Z",
             "AccountingState": "Canceled", "Data": {"Product": {"ProductId": "p-hb"}}},
            {"ServiceOrderId": "res-1", "Type": "SpaceOrder", "ConsumedUtc": "2016-08-01T12:00:00Z"}]}},
    ]
    carried, nights = mews_nights(pages, CTX)
    assert carried == {"res-1", "res-2"}  # res-2 has no board items: its booking's plan holds
    got = [(n["stay_date"], n["meal_plan"], n["breakfast"], n["dinner"]) for n in nights]
    assert got == [(date(2016, 7, 30), "HB", True, True), (date(2016, 7, 31), "BB", True, False),
                   (date(2016, 8, 1), "RO", False, False)]


def test_newbook_dated_inventory_items() -> None:
    pages = [{"label": "bookings", "body": {"data": [
        {"booking_id": 7, "booking_arrival": "2016-07-30 14:00:00", "booking_departure": "2016-08-02 10:00:00",
         "inventory_items": [{"description": "DBB", "stay_date": "2016-07-31"},
                             {"description": "Breakfast", "stay_date": "2016-07-30"},
                             {"description": "Breakfast", "stay_date": "2016-08-01"}]},
        {"booking_id": 8, "booking_arrival": "2016-07-30 14:00:00", "booking_departure": "2016-07-31 10:00:00",
         "inventory_items": [{"description": "DBB"}]}]}}]
    carried, nights = newbook_nights(pages, CTX)
    assert carried == {"7", "8"}
    assert [(n["external_id"], n["stay_date"], n["meal_plan"]) for n in nights] == [
        ("7", date(2016, 7, 30), "BB"), ("7", date(2016, 7, 31), "HB"), ("7", date(2016, 8, 1), "BB")]


def test_mews_reads_the_instant_of_board_items_only() -> None:
    """Only a board item's consumption instant is read: a full extract carries hundreds of thousands of order items
    (minibar, parking, spa), and an instant that says nothing about the board cannot stop the night's board."""
    pages = [
        {"label": "reservations", "body": {"Reservations": [
            {"Id": "res-1", "ScheduledStartUtc": "2016-07-30T13:00:00Z", "ScheduledEndUtc": "2016-07-31T10:00:00Z"}]}},
        {"label": "products", "body": {"Products": [{"Id": "p-hb", "ShortNames": {"en-US": "HB"}},
                                                    {"Id": "p-spa", "ShortNames": {"en-US": "Spa"}}]}},
        {"label": "orderItems", "body": {"OrderItems": [
            {"ServiceOrderId": "res-1", "Type": "ProductOrder", "ConsumedUtc": "not an instant",
             "Data": {"Product": {"ProductId": "p-spa"}}},
            *({"ServiceOrderId": "res-1", "Type": "ProductOrder", "ConsumedUtc": "2016-07-30T18:00:00Z",
               "Data": {"Product": {"ProductId": "p-hb"}}} for _ in range(3))]}},
    ]
    _, nights = mews_nights(pages, CTX)
    assert [(n["stay_date"], n["meal_plan"]) for n in nights] == [(date(2016, 7, 30), "HB")]
    pages[2]["body"]["OrderItems"][0]["Data"]["Product"]["ProductId"] = "p-hb"
    with pytest.raises(ValueError, match="unreadable date or instant 'not an instant'"):
        mews_nights(pages, CTX)


def _mews_extract(raw_root: Path, at: datetime, booking: str) -> Path:
    """One complete raw Mews extract carrying ``booking`` with half board on its one night."""
    pages = [
        {"label": "reservations", "body": {"Reservations": [
            {"Id": booking, "ScheduledStartUtc": "2016-07-30T13:00:00Z", "ScheduledEndUtc": "2016-07-31T10:00:00Z"}]}},
        {"label": "products", "body": {"Products": [{"Id": "p-hb", "ShortNames": {"en-US": "HB"}}]}},
        {"label": "orderItems", "body": {"OrderItems": [
            {"ServiceOrderId": booking, "Type": "ProductOrder", "ConsumedUtc": "2016-07-30T18:00:00Z",
             "Data": {"Product": {"ProductId": "p-hb"}}}]}},
    ]
    path = raw_path(raw_root, "mews", "H1", at, f"{at:%Y%m%dT%H%M%SZ}-incremental-{booking}")
    return write_raw(path, {"complete": True, "context": CTX, "pages": pages})


def test_a_raw_file_already_read_is_never_opened_again(tmp_path: Path) -> None:
    """The ledger is consulted before a file is read: the raw zone only grows (a full Mews extract is 130 MB of JSON),
    so a run reads the new files, not the whole history again. Here a file already read is made unreadable."""
    warehouse = Warehouse(url=f"duckdb:///{tmp_path / 'w.duckdb'}")
    raw_root = tmp_path / "raw"
    first = _mews_extract(raw_root, datetime(2016, 7, 30, 1, tzinfo=UTC), "res-1")
    read_at = datetime(2016, 7, 30, 2)
    assert update_night_meals(warehouse, raw_root, read_at) == {"files": 1, "nights": 1}
    first.write_bytes(b"not gzip: reading this file again would fail")
    _mews_extract(raw_root, datetime(2016, 7, 31, 1, tzinfo=UTC), "res-2")
    assert update_night_meals(warehouse, raw_root, read_at) == {"files": 1, "nights": 1}
    assert sorted(warehouse.query("SELECT external_id FROM night_meals")["external_id"].to_list()) == ["res-1", "res-2"]
