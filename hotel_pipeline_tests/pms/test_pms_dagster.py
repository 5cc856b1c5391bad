"""The pms_extract asset in Dagster: per-hotel partitions, a failing hotel does not fail the other, no secret in the
event log or metadata, schedules ask for the right hotels."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
import yaml

from hotel_pipeline.core.clock import Clock, local_instant
from hotel_pipeline.core.portfolio import load_portfolio
from hotel_pipeline.core.portfolio_resource import PortfolioResource
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.defs.sources.pms.assets import build_pms_extract
from hotel_pipeline.sources.pms.cadence import due_hotels
from hotel_pipeline.sources.pms.resource import PmsConnectors
from hotel_pipeline.workshop.sandbox.pms.harness import running_sandbox
from hotel_pipeline.workshop.sandbox.pms.world import World
from hotel_pipeline_tests.pms.helpers import scan_for_secrets


@pytest.fixture
def two_hotel_world() -> World:
    return World(hotel_ids=["H1", "H2"], arrival_from=date(2016, 7, 1), arrival_to=date(2016, 7, 31))


def _portfolio(tmp_path: Path, sb, h2_env: str) -> Path:
    def src(vendor: str, hotel_id: str, **extra) -> dict:
        s = sb.hotel(vendor, hotel_id).sources[0]
        return {"type": vendor, **s.options, **extra}

    hotels = [
        {"id": "H1", "name": "Resort Hotel", "timezone": "Europe/Lisbon", "currency": "EUR", "capacity": 187,
         "sources": [src("mews", "H1", incremental_every_minutes=30)]},
        {"id": "H2", "name": "City Hotel", "timezone": "Europe/Lisbon", "currency": "EUR", "capacity": 226,
         "sources": [src("cloudbeds", "H2", api_key_env=h2_env)]},
    ]
    path = tmp_path / "portfolio.yaml"
    path.write_text(yaml.safe_dump({"hotels": hotels}))
    return path


#: (vendor of H1, which extracts, vendor of H2, whose credentials are refused): each of the seven succeeds once and
#: fails once through Dagster.
PAIRS = [("mews", "cloudbeds"), ("cloudbeds", "mews"), ("opera", "rms"), ("rms", "stayntouch"),
         ("stayntouch", "newbook"), ("newbook", "beds24"), ("beds24", "opera")]


@pytest.mark.parametrize(("ok_vendor", "bad_vendor"), PAIRS)
def test_partitions_fail_alone_and_leak_no_secret(two_hotel_world, tmp_path: Path, monkeypatch, ok_vendor: str,
                                                  bad_vendor: str) -> None:
    """No credential (real or refused) in the Dagster event log, the materialisation metadata, the raw zone, the
    warehouse or the failure's exception; the failing partition leaves the other's success alone."""
    now = local_instant(date(2016, 7, 20), "Europe/Lisbon", 3)
    two_hotel_world.set_now(now)
    with running_sandbox(two_hotel_world, sorted({ok_vendor, bad_vendor})) as sb:
        for key, value in sb.env.items():
            monkeypatch.setenv(key, value)
        broken = {}
        for option in sb.hotel(bad_vendor, "H2").sources[0].options:
            if option.endswith("_env"):
                name = f"BROKEN_{bad_vendor}_{option}".upper()
                monkeypatch.setenv(name, f"not-the-{option[:-4]}-" + "7" * 20)
                broken[option] = name
        path = tmp_path / "portfolio.yaml"
        path.write_text(yaml.safe_dump({"hotels": [
            {"id": "H1", "name": "Resort Hotel", "timezone": "Europe/Lisbon", "currency": "EUR", "capacity": 187,
             "sources": [{"type": ok_vendor, **sb.hotel(ok_vendor, "H1").sources[0].options}]},
            {"id": "H2", "name": "City Hotel", "timezone": "Europe/Lisbon", "currency": "EUR", "capacity": 226,
             "sources": [{"type": bad_vendor, **sb.hotel(bad_vendor, "H2").sources[0].options, **broken}]},
        ]}))
        portfolio = load_portfolio(path)
        instance = dg.DagsterInstance.ephemeral()
        resources = {"warehouse": Warehouse(url=f"duckdb:///{tmp_path / 'w.duckdb'}"),
                     "clock": Clock(frozen_at=now.isoformat()), "portfolio": PortfolioResource.of(portfolio),
                     "pms": PmsConnectors(raw_dir=str(tmp_path / "raw"), max_attempts=3, backoff_base_seconds=0.01)}
        pms_extract = build_pms_extract(portfolio)
        ok = dg.materialize([pms_extract], partition_key="H1", resources=resources, instance=instance)
        bad = dg.materialize([pms_extract], partition_key="H2", resources=resources, instance=instance,
                             raise_on_error=False)
        assert ok.success and not bad.success
        meta = ok.asset_materializations_for_node("pms_extract")[0].metadata
        assert meta[f"{ok_vendor}.records"].value > 1000
        status = resources["warehouse"].query("SELECT hotel_id, last_status FROM integration_status ORDER BY hotel_id")
        assert status.rows() == [("H1", "ok"), ("H2", "failed")]
        records = instance.get_records_for_run(ok.run_id).records + instance.get_records_for_run(bad.run_id).records
        log_text = [str(r.event_log_entry) for r in records]
        failures = [str(e.event_specific_data.error) for e in bad.all_events if e.is_step_failure]
        tables = [str(resources["warehouse"].read_table(t).to_dicts())
                  for t in ("integration_status", "reservation_versions", "rooms", "guests")]
        secrets = [*sb.secrets(), *(os.environ[name] for name in broken.values())]
        assert len(secrets) > len(broken) and failures
        assert scan_for_secrets(secrets, tmp_path / "raw",
                                texts=[*log_text, str(meta), *failures, *tables]) == []
        assert any("refused" in t for t in log_text)  # the failure says what happened


def test_schedules_pick_hotels_by_their_own_period(two_hotel_world, tmp_path: Path) -> None:
    with running_sandbox(two_hotel_world, ["mews", "cloudbeds"]) as sb:
        portfolio = load_portfolio(_portfolio(tmp_path, sb, "X"))
        assert due_hotels(portfolio, "incremental", 15) == [("H2", "auto")]  # H1 asks for every 30 minutes
        assert due_hotels(portfolio, "incremental", 30) == [("H1", "auto"), ("H2", "auto")]
        assert due_hotels(portfolio, "reconcile", 6 * 60) == [("H1", "reconcile"), ("H2", "reconcile")]
        assert due_hotels(portfolio, "reconcile", 7 * 60) == []


def test_sandbox_for_portfolio_serves_the_demo_layout(tmp_path: Path, monkeypatch) -> None:
    """The demo layout (H1 on Mews, H2 on Cloudbeds, one sandbox port) extracts with the portfolio's own env vars."""
    from hotel_pipeline.core.portfolio import parse_portfolio
    from hotel_pipeline.sources.pms import connector_classes
    from hotel_pipeline.sources.pms.extract import run_extract
    from hotel_pipeline.workshop.sandbox.pms.harness import sandbox_for_portfolio

    monkeypatch.delenv("DEMO_MEWS_CLIENT", raising=False)
    world = World(hotel_ids=["H1", "H2"], arrival_from=date(2016, 7, 10), arrival_to=date(2016, 7, 20))
    portfolio = parse_portfolio({"hotels": [
        {"id": "H1", "name": "Resort Hotel", "timezone": "Europe/Lisbon", "currency": "EUR", "capacity": 187,
         "sources": [{"type": "mews", "base_url": "http://127.0.0.1:0/mews", "client_token_env": "DEMO_MEWS_CLIENT",
                      "access_token_env": "DEMO_MEWS_ACCESS_H1"}]},
        {"id": "H2", "name": "City Hotel", "timezone": "Europe/Lisbon", "currency": "EUR", "capacity": 226,
         "sources": [{"type": "cloudbeds", "base_url": "http://127.0.0.1:0/cloudbeds", "api_key_env": "DEMO_CB_H2"}]},
    ]})
    now = local_instant(date(2016, 7, 18), "Europe/Lisbon", 3)
    with sandbox_for_portfolio(portfolio, now, world=world) as sb:
        for key in ("DEMO_MEWS_CLIENT", "DEMO_MEWS_ACCESS_H1", "DEMO_CB_H2"):
            monkeypatch.setenv(key, os.environ[key])  # restored by monkeypatch afterwards
        wh = Warehouse(url=f"duckdb:///{tmp_path / 'w.duckdb'}")
        for hotel in portfolio.hotels:
            source = hotel.sources[0]
            source.options["base_url"] = sb.server.base_url(source.type)
            connector = connector_classes()[source.type](hotel, source, throttle=False)
            result = run_extract(wh, connector, now=now, raw_root=tmp_path / "raw")
            connector.close()
            assert result.records > 100


