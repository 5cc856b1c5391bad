"""The pandera contracts of every dining table, made from each table's one declaration; run as asset checks.

``slot_events`` and ``alert_events`` are written from Python: their ``TableSpec`` (``dining.store``,
``dining.alerts``) declares the columns and the rules. The metrics are SQL models: their header declares the columns,
and the rules are added here with ``with_contract``. (The specs are reached through their modules, so the data
dictionary credits the module that writes the table.) Row-level rules encode the semantics of docs/dining.md, e.g. a
CLOSED event carries a duration inside its censoring bounds, and only CLOSED events carry durations at all.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from hotel_pipeline.core.schemas.from_table import contract
from hotel_pipeline.core.sql_models import model
from hotel_pipeline.core.warehouse import FrameCheck
from hotel_pipeline.dining import alerts, store
from hotel_pipeline.dining.store import TIME_BUCKETS

__all__ = ["ALERT_FUNNEL", "MARKET_METRICS", "METRICS", "SCHEMAS", "VENUE_METRICS", "failures"]

#: The market-wide figures ``market_metrics`` holds (formulas in docs/dining.md).
METRICS = ("drops_per_hour", "drops", "prime_time_volatility_index", "forward_availability_density",
           "supply_compression")
_SHARE = {"ge": 0, "le": 1}

VENUE_METRICS = model("venue_metrics").table.with_contract(
    not_null=("venue_id", "computed_at", "drops", "scarcity_score"),
    rules={"drops": {"ge": 0}, "drop_frequency_per_day": {"ge": 0}, "prime_time_drop_frequency": {"ge": 0},
           "avg_drop_duration_seconds": {"ge": 0}, "median_drop_duration_seconds": {"ge": 0},
           "percent_days_fully_booked": {"ge": 0, "le": 100}, "volatility_score": {"ge": 0},
           "scarcity_score": {"ge": 0, "le": 100}},
    unique=("venue_id", "computed_at"),
    checks=(FrameCheck("prime_drops_within_drops", "Prime seatings are some of the seatings: never more drops.",
                       pl.col("prime_drops") <= pl.col("drops")),))

MARKET_METRICS = model("market_metrics").table.with_contract(
    not_null=("computed_at", "metric", "dimension", "dimension_value"),
    rules={"metric": {"isin": list(METRICS)}, "value": {"ge": 0}, "baseline_value": {"ge": 0},
           "change_pct": {"ge": -100}},
    unique=("computed_at", "metric", "dimension", "dimension_value"))

ALERT_FUNNEL = model("alert_funnel").table.with_contract(
    not_null=("venue_id", "time_bucket", "alerts_sent"),
    rules={"time_bucket": {"isin": list(TIME_BUCKETS)}, "alerts_sent": {"ge": 0}, "open_rate": _SHARE,
           "tap_rate": _SHARE, "booking_rate": _SHARE, "sent_to_booking_rate": _SHARE,
           "p50_seconds_to_tap": {"ge": 0}, "p90_seconds_to_tap": {"ge": 0}},
    unique=("venue_id", "time_bucket"),
    checks=(FrameCheck("funnel_narrows", "Each step of the funnel is taken by some of those who took the one before.",
                       (pl.col("alerts_opened") <= pl.col("alerts_sent"))
                       & (pl.col("taps_to_reserve") <= pl.col("alerts_opened"))
                       & (pl.col("bookings_confirmed") <= pl.col("taps_to_reserve"))),))

SCHEMAS: dict[str, type[pa.DataFrameModel]] = {
    table.name: contract(table, name) for table, name in (
        (store.SLOT_EVENTS, "SlotEvents"), (VENUE_METRICS, "VenueMetrics"), (MARKET_METRICS, "MarketMetrics"),
        (alerts.ALERT_EVENTS, "AlertEvents"), (ALERT_FUNNEL, "AlertFunnel"))
}


def failures(table: str, frame: pl.DataFrame) -> pl.DataFrame | None:
    """None if ``frame`` passes the table's model, else pandera's failure cases (lazy: every failing check)."""
    try:
        SCHEMAS[table].validate(frame, lazy=True)
    except (pa.errors.SchemaErrors, pa.errors.SchemaError) as exc:
        cases = getattr(exc, "failure_cases", None)
        return cases if isinstance(cases, pl.DataFrame) else pl.DataFrame({"error": [str(exc)[:2000]]})
    return None
