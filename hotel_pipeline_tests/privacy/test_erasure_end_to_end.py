"""Names through the real path (Mews sandbox over HTTP, Dagster runs): stored only encrypted, shown only by policy and
logged, then erased: after `privacy erase` nothing of the guest is left in the warehouse, the raw zone, the Dagster
storage or the exports, and every aggregate is unchanged."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
import yaml
from click.testing import CliRunner

from hotel_pipeline.cli import main as cli
from hotel_pipeline.core.clock import Clock, local_instant
from hotel_pipeline.core.portfolio import load_portfolio
from hotel_pipeline.core.portfolio_resource import PortfolioResource
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.definitions import build_defs
from hotel_pipeline.occupancy.residents import residents_list
from hotel_pipeline.sources.pms.resource import PmsConnectors
from hotel_pipeline.workshop.sandbox.pms.harness import running_sandbox
from hotel_pipeline.workshop.sandbox.pms.world import World
from hotel_pipeline_tests.privacy.helpers import scan_files, scan_warehouse

T = date(2016, 7, 20)
LIVE = ["hotels", "reservations", "reservation_nights", "daily_metrics", "hotel_policies", "night_meals",
        "room_nights", "room_conflicts", "residents_daily"]


def _run(defs: dg.Definitions, names: list[str], resources: dict, instance: dg.DagsterInstance,
         partition_key: str | None = None) -> None:
    assets = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)
              and any(k.to_user_string() in names for k in a.keys)]
    checks = [c for c in defs.asset_checks or [] if {s.asset_key.to_user_string() for s in c.check_specs} <= set(names)]
    result = dg.materialize([*assets, *checks], instance=instance, resources=resources, partition_key=partition_key,
                            selection=names)
    assert result.success


@pytest.fixture
def pipeline(tmp_path: Path, monkeypatch):
    data = tmp_path / "data"
    monkeypatch.setenv("HOTEL_PIPELINE_DATA_DIR", str(data))
    monkeypatch.setenv("HOTEL_PIPELINE_VAULT_KEY_FILE", str(tmp_path / "keys" / "vault.key"))
    now = local_instant(T, "Europe/Lisbon", 3)
    world = World(hotel_ids=["H1"], arrival_from=date(2016, 7, 14), arrival_to=date(2016, 7, 21))
    world.set_now(now)
    with running_sandbox(world, ["mews"]) as sb:
        for key, value in sb.env.items():
            monkeypatch.setenv(key, value)
        path = tmp_path / "portfolio.yaml"
        path.write_text(yaml.safe_dump({"hotels": [
            {"id": "H1", "name": "Resort Hotel", "timezone": "Europe/Lisbon", "currency": "EUR", "capacity": 187,
             "guest_display": "full", "sources": [{"type": "mews", **sb.hotel("mews", "H1").sources[0].options}]}]}))
        monkeypatch.setenv("HOTEL_PIPELINE_CONFIG", str(path))  # for the CLI commands the tests run
        portfolio = load_portfolio(path)
        warehouse = Warehouse(url=f"duckdb:///{tmp_path / 'w.duckdb'}")
        monkeypatch.setenv("HOTEL_WAREHOUSE_URL", warehouse.url)
        monkeypatch.setenv("HOTEL_PIPELINE_CLOCK", now.isoformat())
        (tmp_path / "dagster").mkdir()
        instance = dg.DagsterInstance.local_temp(tempdir=str(tmp_path / "dagster"))
        defs = build_defs(portfolio)
        resources = {"warehouse": warehouse, "clock": Clock(frozen_at=now.isoformat()),
                     "portfolio": PortfolioResource.of(portfolio),
                     "pms": PmsConnectors(raw_dir=str(data / "raw"), throttle=False)}
        _run(defs, ["pms_extract"], resources, instance, partition_key="H1")
        _run(defs, LIVE, resources, instance)
        yield {"warehouse": warehouse, "world": world, "data": data, "dagster": tmp_path / "dagster", "now": now,
               "defs": defs, "resources": resources, "instance": instance}
        instance.dispose()


def test_names_encrypted_shown_by_policy_logged_then_erased(pipeline) -> None:
    warehouse: Warehouse = pipeline["warehouse"]
    world: World = pipeline["world"]
    hotel = load_portfolio().hotel("H1")
    # a guest in house tonight with a full name no other guest of the world has
    rn = warehouse.query("SELECT external_id, guest_token FROM room_nights WHERE stay_date = :d AND guest_token IS NOT "
                         "NULL ORDER BY external_id", {"d": T})
    bookings = world.bookings.filter(pl.col("hotel_id") == "H1")
    counts = bookings.group_by("first_name", "last_name").len()
    unique = bookings.join(counts.filter(pl.col("len") == 1), on=["first_name", "last_name"])
    from hotel_pipeline.workshop.sandbox.pms.vendors import vendor_classes

    mews = vendor_classes()["mews"]
    ids = {mews.reservation_id("H1", r): r for r in unique["booking_ref"].to_list()}
    external_id = next(x for x in rn["external_id"].to_list() if x in ids)
    guest = unique.filter(pl.col("booking_ref") == ids[external_id]).row(0, named=True)
    values = [f"{guest['first_name']} {guest['last_name']}", guest["email"], guest["phone"]]

    # names only encrypted: nowhere in the warehouse or Dagster's storage, but in the raw zone (the PMS's own answer)
    assert scan_warehouse(warehouse, values) == []
    assert scan_files(pipeline["dagster"], values) == []
    assert scan_files(pipeline["data"] / "raw", values) != []
    # the policy allows full names: the residents list shows them, and the production is logged
    listed = residents_list(warehouse, hotel, T, 7, requested_by="test", now=pipeline["now"].replace(tzinfo=None))
    mine = listed.filter(pl.col("booking") == external_id)
    assert mine["guest"][0] == values[0]
    log = warehouse.read_table("pii_access_log")
    assert log.height == 1 and log["names_shown"][0] > 0 and log["policy"][0] == "full"
    assert log["start_date"][0] == T and log["rows_listed"][0] == listed.height
    aggregates = {t: warehouse.read_table(t, order_by="hotel_id, stay_date")
                  for t in ("daily_metrics", "residents_daily")}
    reservations = warehouse.read_table("reservations", order_by="source, hotel_id, external_id")

    result = CliRunner().invoke(cli, ["privacy", "erase", "--hotel", "H1", "--external-id", external_id])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("erased: 1 guest record(s) shredded")

    assert scan_warehouse(warehouse, values) == []
    assert scan_files(pipeline["data"] / "raw", values) == []
    assert scan_files(pipeline["data"] / "exports", values) == []
    assert scan_files(pipeline["dagster"], values) == []
    # the key is gone (tombstone), the list shows the no-name label, other guests keep theirs
    keys = warehouse.query("SELECT k.wrapped_key, k.shredded_at FROM guest_keys k JOIN reservations r "
                           "ON r.guest_token = k.guest_token WHERE r.external_id = :x", {"x": external_id})
    assert keys["wrapped_key"][0] is None and keys["shredded_at"][0] is not None
    again = residents_list(warehouse, hotel, T, 7, requested_by="test", now=pipeline["now"].replace(tzinfo=None))
    assert again.filter(pl.col("booking") == external_id)["guest"][0].startswith("Guest, ")
    others = again.filter((pl.col("booking") != external_id) & ~pl.col("guest").str.starts_with("Guest, "))
    assert others.height > 0
    erasure = warehouse.read_table("erasure_log")
    assert erasure.select("hotel_id", "lookup", "booking", "status").row(0) == ("H1", "external_id", external_id,
                                                                              "erased")
    assert erasure["raw_files_redacted"][0] >= 1
    # aggregates unchanged, also after the live layer and occupancy are rebuilt
    _run(pipeline["defs"], LIVE, pipeline["resources"], pipeline["instance"])
    for table, before in aggregates.items():
        assert warehouse.read_table(table, order_by="hotel_id, stay_date").drop("updated_at", strict=False).equals(
            before.drop("updated_at", strict=False)), table
    assert warehouse.read_table("reservations", order_by="source, hotel_id, external_id").drop("synced_at").equals(
        reservations.drop("synced_at"))
    # the raw zone still replays into the same reservations (redaction removed names only)
    assert scan_files(pipeline["data"] / "raw", values) == []
