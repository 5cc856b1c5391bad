"""Dagster definitions of the dining domain: the poll sensor and slot_events, the alert inbox, checks and a schedule.

Resources (``warehouse``, ``clock``) and the executor are bound centrally. The SQL models venue_metrics,
market_metrics and alert_funnel are generated from dbt_like_sql/ by the central model loader; this module adds their
pandera checks and the hourly schedule that rebuilds them.

What is polled is configuration: the ``dining:`` section of the portfolio (``hotel_pipeline.dining.config``; venues,
party sizes, days ahead, poll interval, request budget), read at run time from the ``portfolio`` resource; the account's
credentials come from the ``dining`` resource (environment variables, bound with ``dg.EnvVar``). A portfolio without a
``dining:`` section polls nothing.
"""

import hashlib
import json
from collections.abc import Iterator
from datetime import datetime, timedelta

import dagster as dg
import polars as pl
from pydantic import Field

from hotel_pipeline.core import settings
from hotel_pipeline.core.clock import Clock
from hotel_pipeline.core.portfolio import Portfolio
from hotel_pipeline.core.portfolio_resource import PortfolioResource
from hotel_pipeline.core.schemas import markdown_table
from hotel_pipeline.core.warehouse import WAREHOUSE_POOL, Warehouse
from hotel_pipeline.defs.tables import owned_specs, written
from hotel_pipeline.dining.alerts import inbox_dir, parse_lines, store_alert_events
from hotel_pipeline.dining.client import ResyClient
from hotel_pipeline.dining.config import dining_config
from hotel_pipeline.dining.platform import DiningPlatform
from hotel_pipeline.dining.poll import poll_round
from hotel_pipeline.dining.schemas import failures
from hotel_pipeline.dining.store import apply_polls


class DiningPollConfig(dg.Config):
    """One poll round; the sensor passes the round instant so a retried run re-polls the same round key."""

    round_at: str = Field(default="", description="ISO instant of the round (UTC); empty = the clock's now")
    debug_window_hours: float = Field(default=24.0, description="How long raw poll bodies are kept")


@dg.multi_asset(
    name="slot_events",
    specs=[dg.AssetSpec(
        "slot_events", group_name="dining", kinds={"python", "polars"},
        description="Slot transitions (BASELINE_AVAILABLE, NEW_DROP, CLOSED) from one poll round of every venue, "
                    "released day and party size named in the portfolio's dining: section; also maintains "
                    "dining_poll_state, dining_slot_state, dining_poll_log."),
        *owned_specs("slot_events", "dining")],
    pool=WAREHOUSE_POOL,
    can_subset=True,
)
def slot_events(context: dg.AssetExecutionContext, config: DiningPollConfig, warehouse: Warehouse,
                clock: Clock, dining: DiningPlatform, portfolio: PortfolioResource) -> Iterator[dg.MaterializeResult]:
    at = (datetime.fromisoformat(config.round_at).replace(tzinfo=None) if config.round_at
          else clock.now_naive_utc()).replace(microsecond=0)
    venues = dining_config(portfolio.get())
    if venues is None:
        context.log.info("the portfolio has no dining: section; nothing to poll")
        yield from written(context, warehouse, dg.MaterializeResult(
            asset_key="slot_events", metadata={"round_at": at.isoformat(), "polls": 0}))
        return
    with ResyClient(venues.base_url, min_interval_s=venues.min_request_interval_s, keep_bodies=True,
                    **dining.credentials()) as client:
        attempts, obs, raw = poll_round(client, venues, at)
        client_stats = dict(client.stats)
    log = pl.DataFrame([{"provider": venues.provider, "venue_id": str(r.venue_id), "party_size": r.party_size,
                         "slot_date": r.slot_date, "polled_at": r.polled_at, "ok": r.ok, "status": r.status,
                         "error": r.error, "body": r.body.decode("utf-8", "replace") if r.body else None}
                        for r in raw], infer_schema_length=None)
    with warehouse.transaction() as tx:
        applied, _ = apply_polls(tx, attempts, obs, processed_at=clock.now_naive_utc(), log=log,
                                 debug_window=timedelta(hours=config.debug_window_hours), prune_before=at)
    context.log.info(f"round {at.isoformat()}: {applied.stats}")
    yield from written(context, warehouse, dg.MaterializeResult(asset_key="slot_events", metadata={
        "round_at": at.isoformat(), "polls": attempts.height, "failed_polls": applied.stats.get("failed", 0),
        "observations": applied.stats.get("observations", 0), "events_inserted": applied.inserted,
        "new_drops": applied.stats.get("new_drop", 0), "closed": applied.stats.get("closed", 0),
        "replayed_or_late": applied.stats.get("replayed_or_late", 0), "throttled": client_stats["throttled"],
        "retries": client_stats["retries"], "pruned_debug_bodies": applied.pruned_log_rows,
    }))


class AlertInboxConfig(dg.Config):
    files: list[str] = Field(default_factory=list, description="inbox files to load; empty = every file there")


@dg.asset(group_name="dining", kinds={"python", "polars"}, pool=WAREHOUSE_POOL, deps=["slot_events"],
          description="Client alert events from the JSON-lines inbox, linked to slot events; bad lines quarantined.")
