"""Compare what the pipeline estimated with what the generator did: the basis of the truth-recovery test and bench.

Polling every Δ seconds censors drop durations: a drop of true length d is seen by about d/Δ polls and its observed
duration is (polls that saw it) x Δ; a drop shorter than Δ is seen only if a poll happens to fall inside it
(probability d/Δ). Two consequences that the comparison uses:
- counts: every re-opening longer than Δ is seen; shorter ones are seen exactly when a poll instant falls inside them.
  ``visible`` counts the latter from the truth and the poll grid alone, independently of the transition engine.
- means: per observed drop |observed - true| < Δ (both ends are rounded up to the next poll), so the mean observed
  duration is within Δ of the mean true duration of the same drops; and in expectation over poll phases the observed
  mean is ``expected_observed_mean(mean, Δ)`` for an exponential drop (see ``market.py``).
"""

from __future__ import annotations

import math
from datetime import datetime

import polars as pl

from hotel_pipeline.workshop.dining.market import expected_observed_mean

US = 1_000_000


def _epoch_us(at: datetime) -> int:
    return int((at - datetime(1970, 1, 1)).total_seconds() * US)


def visible_reopenings(truth: pl.DataFrame, poll_start: datetime, interval_s: float,
                       outages: list[tuple[datetime, datetime]] | None = None) -> pl.DataFrame:
    """Re-openings (ended by a booking) with the first and last poll index that saw them; ``seen`` if any did."""
    t0, d = _epoch_us(poll_start), int(interval_s * US)
    frame = truth.filter((pl.col("kind") == "reopen") & (pl.col("end_reason") == "booked")).with_columns(
        ((pl.col("open_at").dt.epoch("us") - t0 + d - 1) // d).alias("k0"),
        ((pl.col("close_at").dt.epoch("us") - t0 + d - 1) // d).alias("k1"),
    ).with_columns((pl.col("k1") > pl.col("k0")).alias("seen"),
                   (pl.col("duration_s") > interval_s).alias("longer_than_interval"))
    for o_start, o_end in outages or []:  # a drop seen only by failed polls is not seen
        ko0 = (_epoch_us(o_start) - t0 + d - 1) // d
        ko1 = (_epoch_us(o_end) - t0 + d - 1) // d
        frame = frame.with_columns(
            (pl.col("seen") & ~((pl.col("k0") >= ko0) & (pl.col("k1") <= ko1))).alias("seen"))
    return frame


def truth_drop_runs(truth: pl.DataFrame, market_release: pl.DataFrame, poll_start: datetime,
                    interval_s: float) -> pl.DataFrame:
    """The drops a perfect poller on the grid must report, derived from the truth alone (no transition engine).

    Each slot's open intervals become poll-index ranges [k0, k1); ranges that touch (no poll saw the slot closed in
    between) merge into one observed lifecycle; a lifecycle containing the day's first poll (the first round after
    the day's release, ``market_release``: slot_date, release_k) is the baseline, every other one a drop.
    """
    t0, d = _epoch_us(poll_start), int(interval_s * US)
    slot = ["venue_id", "slot_date", "slot_time", "seating", "party_size"]
    ranges = truth.with_columns(
        ((pl.col("open_at").dt.epoch("us") - t0 + d - 1) // d).clip(lower_bound=0).alias("k0"),
        ((pl.col("close_at").dt.epoch("us") - t0 + d - 1) // d).alias("k1"),
    ).filter(pl.col("k1") > pl.col("k0")).sort([*slot, "k0"])
    prev_end = pl.col("k1").shift(1).over(slot)
    ranges = ranges.with_columns((prev_end.is_null() | (pl.col("k0") > prev_end)).cum_sum().alias("run"))
    runs = ranges.group_by("run").agg(*[pl.col(c).first() for c in slot], pl.col("k0").min().alias("k0"))
    runs = runs.join(market_release, on="slot_date", how="left")
    return runs.filter(pl.col("release_k").is_null() | (pl.col("k0") > pl.col("release_k")))


def venue_recovery(events: pl.DataFrame, truth: pl.DataFrame, venues: pl.DataFrame, poll_start: datetime,
                   interval_s: float) -> pl.DataFrame:
    """Per venue: truth counts and means next to the pipeline's drop counts and mean drop durations."""
    vis = visible_reopenings(truth, poll_start, interval_s)
    true_counts = vis.group_by("venue_id").agg(
        pl.len().alias("true_reopenings"),
        pl.col("longer_than_interval").sum().alias("true_longer_than_interval"),
        pl.col("seen").sum().alias("true_visible"),
        (pl.col("seen").cast(pl.Float64) * pl.col("duration_s")).sum().alias("_sum_visible"),
    ).with_columns((pl.col("_sum_visible") / pl.col("true_visible")).alias("true_mean_visible_s")).drop("_sum_visible")
    drops = events.filter(pl.col("lifecycle") == "drop").with_columns(pl.col("venue_id").cast(pl.Int64))
    closed = drops.filter(pl.col("event_type") == "CLOSED")
    est = closed.group_by("venue_id").agg(
        pl.len().alias("closed_drops"),
        pl.col("duration_seconds").mean().alias("est_mean_s"),
        pl.col("duration_seconds").std().alias("est_std_s"),
        (pl.col("time_bucket") == "prime").sum().alias("_n_prime"),
        (pl.col("time_bucket") == "off_peak").sum().alias("_n_off"),
    )
    new = drops.filter(pl.col("event_type") == "NEW_DROP").group_by("venue_id").agg(pl.len().alias("new_drops"))
    out = (venues.select("venue_id", "name", "mean_duration_prime_s", "mean_duration_off_peak_s")
           .join(true_counts, on="venue_id", how="left").join(new, on="venue_id", how="left")
           .join(est, on="venue_id", how="left").fill_null(0))
    rows = []
    for r in out.iter_rows(named=True):
        n_p, n_o = r["_n_prime"], r["_n_off"]
        adj = math.nan
        if n_p + n_o:
            adj = (n_p * expected_observed_mean(r["mean_duration_prime_s"], interval_s)
                   + n_o * expected_observed_mean(r["mean_duration_off_peak_s"], interval_s)) / (n_p + n_o)
        se = r["est_std_s"] / math.sqrt(r["closed_drops"]) if r["closed_drops"] > 1 else math.nan
        rows.append({"venue_id": r["venue_id"], "adjusted_truth_mean_s": adj, "standard_error_s": se})
    return out.drop("_n_prime", "_n_off").join(pl.DataFrame(rows), on="venue_id", how="left").sort("venue_id")


def paired_duration_errors(events: pl.DataFrame, truth: pl.DataFrame, interval_s: float) -> pl.DataFrame:
    """Each closed drop next to the true re-opening it measured: ``error_s`` = observed - true duration.

    A CLOSED drop event was first seen open at ``opened_at`` and first seen closed at ``observed_at``; the re-opening it
    measured opened within the interval before ``opened_at`` and closed within the interval before ``observed_at``
    (one match per event; lifecycles that merged several re-openings match none and are left out). Only re-openings
    at least one interval long are kept: every one of them is seen whatever the poll phase, so the selection does not
    depend on the phase and the error is centred (see ``duration_error_tolerance``).
    """
    slot = ["venue_id", "slot_date", "slot_time", "seating", "party_size"]
    step = pl.duration(microseconds=int(interval_s * US))
    closed = events.filter((pl.col("event_type") == "CLOSED") & (pl.col("lifecycle") == "drop")).select(
        pl.col("venue_id").cast(pl.Int64), *slot[1:], "event_id", "opened_at", "observed_at", "duration_seconds")
    paired = closed.join(truth.select(*slot, "open_at", "close_at", "duration_s"), on=slot).filter(
        (pl.col("open_at") > pl.col("opened_at") - step) & (pl.col("open_at") <= pl.col("opened_at"))
        & (pl.col("close_at") > pl.col("observed_at") - step) & (pl.col("close_at") <= pl.col("observed_at")))
    return paired.filter(pl.col("duration_s") >= interval_s).with_columns(
        (pl.col("duration_seconds") - pl.col("duration_s")).alias("error_s"))


def duration_error_tolerance(n: int, interval_s: float, tests: int, false_failure: float) -> float:
    """Largest |mean error| over ``n`` paired drops that chance explains, from the poll interval alone.

    Per drop of true length d >= Δ, the observed duration is (polls inside the drop) x Δ, and with a poll phase
    uniform over the interval the number of polls inside is floor or ceil of d/Δ with mean exactly d/Δ: the error lies
    in (-Δ, Δ) and has mean 0. Hoeffding's inequality for n independent errors bounded in (-Δ, Δ) gives
    P(|mean| >= t) <= 2 exp(-n t² / (2 Δ²)); solving for a family-wise false-failure rate ``false_failure`` shared by
    ``tests`` venues (Bonferroni) gives t = Δ sqrt(2 ln(2 tests / false_failure) / n). No fitted σ, no normality.
    """
    return interval_s * math.sqrt(2.0 * math.log(2.0 * tests / false_failure) / n)