def test_missing_credential_variable_is_a_recorded_failure(two_hotel_world, tmp_path: Path, monkeypatch) -> None:
    now = local_instant(date(2016, 7, 20), "Europe/Lisbon", 3)
    with running_sandbox(two_hotel_world, ["mews", "cloudbeds"]) as sb:
        monkeypatch.delenv("NOT_SET_ANYWHERE_KEY", raising=False)
        portfolio = load_portfolio(_portfolio(tmp_path, sb, "NOT_SET_ANYWHERE_KEY"))
        wh = Warehouse(url=f"duckdb:///{tmp_path / 'w.duckdb'}")
        result = dg.materialize([build_pms_extract(portfolio)], partition_key="H2", raise_on_error=False,
                                instance=dg.DagsterInstance.ephemeral(),
                                resources={"warehouse": wh, "clock": Clock(frozen_at=now.isoformat()),
                                           "portfolio": PortfolioResource.of(portfolio),
                                           "pms": PmsConnectors(raw_dir=str(tmp_path / "raw"))})
        assert not result.success
        row = wh.query("SELECT last_status, last_error FROM integration_status WHERE hotel_id = 'H2'").to_dicts()[0]
        assert row["last_status"] == "failed" and "NOT_SET_ANYWHERE_KEY" in row["last_error"]


