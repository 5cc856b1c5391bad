"""Dining SQL models give identical results on DuckDB and Postgres; Dagster assets, checks and sensors work."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from hotel_pipeline.core.clock import Clock
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.dining.alerts import parse_lines, store_alert_events
from hotel_pipeline.dining.schemas import failures
from hotel_pipeline.workshop.dining.market import MarketConfig
from hotel_pipeline.workshop.dining.simulate import Outage
from hotel_pipeline.workshop.dining_demo import DINING_MODELS, rebuild_dining_models, run_dining_demo

SMALL = MarketConfig(venues=6, neighborhoods=3)
START = datetime(2016, 7, 24, 4, 0)
END = START + timedelta(days=2)


def fill(warehouse: Warehouse) -> dict:
    return run_dining_demo(warehouse, config=SMALL, start=START, days=2, interval_s=120,
                           outages=(Outage(START + timedelta(hours=30), START + timedelta(hours=31)),), verbose=False)


def test_models_identical_on_duckdb_and_postgres(duckdb_warehouse: Warehouse, postgres_warehouse: Warehouse) -> None:
    fill(duckdb_warehouse)
    fill(postgres_warehouse)
    keys = {"slot_events": "event_id", "venue_metrics": "venue_id", "alert_events": "alert_event_id",
            "market_metrics": "metric, dimension, dimension_value", "alert_funnel": "venue_id, time_bucket"}
    for table, order in keys.items():
        a = duckdb_warehouse.read_table(table, order_by=order).drop("processed_at", "received_at", strict=False)
        b = postgres_warehouse.read_table(table, order_by=order).drop("processed_at", "received_at", strict=False)
        assert a.height > 0, table
        assert a.columns == b.columns, table
        assert a.cast(dict(zip(b.columns, b.dtypes, strict=True))).equals(b), table
        assert failures(table, a) is None, table


def test_failed_rebuild_keeps_events_and_previous_aggregates(duckdb_warehouse: Warehouse, monkeypatch) -> None:
    fill(duckdb_warehouse)
    events = duckdb_warehouse.read_table("slot_events").height
    before = duckdb_warehouse.read_table("venue_metrics", order_by="venue_id")
    import hotel_pipeline.core.sql_models as sm

    real = sm.run_model

    def flaky(tx, name, params=None):
        if name == "alert_funnel":
            raise RuntimeError("aggregation died half-way")
        return real(tx, name, params)

    monkeypatch.setattr(sm, "run_model", flaky)
    with pytest.raises(RuntimeError):
        rebuild_dining_models(duckdb_warehouse, END + timedelta(hours=1))
    assert duckdb_warehouse.read_table("slot_events").height == events
    assert duckdb_warehouse.read_table("venue_metrics", order_by="venue_id").equals(before)
    assert set(DINING_MODELS) == {"venue_metrics", "market_metrics", "alert_funnel"}


def test_venue_metrics_formulas_on_the_events(duckdb_warehouse: Warehouse) -> None:
    fill(duckdb_warehouse)
    vm = duckdb_warehouse.read_table("venue_metrics")
    ev = duckdb_warehouse.read_table("slot_events")
    drops = ev.filter(pl.col("event_type") == "NEW_DROP").group_by("venue_id").len()
    joined = vm.join(drops, on="venue_id")
    assert (joined["drops"] == joined["len"]).all()
    closed = ev.filter((pl.col("event_type") == "CLOSED") & (pl.col("lifecycle") == "drop")).group_by("venue_id").agg(
        pl.col("duration_seconds").mean().round(3).alias("m"))
    j2 = vm.join(closed, on="venue_id")
    assert ((j2["avg_drop_duration_seconds"] - j2["m"]).abs() < 1e-6).all()
    assert vm["scarcity_score"].max() <= 100 and vm["scarcity_score"].min() >= 0
    mm = duckdb_warehouse.read_table("market_metrics")
    assert {"drops_per_hour", "drops", "prime_time_volatility_index", "forward_availability_density",
            "supply_compression"} <= set(mm["metric"])
    by_hood = mm.filter((pl.col("metric") == "drops") & (pl.col("dimension") == "neighborhood"))["value"].sum()
    assert by_hood == drops["len"].sum()


def test_alert_inbox_quarantines_malformed_and_is_idempotent(duckdb_warehouse: Warehouse) -> None:
    fill(duckdb_warehouse)
    drop_id = duckdb_warehouse.query("SELECT event_id FROM slot_events WHERE event_type = 'NEW_DROP' LIMIT 1")[0, 0]
    lines = [
        json.dumps({"alert_event_id": "x1", "slot_event_id": drop_id, "event_type": "alert_sent",
                    "occurred_at": "2016-07-25T12:00:00Z", "user_token": "u1"}),
        "{not json",
        json.dumps({"alert_event_id": "x2", "slot_event_id": drop_id, "event_type": "alert_exploded",
                    "occurred_at": "2016-07-25T12:00:00Z", "user_token": "u1"}),
        json.dumps({"alert_event_id": "x3", "slot_event_id": "no-such-drop", "event_type": "alert_opened",
                    "occurred_at": "2016-07-25T12:00:00Z", "user_token": "u1"}),
        json.dumps({"alert_event_id": "x4", "event_type": "alert_opened", "occurred_at": "2016-07-25T12:00:00Z"}),
    ]
    for _ in range(2):
        good, bad = parse_lines(lines, "a.jsonl")
        with duckdb_warehouse.transaction() as tx:
            result = store_alert_events(tx, good, bad, received_at=END, batch_id="a.jsonl:1")
    assert result["inserted"] == 0 and result["quarantined"] == 4
    q = duckdb_warehouse.query("SELECT reason FROM quarantine WHERE batch_id = 'a.jsonl:1' ORDER BY location")
    assert len(q) == 4 and any("unknown slot event" in r for r in q["reason"])
    stored = duckdb_warehouse.query("SELECT occurred_at FROM alert_events WHERE alert_event_id = 'x1'")
    assert stored[0, 0] == datetime(2016, 7, 25, 12, 0)


def test_dagster_poll_asset_checks_and_sensor(duckdb_warehouse: Warehouse, tmp_path: Path, monkeypatch) -> None:
    from hotel_pipeline.core.portfolio import parse_portfolio
    from hotel_pipeline.core.portfolio_resource import PortfolioResource
    from hotel_pipeline.defs.dining.definitions import (
        DiningPollConfig,
        alert_events,
        build_defs,
        checks,
        dining_poll_sensor,
    )
    from hotel_pipeline.defs.dining.definitions import slot_events as slot_events_asset
    from hotel_pipeline.dining.platform import DiningPlatform
    from hotel_pipeline.workshop.dining.sandbox import API_KEY, LOGIN_EMAIL, LOGIN_PASSWORD
    from hotel_pipeline.workshop.dining.serve import serve_market

    monkeypatch.setenv("HOTEL_PIPELINE_DATA_DIR", str(tmp_path))
    clock = Clock(frozen_at="2016-07-25T14:00:00+00:00")
    first_round = datetime(2016, 7, 25, 14, 0)
    with serve_market(first_round - timedelta(days=1), first_round + timedelta(hours=1)) as sandbox:
        portfolio = parse_portfolio({"hotels": [{"id": "H1", "name": "Resort Hotel", "timezone": "Europe/Lisbon",
                                                 "currency": "EUR", "capacity": 187}],
                                     "dining": sandbox.dining_section()})
        resources = {"warehouse": duckdb_warehouse, "clock": clock, "portfolio": PortfolioResource.of(portfolio),
                     "dining": DiningPlatform(api_key=API_KEY, email=LOGIN_EMAIL, password=LOGIN_PASSWORD)}
        for minute in (0, 1):
            sandbox.clock.at = first_round + timedelta(minutes=minute)
            at = sandbox.clock.at.isoformat()
            result = dg.materialize([slot_events_asset, alert_events, *checks[:2]], resources=resources,
                                    run_config=dg.RunConfig(ops={"slot_events": DiningPollConfig(round_at=at)}),
                                    selection=[slot_events_asset])
            assert result.success
            mat = result.asset_materializations_for_node("slot_events")[0]
            assert mat.metadata["polls"].value > 1000 and mat.metadata["failed_polls"].value == 0
            checks_ok = [e for e in result.get_asset_check_evaluations() if e.check_name == "slot_events_schema"]
            assert checks_ok and all(c.passed for c in checks_ok)
    types = set(duckdb_warehouse.read_table("slot_events")["event_type"])
    assert "BASELINE_AVAILABLE" in types
    assert duckdb_warehouse.query("SELECT COUNT(*) AS n FROM dining_poll_log")[0, 0] > 0
    # The sensor requests one round per interval and remembers the last one in its cursor.
    sensor_resources = {"clock": clock, "portfolio": resources["portfolio"]}
    first = dining_poll_sensor(dg.build_sensor_context(cursor=None, resources=sensor_resources))
    assert len(first.run_requests) == 1 and first.cursor == "2016-07-25T14:00:00"
    again = dining_poll_sensor(dg.build_sensor_context(cursor=first.cursor, resources=sensor_resources))
    assert isinstance(again, dg.SkipReason)
    later = {**sensor_resources, "clock": Clock(frozen_at="2016-07-25T14:01:00+00:00")}
    nxt = dining_poll_sensor(dg.build_sensor_context(cursor=first.cursor, resources=later))
    assert nxt.run_requests[0].run_key == "dining-round-2016-07-25T14:01:00"
    # With the centrally generated dining models and the two resources, the definitions load and the job resolves.
    from hotel_pipeline.core.sql_models import model_assets

    models = [a for a in model_assets() if a.key.path[0] in DINING_MODELS]
    merged = dg.Definitions.merge(build_defs(portfolio), dg.Definitions(assets=models, resources=resources))
    dg.Definitions.validate_loadable(merged)
    job = merged.resolve_job_def("dining_metrics_job")
    assert {k.to_user_string() for k in job.asset_layer.executable_asset_keys} == set(DINING_MODELS)


def test_platform_secrets_are_bound_by_variable_name(monkeypatch) -> None:
    """A real endpoint's credentials reach the resource as EnvVar: resolved at run time, never stored as values."""
    from hotel_pipeline.resources import default_resources

    monkeypatch.delenv("HOTEL_DINING_EMAIL", raising=False)
    monkeypatch.setenv("HOTEL_DINING_API_KEY", "s3cr3t-key-value")
    dining = default_resources()["dining"]
    fields = dining._get_non_default_public_field_values()
    assert isinstance(fields["api_key"], dg.EnvVar) and fields["api_key"].env_var_name == "HOTEL_DINING_API_KEY"
    assert "s3cr3t-key-value" not in repr(dining)
    assert "email" not in fields  # an unset variable stays empty, and a configured poller refuses to run without it


