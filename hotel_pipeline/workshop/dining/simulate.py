"""Week-long simulations at a fixed poll interval, in process, plus the real-HTTP poll round they stand in for.

A week at 60 s of the default market is ~10,000 rounds x 40 venues x ~14.5 days x 2 party sizes = ~11.7 million
``/4/find`` requests: far too many for real HTTP in a test. So ``poll_round_http`` polls through the loopback server
(used by the correctness tests over shorter spans), and ``simulated_polls`` produces, for whole chunks of rounds at
once, exactly the attempts and observations that polling the platform at those instants would give: the sandbox lists
slot s at instant p iff ``open_at <= p < close_at`` (``Market.open_slots``), which is what the vectorised interval
expansion below computes. A test asserts both paths give identical rows at the same instants.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import polars as pl

from hotel_pipeline.dining.client import ResyClient
from hotel_pipeline.dining.poll import poll_round
from hotel_pipeline.dining.transitions import ATTEMPT_SCHEMA, OBS_SCHEMA
from hotel_pipeline.workshop.dining.market import PROVIDER, Market
from hotel_pipeline.workshop.dining.sandbox import SLOT_TEMPLATE

US = 1_000_000


@dataclass(frozen=True)
class Outage:
    """Every request in [start, end) fails (naive UTC)."""

    start: datetime
    end: datetime


def poll_round_http(client: ResyClient, market: Market, at: datetime,
                    party_sizes: tuple[int, ...] | None = None,
                    venue_ids: list[int] | None = None) -> tuple[pl.DataFrame, pl.DataFrame, list]:
    """The production poll round against ``market`` (all its venues and party sizes unless narrowed)."""
    config = market.dining_config(str(client.http.base_url))
    config = replace(config, party_sizes=tuple(party_sizes or config.party_sizes),
                     venue_ids=tuple(venue_ids or config.venue_ids))
    return poll_round(client, config, at)


def round_days(market: Market, rounds: list[datetime]) -> pl.DataFrame:
    """(polled_at, slot_date) for every round and every day it polls (released, today or later)."""
    rows = [(at, d) for at in rounds for d in market.released_days(at)]
    return pl.DataFrame(rows, schema={"polled_at": pl.Datetime("us"), "slot_date": pl.Date}, orient="row")


def simulated_polls(market: Market, start: datetime, interval_s: float, rounds: range,
                    outages: tuple[Outage, ...] = (), party_sizes: tuple[int, ...] | None = None,
                    ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Attempts and observations of rounds ``start + k * interval`` for k in ``rounds``, as the sandbox would answer."""
    assert market.truth is not None, "simulate(market, ...) first"
    party_sizes = party_sizes or market.config.party_sizes
    step = timedelta(seconds=interval_s)
    instants = [start + k * step for k in rounds]
    keys = round_days(market, instants)
    venues = market.venues.select(pl.col("venue_id").cast(pl.String), pl.col("name").alias("venue_name"),
                                  "neighborhood", "price_range", "time_zone")
    attempts = (keys.join(venues.select("venue_id"), how="cross")
                .join(pl.DataFrame({"party_size": list(party_sizes)}, schema={"party_size": pl.Int64}), how="cross"))
    ok = pl.lit(True)
    for o in outages:
        ok = ok & ~((pl.col("polled_at") >= o.start) & (pl.col("polled_at") < o.end))
    attempts = attempts.with_columns(pl.lit(PROVIDER).alias("provider"), ok.alias("ok")).select(list(ATTEMPT_SCHEMA))
    attempts = attempts.cast(ATTEMPT_SCHEMA)
    t0 = int(start.timestamp() * US) if start.tzinfo else int((start - datetime(1970, 1, 1)).total_seconds() * US)
    d_us = int(interval_s * US)
    lo, hi = rounds.start, rounds.stop
    first = ((pl.col("open_at").dt.epoch("us") - t0 + d_us - 1) // d_us).clip(lower_bound=lo)
    last = ((pl.col("close_at").dt.epoch("us") - t0 + d_us - 1) // d_us).clip(upper_bound=hi)
    seen = (market.truth.filter(pl.col("party_size").is_in(list(party_sizes)))
            .with_columns(first.alias("k0"), last.alias("k1")).filter(pl.col("k1") > pl.col("k0"))
            .with_columns(pl.int_ranges("k0", "k1").alias("k")).explode("k")
            .with_columns(pl.from_epoch(pl.col("k") * d_us + t0, time_unit="us").alias("polled_at"))
            .with_columns(pl.col("venue_id").cast(pl.String))
            .join(venues, on="venue_id", how="left")
            .with_columns(pl.lit(PROVIDER).alias("provider"), pl.lit(SLOT_TEMPLATE).alias("template")))
    obs = (seen.join(attempts.filter(pl.col("ok")).select("venue_id", "party_size", "slot_date", "polled_at"),
                     on=["venue_id", "party_size", "slot_date", "polled_at"], how="semi")
           .select(list(OBS_SCHEMA)).cast(OBS_SCHEMA))
    return attempts, obs


def chunks(total_rounds: int, size: int) -> Iterator[range]:
    for lo in range(0, total_rounds, size):
        yield range(lo, min(lo + size, total_rounds))


@dataclass
class WeekRun:
    """What a simulated run produced (events are also in the warehouse when one was given)."""

    events: pl.DataFrame
    attempts: int
    observations: int
    stats: dict[str, int]
    seconds_processing: float


def run_polls(market: Market, start: datetime, end: datetime, interval_s: float = 60.0, *,
              outages: tuple[Outage, ...] = (), chunk_rounds: int = 1440, warehouse=None,
              debug_window: timedelta = timedelta(hours=24)) -> WeekRun:
    """Poll ``market`` every ``interval_s`` from ``start`` to ``end`` (simulated clock) and run the transition engine.

    With a ``warehouse`` every chunk is one ``apply_polls`` transaction (state reloaded from the warehouse each
    time, exactly as a restarted sensor would); without one, state is carried in memory (truth tests, benchmarks).
    """
    import time

    from hotel_pipeline.dining.store import apply_polls
    from hotel_pipeline.dining.transitions import advance

    total = int((end - start).total_seconds() // interval_s)
    keys = slots = None
    events: list[pl.DataFrame] = []
    stats: dict[str, int] = {}
    n_att = n_obs = 0
    busy = 0.0
    for r in chunks(total, chunk_rounds):
        attempts, obs = simulated_polls(market, start, interval_s, r, outages)
        now = start + timedelta(seconds=r.stop * interval_s)
        t = time.perf_counter()
        if warehouse is None:
            adv = advance(attempts, obs, keys, slots, prune_before=now)
            keys, slots = adv.key_state, adv.slot_state
        else:
            with warehouse.transaction() as tx:
                _, adv = apply_polls(tx, attempts, obs, processed_at=now, prune_before=now, debug_window=debug_window)
        busy += time.perf_counter() - t
        events.append(adv.events)
        n_att += attempts.height
        n_obs += obs.height
        for k, v in adv.stats.items():
            stats[k] = stats.get(k, 0) + v
    return WeekRun(pl.concat(events) if events else pl.DataFrame(), n_att, n_obs, stats, busy)