def alert_events(context: dg.AssetExecutionContext, config: AlertInboxConfig, warehouse: Warehouse,
                 clock: Clock) -> Iterator[dg.MaterializeResult]:
    folder = inbox_dir(settings.data_dir())
    paths = [folder / f for f in config.files] if config.files else sorted(folder.glob("*.jsonl"))
    totals = {"files": 0, "received": 0, "inserted": 0, "quarantined": 0}
    for path in paths:
        text = path.read_text(encoding="utf-8")
        good, bad = parse_lines(text.splitlines(), path.name)
        batch = f"{path.name}:{hashlib.sha256(text.encode()).hexdigest()[:16]}"
        with warehouse.transaction() as tx:
            result = store_alert_events(tx, good, bad, received_at=clock.now_naive_utc(), batch_id=batch)
        totals["files"] += 1
        for k in ("received", "inserted", "quarantined"):
            totals[k] += result[k]
    context.log.info(f"alert inbox: {totals}")
    yield from written(context, warehouse, dg.MaterializeResult(asset_key="alert_events", metadata=totals))


def schema_check_result(table: str, warehouse: Warehouse) -> dg.AssetCheckResult:
    """Whether ``table`` passes its pandera model; the failure cases (first rows) as a markdown table if not."""
    frame = warehouse.read_table(table)
    bad = failures(table, frame) if frame.height else None
    meta: dict = {"rows": frame.height}
    if bad is not None:
        meta["failures"] = dg.MetadataValue.md(markdown_table(bad, limit=20))
        meta["failure_count"] = bad.height
    return dg.AssetCheckResult(passed=bad is None, metadata=meta)


def _check(table: str, blocking: bool, asset: dg.AssetKey | dg.AssetsDefinition) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=asset, name=f"{table}_schema", blocking=blocking,
                    description=f"pandera model of {table} (hotel_pipeline.dining.schemas)")
    def _run(warehouse: Warehouse) -> dg.AssetCheckResult:
        return schema_check_result(table, warehouse)

    return _run


checks = [
    _check("slot_events", True, dg.AssetKey("slot_events")),
    _check("alert_events", True, alert_events),
    _check("venue_metrics", False, dg.AssetKey("venue_metrics")),
    _check("market_metrics", False, dg.AssetKey("market_metrics")),
    _check("alert_funnel", False, dg.AssetKey("alert_funnel")),
]


#: How often Dagster evaluates the poll sensor; the configured poll interval decides when a round is due.
SENSOR_TICK_S = 30


@dg.sensor(target=[slot_events], minimum_interval_seconds=SENSOR_TICK_S, default_status=dg.DefaultSensorStatus.STOPPED)
def dining_poll_sensor(context: dg.SensorEvaluationContext, clock: Clock,
                       portfolio: PortfolioResource) -> dg.SensorResult | dg.SkipReason:
    """Requests one poll round per configured interval of the clock; the cursor (last round, in Dagster's storage)
    survives restarts, and the run key makes a round run at most once."""
    venues = dining_config(portfolio.get())
    if venues is None:
        return dg.SkipReason("the portfolio has no dining: section")
    now = clock.now_naive_utc().replace(microsecond=0)
    last = datetime.fromisoformat(context.cursor) if context.cursor else None
    if last is not None and (now - last).total_seconds() < venues.poll_interval_s:
        return dg.SkipReason(f"next round at {(last + timedelta(seconds=venues.poll_interval_s)).isoformat()}")
    round_at = now.isoformat()
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=f"dining-round-{round_at}", run_config=dg.RunConfig(
            ops={"slot_events": DiningPollConfig(round_at=round_at)}))],
        cursor=round_at,
    )


@dg.sensor(target=[alert_events], minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.STOPPED)
def dining_alert_inbox_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    """One run per new or changed inbox file (name + size + mtime in the cursor; the loader is idempotent anyway)."""
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    folder = inbox_dir(settings.data_dir())
    new = {}
    for p in sorted(folder.glob("*.jsonl")) if folder.exists() else []:
        st = p.stat()
        sig = f"{st.st_size}:{st.st_mtime_ns}"
        if seen.get(p.name) != sig:
            new[p.name] = sig
    if not new:
        return dg.SkipReason("no new alert files")
    seen.update(new)
    run_key = "alerts-" + hashlib.sha256(json.dumps(new, sort_keys=True).encode()).hexdigest()[:16]
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=run_key, run_config=dg.RunConfig(
        ops={"alert_events": AlertInboxConfig(files=sorted(new))}))], cursor=json.dumps(seen, sort_keys=True))


dining_metrics_job = dg.define_asset_job(
    "dining_metrics_job", selection=dg.AssetSelection.assets("venue_metrics", "market_metrics", "alert_funnel"),
    description="Rebuild the dining aggregates from slot_events and alert_events (events are never deleted).",
)
dining_metrics_schedule = dg.ScheduleDefinition(job=dining_metrics_job, cron_schedule="5 * * * *",
                                                default_status=dg.DefaultScheduleStatus.STOPPED)


def build_defs(portfolio: Portfolio) -> dg.Definitions:
    """This domain's Dagster objects for ``portfolio`` (its ``dining:`` section is validated here, at load)."""
    dining_config(portfolio)
    return dg.Definitions(
        assets=[slot_events, alert_events],
        asset_checks=checks,
        sensors=[dining_poll_sensor, dining_alert_inbox_sensor],
        schedules=[dining_metrics_schedule],
        jobs=[dining_metrics_job],
    )