def test_a_failing_dining_contract_reports_its_rows_without_pandas(duckdb_warehouse: Warehouse) -> None:
    """A table breaking its pandera model gives a failed check naming the failures (pandas is not installed)."""
    from hotel_pipeline.defs.dining.definitions import schema_check_result

    duckdb_warehouse.execute(
        "CREATE TABLE venue_metrics AS SELECT 'v1' AS venue_id, TIMESTAMP '2016-07-31 00:00' AS computed_at, 3 AS drops,"
        " 1 AS prime_drops, 0.5 AS drop_frequency_per_day, 0.1 AS prime_time_drop_frequency,"
        " 60.0 AS avg_drop_duration_seconds, 60.0 AS median_drop_duration_seconds,"
        " 140.0 AS percent_days_fully_booked, 1.0 AS volatility_score, -5.0 AS scarcity_score")
    result = schema_check_result("venue_metrics", duckdb_warehouse)
    assert result.passed is False
    assert result.metadata["failure_count"].value > 0
    assert "|" in result.metadata["failures"].value


def test_the_demo_leaves_every_dining_asset_materialised_in_dagster(duckdb_warehouse: Warehouse,
                                                                     tmp_path: Path) -> None:
    """After the demo's market the UI's dining group is not "Never materialized": the aggregates by a run of
    dining_metrics_job from its schedule (checks evaluated), the in-process events as reported materialisations."""
    from hotel_pipeline.core.portfolio import load_portfolio
    from hotel_pipeline.workshop.demo import NIGHT_TAG, Deployment, record_dining

    summary = fill(duckdb_warehouse)
    (tmp_path / "dagster").mkdir()
    with dg.DagsterInstance.local_temp(str(tmp_path / "dagster")) as instance:
        record_dining(Deployment(duckdb_warehouse, instance, load_portfolio()), summary)
        [run] = instance.get_runs()
        assert (run.job_name, run.tags["dagster/schedule_name"]) == ("dining_metrics_job", "dining_metrics_job_schedule")
        assert run.status == dg.DagsterRunStatus.SUCCESS and NIGHT_TAG in run.tags
        for key in ("slot_events", "dining_poll_state", "dining_slot_state", "dining_poll_log", "alert_events",
                    *DINING_MODELS):
            assert instance.get_latest_materialization_event(dg.AssetKey(key)) is not None, key
        checks = {e.dagster_event.event_specific_data.asset_check_key.name for e in instance.all_logs(
            run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)}
        assert checks == {f"{m}_schema" for m in DINING_MODELS}
