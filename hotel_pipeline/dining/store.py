"""Dining tables in the warehouse and the one transaction that turns a batch of polls into events plus new state.

``apply_polls`` reads the carried state, runs the transition engine, appends only events not already stored (their
``event_id`` is the primary key, derived from the natural unique key), replaces the state tables and records the poll
log, all in one transaction: a crash repeats a batch (which then changes nothing) but never half-applies it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl

from hotel_pipeline.core.warehouse import FrameCheck, Tx, Warehouse, spec
from hotel_pipeline.dining.transitions import KEY_STATE_SCHEMA, SLOT_STATE_SCHEMA, Advance, advance

#: The transitions a slot event records, the lifecycles they belong to, and the seating buckets.
EVENT_TYPES = ("BASELINE_AVAILABLE", "NEW_DROP", "CLOSED")
LIFECYCLES = ("baseline", "drop")
TIME_BUCKETS = ("prime", "off_peak")
_DURATION = pl.col("duration_seconds")

_SLOT_COLS = [
    ("provider", "VARCHAR", "reservation platform (resy)"),
    ("venue_id", "VARCHAR", "the platform's venue id"),
    ("party_size", "INTEGER", "party size of the query (tables for 2 and 4 are separate inventory)"),
    ("slot_date", "DATE", "venue-local date of the seating"),
    ("slot_time", "VARCHAR", "venue-local seating time HH:MM of the service day (24:30 = 00:30 after midnight)"),
    ("seating", "VARCHAR", "seating area (config.type): Dining Room, Bar"),
    ("template", "VARCHAR", "template segment of config.token: two configurations at one time and seating are two slots"),
]
_ATTR_COLS = [
    ("venue_name", "VARCHAR", "venue name"),
    ("neighborhood", "VARCHAR", "location.neighborhood"),
    ("price_range", "INTEGER", "1-4"),
    ("time_zone", "VARCHAR", "venue IANA time zone"),
    ("time_bucket", "VARCHAR", "prime (seating 19:00-21:00 local inclusive) or off_peak"),
]

SLOT_EVENTS = spec(
    "slot_events",
    [("event_id", "VARCHAR",
      "provider|venue|party|date|time|seating|template|event_type|observed_at: the unique key as text"),
     *_SLOT_COLS, *_ATTR_COLS,
     ("event_type", "VARCHAR", "BASELINE_AVAILABLE, NEW_DROP or CLOSED"),
     ("lifecycle", "VARCHAR", "baseline (open since the day's first successful poll) or drop (a re-opening)"),
     ("observed_at", "TIMESTAMP", "UTC time of the successful poll that showed the transition"),
     ("opened_at", "TIMESTAMP", "first_seen of the lifecycle (= observed_at for openings)"),
     ("last_seen_at", "TIMESTAMP", "CLOSED only: last successful poll that still listed the slot"),
     ("duration_seconds", "DOUBLE", "CLOSED only: closed_at (observed_at) - opened_at"),
     ("duration_min_seconds", "DOUBLE", "CLOSED only: last_seen_at - opened_at, the shortest true duration"),
     ("duration_max_seconds", "DOUBLE", "CLOSED drops only: closed_at - the successful poll before opened_at"),
     ("slot_start_at", "TIMESTAMP", "UTC instant of the seating"),
     ("observed_local_date", "DATE", "venue-local date of observed_at"),
     ("observed_local_hour", "INTEGER", "venue-local hour of observed_at"),
     ("processed_at", "TIMESTAMP", "when the pipeline stored the event (clock, UTC)")],
    primary_key=("event_id",),
    doc="One row per slot transition; append-only and idempotent.",
    grain="(provider, venue_id, party_size, slot_date, slot_time, seating, template, event_type, observed_at)",
    not_null=("provider", "venue_id", "party_size", "slot_date", "slot_time", "seating", "time_bucket", "event_type",
              "lifecycle", "observed_at", "opened_at"),
    rules={"party_size": {"ge": 1, "le": 20}, "slot_time": {"str_matches": r"^\d\d:\d\d$"},
           "time_bucket": {"isin": list(TIME_BUCKETS)}, "event_type": {"isin": list(EVENT_TYPES)},
           "lifecycle": {"isin": list(LIFECYCLES)}, "duration_seconds": {"ge": 0}, "duration_min_seconds": {"ge": 0},
           "duration_max_seconds": {"ge": 0}},
    checks=(
        FrameCheck("durations_only_and_always_on_closed", "Only a CLOSED event ends a lifecycle, so only it has a "
                   "duration, and it always has one.",
                   (pl.col("event_type") == "CLOSED") == pl.col("duration_seconds").is_not_null()),
        FrameCheck("duration_within_censoring_bounds", "The measured duration lies between the shortest true "
                   "duration and the longest (polls only see so much).",
                   _DURATION.is_null() | ((pl.col("duration_min_seconds") <= _DURATION)
                                          & (pl.col("duration_max_seconds").is_null()
                                             | (_DURATION <= pl.col("duration_max_seconds"))))),
        FrameCheck("event_type_matches_lifecycle", "A NEW_DROP opens a drop lifecycle and a BASELINE_AVAILABLE a "
                   "baseline one; a CLOSED ends either.",
                   ((pl.col("event_type") == "NEW_DROP") & (pl.col("lifecycle") == "drop"))
                   | ((pl.col("event_type") == "BASELINE_AVAILABLE") & (pl.col("lifecycle") == "baseline"))
                   | (pl.col("event_type") == "CLOSED")),
        FrameCheck("opened_not_after_observed", "A lifecycle opens no later than the poll that reports it.",
                   pl.col("opened_at") <= pl.col("observed_at")),
    ),
)
POLL_STATE = spec(
    "dining_poll_state",
    [*_SLOT_COLS[:4],
     ("baseline_at", "TIMESTAMP", "first successful poll of this venue, party size and day"),
     ("last_success_at", "TIMESTAMP", "latest successful poll"),
     ("last_attempt_at", "TIMESTAMP", "latest attempt processed (replays at or before it are ignored)"),
     ("last_ok", "BOOLEAN", "whether the latest attempt succeeded"),
     ("successes", "BIGINT", "successful polls so far"),
     ("failures", "BIGINT", "failed polls so far (errors, timeouts, invalid bodies)")],
    primary_key=("provider", "venue_id", "party_size", "slot_date"),
    doc="Per polled day: the poll sequence the transition engine continues from.",
)
SLOT_STATE = spec(
    "dining_slot_state",
    [*_SLOT_COLS, *_ATTR_COLS,
     ("lifecycle", "VARCHAR", "baseline or drop"),
     ("first_seen", "TIMESTAMP", "first successful poll of the current lifecycle"),
     ("last_seen", "TIMESTAMP", "latest successful poll that listed the slot"),
     ("open_lower", "TIMESTAMP", "successful poll before first_seen (lower bound of the opening)"),
     ("status", "VARCHAR", "open, closed or expired (seating time passed while open)"),
     ("closed_at", "TIMESTAMP", "poll that found it gone"),
     ("slot_start_at", "TIMESTAMP", "UTC instant of the seating")],
    primary_key=("provider", "venue_id", "party_size", "slot_date", "slot_time", "seating", "template"),
    doc="Per slot: its latest lifecycle, so a restart continues where the last batch stopped.",
)
POLL_LOG = spec(
    "dining_poll_log",
    [*_SLOT_COLS[:4],
     ("polled_at", "TIMESTAMP", "round instant (clock, UTC)"),
     ("ok", "BOOLEAN", "an observation (true) or not"),
     ("status", "INTEGER", "HTTP status of the last try (null on timeout)"),
     ("error", "VARCHAR", "why it is not an observation"),
     ("body", "VARCHAR", "raw response body, kept for the debug window only")],
    primary_key=("provider", "venue_id", "party_size", "slot_date", "polled_at"),
    doc="Raw polls for debugging, pruned after the configured window.",
)
ALL_TABLES = (SLOT_EVENTS, POLL_STATE, SLOT_STATE, POLL_LOG)


@dataclass(frozen=True)
class Applied:
    stats: dict[str, int]
    inserted: int
    pruned_log_rows: int


def ensure_dining_tables(tx: Tx) -> None:
    for s in ALL_TABLES:
        tx.ensure_table(s)  # tables from before the slot template was part of a slot's identity gain its column


def load_state(tx: Tx) -> tuple[pl.DataFrame, pl.DataFrame]:
    keys = tx.query("SELECT * FROM dining_poll_state")
    slots = tx.query("SELECT * FROM dining_slot_state")
    keys = keys.select(list(KEY_STATE_SCHEMA)).cast(KEY_STATE_SCHEMA) if keys.height else None
    slots = slots.select(list(SLOT_STATE_SCHEMA)).cast(SLOT_STATE_SCHEMA) if slots.height else None
    return keys, slots


def insert_new_events(tx: Tx, events: pl.DataFrame, processed_at: datetime) -> int:
    """Append events whose event_id is not stored yet (late or replayed inputs change nothing)."""
    if events.height == 0:
        return 0
    frame = SLOT_EVENTS.conform(events.with_columns(pl.lit(processed_at).cast(pl.Datetime("us")).alias("processed_at")))
    tx.temp_table("_new_slot_events", frame, SLOT_EVENTS)
    cols = ", ".join(SLOT_EVENTS.column_names)
    return tx.execute(
        f"INSERT INTO slot_events ({cols}) SELECT {cols} FROM _new_slot_events n "  # noqa: S608 - constant identifiers
        "WHERE NOT EXISTS (SELECT 1 FROM slot_events e WHERE e.event_id = n.event_id)"
    )


def apply_polls(tx: Tx, attempts: pl.DataFrame, observations: pl.DataFrame, *, processed_at: datetime,
                log: pl.DataFrame | None = None, debug_window: timedelta = timedelta(hours=24),
                prune_before: datetime | None = None) -> tuple[Applied, Advance]:
    """Process one batch of polls inside ``tx`` (see module docstring)."""
    ensure_dining_tables(tx)
    for table in ("dining_poll_state", "dining_slot_state"):
        tx.lock_for_rewrite(table)  # read, advanced and replaced as one: a concurrent batch waits, never interleaves
    keys, slots = load_state(tx)
    adv = advance(attempts, observations, keys, slots, prune_before=prune_before)
    inserted = insert_new_events(tx, adv.events, processed_at)
    tx.execute("DELETE FROM dining_poll_state")
    tx.insert_frame("dining_poll_state", POLL_STATE.conform(adv.key_state))
    tx.execute("DELETE FROM dining_slot_state")
    tx.insert_frame("dining_slot_state", SLOT_STATE.conform(adv.slot_state))
    if log is not None and log.height:
        tx.temp_table("_new_poll_log", POLL_LOG.conform(log), POLL_LOG)
        cols = ", ".join(POLL_LOG.column_names)
        tx.execute(f"INSERT INTO dining_poll_log ({cols}) SELECT {cols} FROM _new_poll_log n "  # noqa: S608
                   "WHERE NOT EXISTS (SELECT 1 FROM dining_poll_log l WHERE l.provider = n.provider AND "
                   "l.venue_id = n.venue_id AND l.party_size = n.party_size AND l.slot_date = n.slot_date "
                   "AND l.polled_at = n.polled_at)")
    pruned = tx.execute("DELETE FROM dining_poll_log WHERE polled_at < :cutoff",
                        {"cutoff": processed_at - debug_window})
    return Applied(stats=adv.stats, inserted=max(inserted, 0), pruned_log_rows=max(pruned, 0)), adv


def apply_polls_to(warehouse: Warehouse, attempts: pl.DataFrame, observations: pl.DataFrame, **kwargs) -> Applied:
    with warehouse.transaction() as tx:
        applied, _ = apply_polls(tx, attempts, observations, **kwargs)
    return applied
