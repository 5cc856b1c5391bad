"""The transition engine: successful polls in, slot events out, vectorised in polars and carried state in between.

Inputs of one step (any number of poll rounds at once, e.g. one sensor tick or one simulated day):
- ``attempts``: one row per request (provider, venue_id, party_size, slot_date, polled_at, ok). Only ``ok`` rows are
  observations; a failed attempt moves nothing (an outage must never look like mass closures).
- ``observations``: the open slots that the ``ok`` attempts listed.
- ``key_state`` / ``slot_state``: what previous steps left in the warehouse (per polled day: first and last successful
  poll; per slot: lifecycle, first_seen, last_seen, open/closed), so a restart loses nothing.

Per polled day (provider, venue, party size, slot date) the successful polls form a sequence; the previous step's last
successful poll is prepended as sequence number 0 with the slots that were open then. A slot's presence is a set of
sequence numbers, and each run of consecutive numbers is one lifecycle ("gaps and islands"):
- a run starting at the day's very first successful poll is ``BASELINE_AVAILABLE``;
- any other run starting in this step is ``NEW_DROP`` (in this poll, not in the previous successful one);
- a run ending before the day's last successful poll is ``CLOSED`` at the next successful poll, unless the seating
  time had come by then (the slot expired, which is not a booking: no event);
- a run that reaches the last successful poll stays open in ``slot_state``.

Attempts at or before a day's last processed attempt are replays or late arrivals: they are counted and ignored, so
re-processing the same polls changes nothing (the events table's primary key is the second guard).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import polars as pl

KEY = ["provider", "venue_id", "party_size", "slot_date"]
#: A slot's identity. ``template`` is the config token's template segment: a venue can list two real slots at one
#: time and seating (two table configurations), and they are two slots, each with its own lifecycle.
SLOT = [*KEY, "slot_time", "seating", "template"]
ATTRS = ["venue_name", "neighborhood", "price_range", "time_zone", "time_bucket"]

ATTEMPT_SCHEMA = {"provider": pl.String, "venue_id": pl.String, "party_size": pl.Int64, "slot_date": pl.Date,
                  "polled_at": pl.Datetime("us"), "ok": pl.Boolean}
OBS_SCHEMA = {"provider": pl.String, "venue_id": pl.String, "party_size": pl.Int64, "slot_date": pl.Date,
              "polled_at": pl.Datetime("us"), "slot_time": pl.String, "seating": pl.String, "template": pl.String,
              "venue_name": pl.String, "neighborhood": pl.String, "price_range": pl.Int64, "time_zone": pl.String,
              "time_bucket": pl.String}
KEY_STATE_SCHEMA = {"provider": pl.String, "venue_id": pl.String, "party_size": pl.Int64, "slot_date": pl.Date,
                    "baseline_at": pl.Datetime("us"), "last_success_at": pl.Datetime("us"),
                    "last_attempt_at": pl.Datetime("us"), "last_ok": pl.Boolean, "successes": pl.Int64,
                    "failures": pl.Int64}
SLOT_STATE_SCHEMA = {**{c: OBS_SCHEMA[c] for c in SLOT + ATTRS}, "lifecycle": pl.String,
                     "first_seen": pl.Datetime("us"), "last_seen": pl.Datetime("us"),
                     "open_lower": pl.Datetime("us"), "status": pl.String, "closed_at": pl.Datetime("us"),
                     "slot_start_at": pl.Datetime("us")}
EVENT_SCHEMA = {"event_id": pl.String, **{c: OBS_SCHEMA[c] for c in SLOT + ATTRS}, "event_type": pl.String,
                "lifecycle": pl.String, "observed_at": pl.Datetime("us"), "opened_at": pl.Datetime("us"),
                "last_seen_at": pl.Datetime("us"), "duration_seconds": pl.Float64,
                "duration_min_seconds": pl.Float64, "duration_max_seconds": pl.Float64,
                "slot_start_at": pl.Datetime("us"), "observed_local_date": pl.Date,
                "observed_local_hour": pl.Int64}


def empty(schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)


def local_columns(frame: pl.DataFrame, ts: str, tz_col: str, date_out: str, hour_out: str) -> pl.DataFrame:
    """Local date and hour of a naive-UTC column, per row's IANA zone (polars converts one zone at a time)."""
    if frame.height == 0:
        return frame.with_columns(pl.lit(None, pl.Date).alias(date_out), pl.lit(None, pl.Int64).alias(hour_out))
    parts = []
    for tz, part in frame.with_row_index("_ord").partition_by(tz_col, as_dict=True).items():
        local = pl.col(ts).dt.replace_time_zone("UTC").dt.convert_time_zone(tz[0])
        parts.append(part.with_columns(local.dt.date().alias(date_out), local.dt.hour().cast(pl.Int64).alias(hour_out)))
    return pl.concat(parts).sort("_ord").drop("_ord")


