"""A simulated week of the default market at 60 s: estimates against the generator's truth, and a mid-week outage."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import polars as pl
import pytest

from hotel_pipeline.dining.schemas import failures
from hotel_pipeline.workshop.dining.market import Market, generate_market, simulate
from hotel_pipeline.workshop.dining.simulate import Outage, WeekRun, run_polls
from hotel_pipeline.workshop.dining.truth import truth_drop_runs, venue_recovery

START = datetime(2016, 7, 24, 4, 0)
END = START + timedelta(days=7)
INTERVAL = 60.0
OUTAGE = Outage(START + timedelta(days=3, hours=9, minutes=30), START + timedelta(days=3, hours=10))  # 09:30-10:00 NY
#: Tolerance on each venue's mean drop duration against the interval-adjusted truth, in standard errors (see docs).
SE_TOLERANCE = 4.0


@pytest.fixture(scope="module")
def week() -> tuple[Market, WeekRun, WeekRun]:
    market = generate_market()
    simulate(market, START, END)
    clean = run_polls(market, START, END, INTERVAL)
    with_outage = run_polls(market, START, END, INTERVAL, outages=(OUTAGE,))
    return market, clean, with_outage


def release_index(market: Market) -> pl.DataFrame:
    days = sorted(set(market.truth["slot_date"].to_list()))
    return pl.DataFrame({"slot_date": days, "release_k": [
        max(0, math.ceil((market.release_at(d) - START).total_seconds() / INTERVAL)) for d in days]})


def test_drop_counts_match_reopenings_longer_than_one_interval(week) -> None:
    market, run, _ = week
    rec = venue_recovery(run.events, market.truth, market.venues, START, INTERVAL)
    # Every re-opening longer than the interval is seen; shorter ones only when a poll fell inside them.
    assert (rec["new_drops"] >= rec["true_longer_than_interval"] - 1).all()
    assert (rec["new_drops"] <= rec["true_visible"] + 3).all()
    # Exactly: the lifecycles a perfect poller on this grid must see, derived from the truth alone.
    expected = truth_drop_runs(market.truth, release_index(market), START, INTERVAL).group_by("venue_id").len()
    got = (run.events.filter(pl.col("event_type") == "NEW_DROP").group_by(pl.col("venue_id").cast(pl.Int64)).len())
    assert expected.sort("venue_id").equals(got.sort("venue_id"))
    assert rec["new_drops"].sum() > 3000


def test_mean_drop_duration_within_interval_adjusted_truth(week) -> None:
    market, run, _ = week
    rec = venue_recovery(run.events, market.truth, market.venues, START, INTERVAL)
    assert (rec["closed_drops"] >= 40).all()
    # Sampling: within SE_TOLERANCE standard errors of E[observed duration | seen] from the true parameters.
    z = ((rec["est_mean_s"] - rec["adjusted_truth_mean_s"]) / rec["standard_error_s"]).abs()
    assert z.max() < SE_TOLERANCE, rec.filter(z >= SE_TOLERANCE)
    # Measurement: each observed duration is within one interval of the true one, so the means are too.
    assert ((rec["est_mean_s"] - rec["true_mean_visible_s"]).abs() < INTERVAL).all()


def test_outage_mid_week_gives_no_closures_and_no_phantom_drops(week) -> None:
    market, clean, broken = week
    assert broken.stats["failed"] > 0
    ev = broken.events
    inside = (pl.col("observed_at") >= OUTAGE.start) & (pl.col("observed_at") < OUTAGE.end)
    assert ev.filter(inside).height == 0  # no CLOSED (nor anything else) from failed polls
    # Away from the outage, events are the same as without it.
    recovery = OUTAGE.end
    outside = lambda f: f.filter(pl.col("observed_at") < OUTAGE.start)  # noqa: E731
    assert outside(ev).sort("event_id").equals(outside(clean.events).sort("event_id"))
    # Drops reported at the first poll after the outage are real: each slot was opened during the outage per truth.
    at_recovery = ev.filter((pl.col("event_type") == "NEW_DROP") & (pl.col("observed_at") == recovery))
    truth = market.truth.with_columns(pl.col("venue_id").cast(pl.String))
    real = at_recovery.join(truth.filter((pl.col("open_at") >= OUTAGE.start - timedelta(seconds=INTERVAL))
                                         & (pl.col("open_at") <= recovery) & (pl.col("close_at") > recovery)),
                            on=["venue_id", "slot_date", "slot_time", "seating", "party_size"], how="semi")
    assert real.height == at_recovery.height
    # Slots open across the whole outage stayed one lifecycle: no NEW_DROP at recovery for them.
    spanning = truth.filter((pl.col("open_at") < OUTAGE.start - timedelta(seconds=INTERVAL))
                            & (pl.col("close_at") > recovery))
    assert spanning.height > 0
    assert at_recovery.join(spanning, on=["venue_id", "slot_date", "slot_time", "seating", "party_size"],
                            how="semi").height == 0
    # A CLOSED at recovery has wide bounds that cover the outage.
    closed = ev.filter((pl.col("event_type") == "CLOSED") & (pl.col("observed_at") == recovery)
                       & (pl.col("lifecycle") == "drop"))
    assert closed.height > 0
    assert (closed["duration_max_seconds"] - closed["duration_min_seconds"] >= 1800).all()


def test_events_pass_the_slot_events_schema(week) -> None:
    _, run, broken = week
    assert failures("slot_events", run.events) is None
    assert failures("slot_events", broken.events) is None
    bad = run.events.filter(pl.col("event_type") == "CLOSED").head(3).with_columns(pl.lit(-1.0).alias("duration_seconds"))
    assert failures("slot_events", bad) is not None
