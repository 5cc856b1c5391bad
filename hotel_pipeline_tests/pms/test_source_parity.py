"""The demo's premise: a hotel's reservations are the same whether they come from the legacy CSV export or from its
PMS API (H1 on Mews, H2 on Cloudbeds), so pacing figures do not depend on the source path."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl

from hotel_pipeline.core.clock import Clock, local_instant
from hotel_pipeline.core.portfolio import load_portfolio
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.sources.csv.dataset import load_history
from hotel_pipeline.sources.csv.importer import import_file
from hotel_pipeline.workshop.legacy_exports import write_daily_exports
from hotel_pipeline.workshop.sandbox.pms.harness import running_sandbox
from hotel_pipeline.workshop.sandbox.pms.vendors import vendor_classes
from hotel_pipeline.workshop.sandbox.pms.world import World
from hotel_pipeline_tests.pms.helpers import current_reservations, extract

SHARED = ["status", "booked_on", "cancelled_on", "checked_out_on", "arrival_date", "departure_date", "nights",
          "room_type", "adults", "meal_plan", "is_dbb", "net_amount"]


def test_pms_sources_give_the_csv_imports_reservations(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOTEL_PIPELINE_DATA_DIR", str(tmp_path / "data"))
    business_date = date(2016, 7, 17)
    now = local_instant(business_date + timedelta(days=1), "Europe/Lisbon", 3)
    history = load_history()
    csv_wh = Warehouse(url=f"duckdb:///{tmp_path / 'csv.duckdb'}")
    for path in write_daily_exports(tmp_path / "inbox", business_date, business_date, history=history):
        import_file(csv_wh, path, load_portfolio(), Clock(frozen_at=now.isoformat()))
    world = World(history, arrival_from=date(2016, 7, 1), arrival_to=date(2016, 8, 31))
    world.set_now(now)
    pms_wh = Warehouse(url=f"duckdb:///{tmp_path / 'pms.duckdb'}")
    compared = 0
    with running_sandbox(world, ["mews", "cloudbeds"]) as sb:
        for hotel_id, vendor in (("H1", "mews"), ("H2", "cloudbeds")):
            extract(sb, pms_wh, vendor, hotel_id, now, tmp_path / "raw")
            refs = world.bookings.filter(pl.col("hotel_id") == hotel_id)["booking_ref"].to_list()
            ids = {vendor_classes()[vendor].reservation_id(hotel_id, r): str(r) for r in refs}
            pms = current_reservations(pms_wh, vendor, hotel_id).with_columns(
                pl.col("external_id").replace_strict(ids, return_dtype=pl.String)).select("external_id", *SHARED)
            csv = current_reservations(csv_wh, "csv", hotel_id).filter(
                pl.col("external_id").is_in(list(ids.values()))).select("external_id", *SHARED)
            assert pms.height == csv.height > 1000, hotel_id
            assert pms.sort("external_id").equals(csv.sort("external_id")), hotel_id
            compared += pms.height
    assert compared > 4000