def slot_start_utc(frame: pl.DataFrame) -> pl.DataFrame:
    """``slot_start_at``: the seating's local date and time in its venue's zone, as naive UTC (``slot_time`` 24:30 is
    00:30 the next morning: the slot belongs to ``slot_date``'s service)."""
    if frame.height == 0:
        return frame.with_columns(pl.lit(None, pl.Datetime("us")).alias("slot_start_at"))
    parts = []
    hours = pl.col("slot_time").str.slice(0, 2).cast(pl.Int64)
    minutes = pl.col("slot_time").str.slice(3, 2).cast(pl.Int64)
    for tz, part in frame.with_row_index("_ord").partition_by("time_zone", as_dict=True).items():
        # "HH:MM" of the service day; 24:00 and later are past midnight (a 00:30 seating of the day before's service)
        local = (pl.col("slot_date").cast(pl.Datetime("us"))
                 + pl.duration(hours=hours, minutes=minutes))
        parts.append(part.with_columns(local.dt.replace_time_zone(tz[0], ambiguous="earliest", non_existent="null")
                                       .dt.convert_time_zone("UTC").dt.replace_time_zone(None)
                                       .cast(pl.Datetime("us")).alias("slot_start_at")))
    return pl.concat(parts).sort("_ord").drop("_ord")


def _with_template(frame: pl.DataFrame) -> pl.DataFrame:
    """Frames from before slot identity held the template (or without a token) get the empty template."""
    if "template" not in frame.columns:
        return frame.with_columns(pl.lit("").alias("template"))
    return frame.with_columns(pl.col("template").fill_null(""))


@dataclass
class Advance:
    """One step's result: new events and the complete new state tables."""

    events: pl.DataFrame
    key_state: pl.DataFrame
    slot_state: pl.DataFrame
    stats: dict[str, int] = field(default_factory=dict)


def _seconds(a: str | pl.Expr, b: str | pl.Expr) -> pl.Expr:
    a = pl.col(a) if isinstance(a, str) else a
    b = pl.col(b) if isinstance(b, str) else b
    return (a - b).dt.total_microseconds().cast(pl.Float64) / 1e6


