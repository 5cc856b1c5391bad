"""pandera (polars backend) models of every dining table; run as Dagster asset checks and in the tests.

Row-level rules encode the semantics of docs/dining.md, e.g. a CLOSED event carries a duration inside its censoring
bounds, and only CLOSED events carry durations at all.
"""

from __future__ import annotations

from datetime import date, datetime

import pandera.polars as pa
import polars as pl

EVENT_TYPES = ["BASELINE_AVAILABLE", "NEW_DROP", "CLOSED"]


class SlotEvents(pa.DataFrameModel):
    event_id: str = pa.Field(unique=True)
    provider: str
    venue_id: str
    party_size: int = pa.Field(ge=1, le=20)
    slot_date: date
    slot_time: str = pa.Field(str_matches=r"^\d\d:\d\d$")
    seating: str
    time_bucket: str = pa.Field(isin=["prime", "off_peak"])
    event_type: str = pa.Field(isin=EVENT_TYPES)
    lifecycle: str = pa.Field(isin=["baseline", "drop"])
    observed_at: datetime
    opened_at: datetime
    duration_seconds: float = pa.Field(nullable=True, ge=0)
    duration_min_seconds: float = pa.Field(nullable=True, ge=0)
    duration_max_seconds: float = pa.Field(nullable=True, ge=0)

    class Config:
        strict = False
        coerce = True

    @pa.dataframe_check
    def durations_only_and_always_on_closed(cls, data: pa.PolarsData) -> pl.LazyFrame:
        closed = pl.col("event_type") == "CLOSED"
        return data.lazyframe.select(closed == pl.col("duration_seconds").is_not_null())

    @pa.dataframe_check
    def duration_within_censoring_bounds(cls, data: pa.PolarsData) -> pl.LazyFrame:
        d, lo, hi = pl.col("duration_seconds"), pl.col("duration_min_seconds"), pl.col("duration_max_seconds")
        return data.lazyframe.select(d.is_null() | ((lo <= d) & (hi.is_null() | (d <= hi))))

    @pa.dataframe_check
    def event_type_matches_lifecycle(cls, data: pa.PolarsData) -> pl.LazyFrame:
        et, lc = pl.col("event_type"), pl.col("lifecycle")
        return data.lazyframe.select(((et == "NEW_DROP") & (lc == "drop")) | ((et == "BASELINE_AVAILABLE") & (lc == "baseline"))
                                     | (et == "CLOSED"))

    @pa.dataframe_check
    def opened_not_after_observed(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("opened_at") <= pl.col("observed_at"))


class VenueMetrics(pa.DataFrameModel):
    venue_id: str
    computed_at: datetime
    drops: int = pa.Field(ge=0)
    drop_frequency_per_day: float = pa.Field(nullable=True, ge=0)
    prime_time_drop_frequency: float = pa.Field(nullable=True, ge=0)
    avg_drop_duration_seconds: float = pa.Field(nullable=True, ge=0)
    median_drop_duration_seconds: float = pa.Field(nullable=True, ge=0)
    percent_days_fully_booked: float = pa.Field(nullable=True, ge=0, le=100)
    volatility_score: float = pa.Field(nullable=True, ge=0)
    scarcity_score: float = pa.Field(ge=0, le=100)

    class Config:
        strict = False
        coerce = True
        unique = ["venue_id", "computed_at"]

    @pa.dataframe_check
    def prime_drops_within_drops(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("prime_drops") <= pl.col("drops"))


class MarketMetrics(pa.DataFrameModel):
    computed_at: datetime
    metric: str = pa.Field(isin=["drops_per_hour", "drops", "prime_time_volatility_index",
                                 "forward_availability_density", "supply_compression"])
    dimension: str
    dimension_value: str
    value: float = pa.Field(nullable=True, ge=0)
    baseline_value: float = pa.Field(nullable=True, ge=0)
    change_pct: float = pa.Field(nullable=True, ge=-100)

    class Config:
        strict = False
        coerce = True
        unique = ["computed_at", "metric", "dimension", "dimension_value"]


class AlertEvents(pa.DataFrameModel):
    alert_event_id: str = pa.Field(unique=True)
    slot_event_id: str
    event_type: str = pa.Field(isin=["alert_sent", "alert_opened", "tap_to_reserve", "booking_confirmed"])
    occurred_at: datetime
    user_token: str

    class Config:
        strict = False
        coerce = True


class AlertFunnel(pa.DataFrameModel):
    venue_id: str
    time_bucket: str = pa.Field(isin=["prime", "off_peak"])
    alerts_sent: int = pa.Field(ge=0)
    open_rate: float = pa.Field(nullable=True, ge=0, le=1)
    tap_rate: float = pa.Field(nullable=True, ge=0, le=1)
    booking_rate: float = pa.Field(nullable=True, ge=0, le=1)
    sent_to_booking_rate: float = pa.Field(nullable=True, ge=0, le=1)
    p50_seconds_to_tap: float = pa.Field(nullable=True, ge=0)
    p90_seconds_to_tap: float = pa.Field(nullable=True, ge=0)

    class Config:
        strict = False
        coerce = True
        unique = ["venue_id", "time_bucket"]

    @pa.dataframe_check
    def funnel_narrows(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("alerts_opened") <= pl.col("alerts_sent"))
                                     & (pl.col("taps_to_reserve") <= pl.col("alerts_opened"))
                                     & (pl.col("bookings_confirmed") <= pl.col("taps_to_reserve")))


SCHEMAS: dict[str, type[pa.DataFrameModel]] = {
    "slot_events": SlotEvents, "venue_metrics": VenueMetrics, "market_metrics": MarketMetrics,
    "alert_events": AlertEvents, "alert_funnel": AlertFunnel,
}


def failures(table: str, frame: pl.DataFrame) -> pl.DataFrame | None:
    """None if ``frame`` passes the table's model, else pandera's failure cases (lazy: every failing check)."""
    try:
        SCHEMAS[table].validate(frame, lazy=True)
    except (pa.errors.SchemaErrors, pa.errors.SchemaError) as exc:
        cases = getattr(exc, "failure_cases", None)
        return cases if isinstance(cases, pl.DataFrame) else pl.DataFrame({"error": [str(exc)[:2000]]})
    return None