def test_schedules_emit_valid_partitioned_run_requests(two_hotel_world, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from hotel_pipeline.defs.sources.pms.assets import build_pms_schedules
    from hotel_pipeline.defs.sources.pms.definitions import build_defs

    with running_sandbox(two_hotel_world, ["mews", "cloudbeds"]) as sb:
        portfolio = load_portfolio(_portfolio(tmp_path, sb, "X"))
    tick = datetime(2016, 7, 20, 6, 0, tzinfo=UTC)
    incremental, reconcile = build_pms_schedules(portfolio)
    inc = incremental(dg.build_schedule_context(scheduled_execution_time=tick))
    rec = reconcile(dg.build_schedule_context(scheduled_execution_time=tick))
    assert sorted(r.partition_key for r in inc) == ["H1", "H2"]
    assert {r.run_config["ops"]["pms_extract"]["config"]["mode"] for r in rec} == {"reconcile"}
    assert len({r.run_key for r in inc + rec}) == 4  # one run per hotel and tick, never deduplicated away
    full = dg.Definitions.merge(build_defs(portfolio), dg.Definitions(resources={
        "warehouse": Warehouse(url=f"duckdb:///{tmp_path / 'w.duckdb'}"), "clock": Clock(), "pms": PmsConnectors(),
        "portfolio": PortfolioResource.of(portfolio)}))
    # Every requested partition exists: the hotel partitions are the portfolio's hotels, nothing has to add them.
    partitions = full.resolve_assets_def("pms_extract").partitions_def.get_partition_keys()
    assert partitions == ["H1", "H2"] and {r.partition_key for r in inc + rec} <= set(partitions)
    job = full.resolve_job_def("pms_extract_job")
    for request in inc + rec:
        assert dg.validate_run_config(job, request.run_config)["ops"]["pms_extract"]["config"]["mode"] in (
            "auto", "reconcile")