def advance(attempts: pl.DataFrame, observations: pl.DataFrame, key_state: pl.DataFrame | None = None,
            slot_state: pl.DataFrame | None = None, *, prune_before: datetime | None = None) -> Advance:
    """Turn one batch of poll attempts into events; pure (no I/O), so it can be tested on hand-built sequences."""
    key_state = empty(KEY_STATE_SCHEMA) if key_state is None else key_state.select(list(KEY_STATE_SCHEMA)).cast(KEY_STATE_SCHEMA)
    slot_state = empty(SLOT_STATE_SCHEMA) if slot_state is None else \
        _with_template(slot_state).select(list(SLOT_STATE_SCHEMA)).cast(SLOT_STATE_SCHEMA)
    attempts = attempts.select(list(ATTEMPT_SCHEMA)).cast(ATTEMPT_SCHEMA)
    observations = _with_template(observations).select(list(OBS_SCHEMA)).cast(OBS_SCHEMA)

    # 1. Replays and late arrivals: anything at or before the day's last processed attempt is ignored.
    attempts = (attempts.sort("ok", descending=True).unique([*KEY, "polled_at"], keep="first")
                .join(key_state.select(*KEY, "last_attempt_at"), on=KEY, how="left"))
    fresh = attempts.filter(pl.col("last_attempt_at").is_null() | (pl.col("polled_at") > pl.col("last_attempt_at")))
    if prune_before is not None:  # days whose state was pruned are over: a replay must not re-baseline them
        fresh = fresh.filter(pl.col("slot_date") >= (prune_before - timedelta(days=2)).date())
    stats = {"attempts": attempts.height, "replayed_or_late": attempts.height - fresh.height,
             "failed": fresh.filter(~pl.col("ok")).height}

    # 2. The successful polls of each day as a sequence; the previous step's last success is number 0.
    succ = (fresh.filter(pl.col("ok")).select(*KEY, "polled_at")
            .join(key_state.select(*KEY, "baseline_at"), on=KEY, how="left")
            .with_columns(pl.col("polled_at").rank("ordinal").over(KEY).cast(pl.Int64).alias("seq")))
    succ = succ.with_columns(((pl.col("seq") == 1) & pl.col("baseline_at").is_null()).alias("baseline_poll"))
    prior = (key_state.filter(pl.col("last_success_at").is_not_null())
             .join(succ.select(KEY).unique(), on=KEY, how="semi")
             .select(*KEY, pl.col("last_success_at").alias("polled_at"), pl.lit(0, pl.Int64).alias("seq"),
                     pl.lit(False).alias("baseline_poll")))
    polls = pl.concat([prior, succ.drop("baseline_at")])
    max_seq = succ.group_by(KEY).agg(pl.col("seq").max().alias("max_seq"))

    # 3. What each successful poll saw, plus the slots open at poll 0.
    obs = (observations.join(succ.select(*KEY, "polled_at", "seq", "baseline_poll"), on=[*KEY, "polled_at"], how="inner")
           .unique([*SLOT, "polled_at"], keep="first"))
    stats["observations"] = obs.height
    carried = (slot_state.filter(pl.col("status") == "open").join(prior.select(KEY), on=KEY, how="semi")
               .select(*SLOT, *ATTRS, pl.col("last_seen").alias("polled_at"), pl.lit(0, pl.Int64).alias("seq"),
                       pl.lit(False).alias("baseline_poll")))
    seen = pl.concat([carried, obs.select(carried.columns)]).sort([*SLOT, "seq"])

    # 4. Gaps and islands: a new run wherever the sequence skips a successful poll.
    prev = pl.col("seq").shift(1).over(SLOT)
    seen = seen.with_columns((prev.is_null() | (pl.col("seq") != prev + 1)).cum_sum().alias("run"))
    runs = seen.group_by("run").agg(
        *[pl.col(c).first() for c in SLOT],
        *[pl.col(c).last() for c in ATTRS],
        pl.col("seq").min().alias("start_seq"), pl.col("seq").max().alias("end_seq"),
        pl.col("polled_at").min().alias("start_at"), pl.col("polled_at").max().alias("end_at"),
        pl.col("baseline_poll").first().alias("baseline_start"),
    )
    poll_at = polls.select(*KEY, "seq", "polled_at")
    runs = (runs.join(max_seq, on=KEY, how="left")
            .join(poll_at.rename({"seq": "start_seq", "polled_at": "_before"})
                  .with_columns(pl.col("start_seq") + 1), on=[*KEY, "start_seq"], how="left")
            .join(poll_at.rename({"seq": "end_seq", "polled_at": "_after"})
                  .with_columns(pl.col("end_seq") - 1), on=[*KEY, "end_seq"], how="left")
            .join(slot_state.select(*SLOT, pl.col("lifecycle").alias("_lc"), pl.col("first_seen").alias("_fs"),
                                    pl.col("open_lower").alias("_ol")), on=SLOT, how="left"))
    runs = slot_start_utc(runs)
    cont = pl.col("start_seq") == 0
    runs = runs.with_columns(
        pl.when(cont).then(pl.col("_lc")).when(pl.col("baseline_start")).then(pl.lit("baseline"))
        .otherwise(pl.lit("drop")).alias("lifecycle"),
        pl.when(cont).then(pl.col("_fs")).otherwise(pl.col("start_at")).alias("first_seen"),
        pl.when(cont).then(pl.col("_ol")).when(pl.col("baseline_start")).then(pl.lit(None, pl.Datetime("us")))
        .otherwise(pl.col("_before")).alias("open_lower"),
        (pl.col("end_seq") == pl.col("max_seq")).alias("still_open"),
    ).with_columns(
        pl.when(pl.col("still_open")).then(pl.lit("open"))
        .when(pl.col("slot_start_at") <= pl.col("_after")).then(pl.lit("expired"))
        .otherwise(pl.lit("closed")).alias("status"),
    )

    # 5. Events: openings of runs that started in this step, closings of runs that ended in it.
    openings = runs.filter(~cont).select(
        *SLOT, *ATTRS,
        pl.when(pl.col("lifecycle") == "baseline").then(pl.lit("BASELINE_AVAILABLE")).otherwise(pl.lit("NEW_DROP"))
        .alias("event_type"),
        "lifecycle", pl.col("start_at").alias("observed_at"), pl.col("first_seen").alias("opened_at"),
        pl.lit(None, pl.Datetime("us")).alias("last_seen_at"),
        pl.lit(None, pl.Float64).alias("duration_seconds"), pl.lit(None, pl.Float64).alias("duration_min_seconds"),
        pl.lit(None, pl.Float64).alias("duration_max_seconds"), "slot_start_at",
    )
    closings = runs.filter(pl.col("status") == "closed").select(
        *SLOT, *ATTRS, pl.lit("CLOSED").alias("event_type"), "lifecycle",
        pl.col("_after").alias("observed_at"), pl.col("first_seen").alias("opened_at"),
        pl.col("end_at").alias("last_seen_at"),
        _seconds("_after", "first_seen").alias("duration_seconds"),
        _seconds("end_at", "first_seen").alias("duration_min_seconds"),
        _seconds("_after", "open_lower").alias("duration_max_seconds"), "slot_start_at",
    )
    events = pl.concat([openings, closings])
    events = local_columns(events, "observed_at", "time_zone", "observed_local_date", "observed_local_hour")
    events = events.with_columns(
        pl.concat_str([pl.col("provider"), pl.col("venue_id"), pl.col("party_size").cast(pl.String),
                       pl.col("slot_date").cast(pl.String), pl.col("slot_time"), pl.col("seating"),
                       pl.col("template"), pl.col("event_type"), pl.col("observed_at").dt.strftime("%Y-%m-%dT%H:%M:%S%.6f")],
                      separator="|").alias("event_id"),
    ).select(list(EVENT_SCHEMA)).cast(EVENT_SCHEMA).sort("observed_at", *SLOT, "event_type")
    for et in ("BASELINE_AVAILABLE", "NEW_DROP", "CLOSED"):
        stats[et.lower()] = events.filter(pl.col("event_type") == et).height
    stats["expired"] = runs.filter(pl.col("status") == "expired").height

    # 6. New state: the latest run of every touched slot replaces its row; expired seatings leave "open".
    latest = (runs.sort("end_seq").group_by(SLOT).last()
              .select(*SLOT, *ATTRS, "lifecycle", "first_seen", pl.col("end_at").alias("last_seen"), "open_lower",
                      "status", pl.when(pl.col("status") == "open").then(None).otherwise(pl.col("_after"))
                      .alias("closed_at"), "slot_start_at"))
    new_slots = pl.concat([slot_state.join(latest.select(SLOT), on=SLOT, how="anti"), latest.cast(SLOT_STATE_SCHEMA)])
    if prune_before is not None:
        new_slots = new_slots.with_columns(
            pl.when((pl.col("status") == "open") & (pl.col("slot_start_at") <= prune_before)).then(pl.lit("expired"))
            .otherwise(pl.col("status")).alias("status"),
        ).filter((pl.col("status") == "open") | (pl.col("slot_start_at") > prune_before - timedelta(days=1)))
    key_rows = fresh.group_by(KEY).agg(
        pl.col("polled_at").filter(pl.col("ok")).min().alias("_first_ok"),
        pl.col("polled_at").filter(pl.col("ok")).max().alias("_last_ok"),
        pl.col("polled_at").max().alias("_last_attempt"),
        pl.col("ok").sort_by("polled_at").last().alias("_last_status"),
        pl.col("ok").sum().cast(pl.Int64).alias("_succ"),
        (~pl.col("ok")).sum().cast(pl.Int64).alias("_fail"),
    ).join(key_state, on=KEY, how="left")
    key_rows = key_rows.select(
        *KEY,
        pl.coalesce("baseline_at", "_first_ok").alias("baseline_at"),
        pl.coalesce("_last_ok", "last_success_at").alias("last_success_at"),
        pl.col("_last_attempt").alias("last_attempt_at"),
        pl.col("_last_status").alias("last_ok"),
        (pl.col("successes").fill_null(0) + pl.col("_succ")).alias("successes"),
        (pl.col("failures").fill_null(0) + pl.col("_fail")).alias("failures"),
    ).cast(KEY_STATE_SCHEMA)
    new_keys = pl.concat([key_state.join(key_rows.select(KEY), on=KEY, how="anti"), key_rows])
    # Key state is never pruned: one row per polled day is small, and it is the record of which days were polled
    # (percent_days_fully_booked needs the days on which nothing happened).
    return Advance(events=events, key_state=new_keys.sort(KEY), slot_state=new_slots.sort(SLOT), stats=stats)


def attempts_frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=ATTEMPT_SCHEMA) if rows else empty(ATTEMPT_SCHEMA)


def observations_frame(rows: list[dict]) -> pl.DataFrame:
    if not rows:
        return empty(OBS_SCHEMA)
    return _with_template(pl.DataFrame(rows, infer_schema_length=None)).select(list(OBS_SCHEMA)).cast(OBS_SCHEMA)
