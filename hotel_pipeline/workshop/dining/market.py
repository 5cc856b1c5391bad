"""A seeded restaurant market with known truth: venues, day releases, cancellations and how long re-opened slots stay open.

The point of the generator is that the pipeline's estimates can be checked against the parameters that produced the
data. Everything is drawn from one ``numpy`` generator seeded by ``MarketConfig.seed``, so a market and its week of
truth are reproducible bit for bit.

Model (all times in the venue's local time zone, one zone per market by default):
- Every venue sells seatings every 30 minutes from 17:00 to 22:30, per seating area ("Dining Room", some also "Bar")
  and per party size (tables for 2 and for 4 are separate inventory); one bookable table per (time, area, size).
- Day D is released at ``release_hour`` local on D - ``release_days_ahead``; each released slot is open until it sells,
  after an exponential delay with the venue's ``sellout_mean_s``.
- Cancellations re-open one booked slot at a time, as a Poisson process with rate
  ``cancel_rate_per_day / 24 * HOUR_PROFILE[local hour] * WEEKDAY_FACTOR[local weekday]`` per hour; the slot is drawn
  uniformly among the venue's booked, released, future slots.
- A re-opened slot stays open for an exponential duration whose mean depends on the venue and the slot's time bucket
  (``prime`` 19:00-21:00 inclusive, else ``off_peak``), unless its seating time comes first (then it expires unbooked).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from hotel_pipeline.dining.config import PROVIDER, DiningConfig, time_bucket

__all__ = ["PROVIDER", "Market", "MarketConfig", "generate_market", "simulate", "time_bucket"]
NEIGHBORHOODS = (
    "West Village", "East Village", "SoHo", "Tribeca", "Williamsburg", "Lower East Side", "Midtown East", "Chelsea",
)
CUISINES = ("Italian", "Japanese", "American", "French", "Mexican", "Korean", "Seafood", "Mediterranean")
NAME_A = ("Golden", "Little", "Blue", "Old", "Wild", "Quiet", "Red", "Silver", "Lucky", "Hidden")
NAME_B = ("Fig", "Oyster", "Lantern", "Olive", "Pearl", "Sparrow", "Harbor", "Ember", "Clover", "Anchor")
SEATING_TIMES = tuple(f"{h:02d}:{m:02d}" for h in range(17, 23) for m in (0, 30))  # 17:00 .. 22:30
#: Relative cancellation intensity by local hour (mean 1): quiet at night, busiest in the afternoon and early evening.
HOUR_PROFILE = np.array([0.15, 0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 0.6, 0.9, 1.2, 1.4, 1.5,
                         1.6, 1.6, 1.6, 1.7, 1.8, 1.9, 1.8, 1.5, 1.2, 0.9, 0.6, 0.35])
HOUR_PROFILE = HOUR_PROFILE / HOUR_PROFILE.mean()
#: Relative cancellation intensity by local weekday, Monday first (weekends see more plans change).
WEEKDAY_FACTOR = np.array([0.8, 0.85, 0.9, 1.0, 1.2, 1.3, 0.95])


@dataclass(frozen=True)
class MarketConfig:
    """What the generator builds; the defaults are the issue's default market."""

    seed: int = 7
    venues: int = 40
    neighborhoods: int = 8
    time_zone: str = "America/New_York"
    party_sizes: tuple[int, ...] = (2, 4)
    release_days_ahead: int = 14
    release_hour: int = 9
    cancel_rate_range: tuple[float, float] = (8.0, 30.0)  # re-openings per venue per day (before hour/weekday factors)
    prime_mean_range_s: tuple[float, float] = (180.0, 900.0)
    off_peak_mean_range_s: tuple[float, float] = (600.0, 2400.0)
    sellout_mean_range_s: tuple[float, float] = (300.0, 7200.0)


@dataclass
class Market:
    """Venues with their true parameters; ``truth`` is filled by ``simulate``."""

    config: MarketConfig
    venues: pl.DataFrame
    truth: pl.DataFrame | None = None
    horizon: tuple[datetime, datetime] | None = None
    _index: dict[tuple[int, date, int], list[tuple[datetime, datetime, str, str]]] = field(default_factory=dict)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.config.time_zone)

    def venue_rows(self) -> dict[int, dict]:
        return {r["venue_id"]: r for r in self.venues.iter_rows(named=True)}

    @cached_property
    def _rules(self) -> DiningConfig:
        return self.dining_config("")

    def dining_config(self, base_url: str, min_request_interval_s: float = 0.0) -> DiningConfig:
        """The pipeline's configuration for polling this market at ``base_url`` (every venue, every party size)."""
        cfg = self.config
        return DiningConfig(base_url=base_url, venue_ids=tuple(self.venues["venue_id"].to_list()),
                            time_zone=cfg.time_zone, party_sizes=cfg.party_sizes, days_ahead=cfg.release_days_ahead,
                            release_hour=cfg.release_hour, min_request_interval_s=min_request_interval_s)

    def release_at(self, day: date) -> datetime:
        """UTC instant (naive) at which ``day`` becomes bookable (the same rule the poller is configured with)."""
        return self._rules.release_at(day)

    def slot_start(self, day: date, slot_time: str) -> datetime:
        hh, mm = (int(x) for x in slot_time.split(":"))
        return datetime.combine(day, time(hh, mm), tzinfo=self.tz).astimezone(UTC).replace(tzinfo=None)

    def released_days(self, at: datetime, window_days: int | None = None) -> list[date]:
        """Days a poller at naive-UTC ``at`` should poll: from today (local) through the newest released day."""
        return self._rules.released_days(at, window_days)

    def open_slots(self, venue_id: int, day: date, party_size: int, at: datetime) -> list[tuple[str, str]]:
        """(slot_time, seating) pairs open at naive-UTC ``at``: what the platform would list."""
        rows = self._index.get((venue_id, day, party_size), [])
        return sorted({(t, s) for o, c, t, s in rows if o <= at < c})


def generate_market(config: MarketConfig | None = None) -> Market:
    """Draw the venues and their true parameters (the same seed always gives the same market)."""
    config = config or MarketConfig()
    rng = np.random.default_rng(config.seed)
    n = config.venues
    hoods = [NEIGHBORHOODS[i % len(NEIGHBORHOODS)] for i in range(config.neighborhoods)]
    popularity = rng.uniform(0.0, 1.0, n)  # 1 = hardest table in town: short drops, fast sell-out
    lo, hi = config.prime_mean_range_s
    prime_mean = hi - (hi - lo) * popularity * rng.uniform(0.8, 1.0, n)
    lo2, hi2 = config.off_peak_mean_range_s
    off_mean = hi2 - (hi2 - lo2) * popularity * rng.uniform(0.8, 1.0, n)
    lo3, hi3 = config.sellout_mean_range_s
    sellout = hi3 - (hi3 - lo3) * popularity
    rate = rng.uniform(*config.cancel_rate_range, n)
    venues = pl.DataFrame({
        "venue_id": np.arange(1001, 1001 + n, dtype=np.int64),
        "name": [f"{NAME_A[i % 10]} {NAME_B[(i // 10 + i) % 10]}" + (f" {i // 100 + 2}" if i >= 100 else "")
                 for i in range(n)],
        "cuisine": [CUISINES[int(i)] for i in rng.integers(0, len(CUISINES), n)],
        "price_range": rng.integers(1, 5, n).astype(np.int64),
        "neighborhood": [hoods[i % len(hoods)] for i in range(n)],
        "time_zone": [config.time_zone] * n,
        "has_bar": rng.uniform(0, 1, n) < 0.4,
        "popularity": popularity.round(4),
        "cancel_rate_per_day": rate.round(3),
        "mean_duration_prime_s": prime_mean.round(1),
        "mean_duration_off_peak_s": off_mean.round(1),
        "sellout_mean_s": sellout.round(1),
    })
    return Market(config=config, venues=venues)


def _seatings(has_bar: bool) -> list[str]:
    return ["Dining Room", "Bar"] if has_bar else ["Dining Room"]


def simulate(market: Market, start: datetime, end: datetime) -> pl.DataFrame:
    """Draw every open interval of every slot between naive-UTC ``start`` and ``end``; stores and returns the truth.

    Days released before ``start`` begin fully booked. Columns: venue_id, slot_date, slot_time, seating, party_size,
    time_bucket, kind (``release`` | ``reopen``), open_at, close_at (naive UTC), end_reason (``booked`` | ``expired`` |
    ``horizon``), duration_s (close_at - open_at), drawn_duration_s (the exponential draw before truncation).
    """
    cfg = market.config
    rng = np.random.default_rng(cfg.seed + 1)
    tz = market.tz
    rows: list[tuple] = []
    open_by_slot: dict[tuple, list[tuple[datetime, datetime]]] = {}

    def add(vid: int, day: date, st: str, seat: str, ps: int, kind: str, o: datetime, d: float) -> None:
        start_at = market.slot_start(day, st)
        natural = o + timedelta(seconds=d)
        close, reason = natural, "booked"
        if start_at < close:
            close, reason = start_at, "expired"
        if end < close:
            close, reason = end, "horizon"
        if close <= o:
            return
        rows.append((vid, day, st, seat, ps, time_bucket(st), kind, o, close, reason, (close - o).total_seconds(), d))
        open_by_slot.setdefault((vid, day, st, seat, ps), []).append((o, close))

    first_day = start.replace(tzinfo=UTC).astimezone(tz).date()
    last_day = end.replace(tzinfo=UTC).astimezone(tz).date() + timedelta(days=cfg.release_days_ahead + 1)
    days = [first_day + timedelta(days=i) for i in range((last_day - first_day).days + 1)]
    venue_rows = list(market.venues.iter_rows(named=True))
    # Releases inside the horizon: every slot opens at release and sells after an exponential delay.
    for v in venue_rows:
        for day in days:
            rel = market.release_at(day)
            if not (start < rel < end):
                continue
            for st in SEATING_TIMES:
                for seat in _seatings(v["has_bar"]):
                    for ps in cfg.party_sizes:
                        add(v["venue_id"], day, st, seat, ps, "release", rel, float(rng.exponential(v["sellout_mean_s"])))
    # Cancellations: a Poisson count per venue and local hour, uniform times inside the hour.
    hours = int(math.ceil((end - start).total_seconds() / 3600))
    for v in venue_rows:
        seats = _seatings(v["has_bar"])
        for h in range(hours):
            h_start = start + timedelta(hours=h)
            local = h_start.replace(tzinfo=UTC).astimezone(tz)
            lam = v["cancel_rate_per_day"] / 24 * HOUR_PROFILE[local.hour] * WEEKDAY_FACTOR[local.weekday()]
            for offset in sorted(rng.uniform(0, 3600, rng.poisson(lam))):
                at = h_start + timedelta(seconds=float(offset))
                if at >= end:
                    continue
                today = at.replace(tzinfo=UTC).astimezone(tz).date()
                candidates = [d for d in days if d >= today and market.release_at(d) <= at]
                for _ in range(6):  # redraw if the drawn slot is not booked right now (open, or already seated)
                    day = candidates[int(rng.integers(0, len(candidates)))]
                    st = SEATING_TIMES[int(rng.integers(0, len(SEATING_TIMES)))]
                    seat = seats[int(rng.integers(0, len(seats)))]
                    ps = cfg.party_sizes[int(rng.integers(0, len(cfg.party_sizes)))]
                    if market.slot_start(day, st) <= at + timedelta(minutes=5):
                        continue
                    if any(o <= at < c for o, c in open_by_slot.get((v["venue_id"], day, st, seat, ps), [])):
                        continue
                    mean = v["mean_duration_prime_s"] if time_bucket(st) == "prime" else v["mean_duration_off_peak_s"]
                    add(v["venue_id"], day, st, seat, ps, "reopen", at, float(rng.exponential(mean)))
                    break
    truth = pl.DataFrame(
        rows,
        schema={"venue_id": pl.Int64, "slot_date": pl.Date, "slot_time": pl.String, "seating": pl.String,
                "party_size": pl.Int64, "time_bucket": pl.String, "kind": pl.String,
                "open_at": pl.Datetime("us"), "close_at": pl.Datetime("us"), "end_reason": pl.String,
                "duration_s": pl.Float64, "drawn_duration_s": pl.Float64},
        orient="row",
    ).sort("open_at", "venue_id", "slot_date", "slot_time", "seating", "party_size")
    market.truth = truth
    market.horizon = (start, end)
    market._index = {}
    for vid, day, st, seat, ps, _b, _k, o, c, *_rest in rows:
        market._index.setdefault((vid, day, ps), []).append((o, c, st, seat))
    return truth


def truth_parameters(market: Market) -> pl.DataFrame:
    """The generator's true per-venue parameters, for comparison with estimates (written out by the demo and tests)."""
    return market.venues.select(
        "venue_id", "name", "neighborhood", "price_range", "popularity", "cancel_rate_per_day",
        "mean_duration_prime_s", "mean_duration_off_peak_s", "sellout_mean_s",
    )


def expected_observed_mean(mean_s: float, interval_s: float) -> float:
    """Mean observed duration of exponential(mean) drops polled every ``interval_s`` with a random phase.

    A drop of length d covers on average d / interval poll instants, and is seen at all with probability
    min(d, interval) / interval; the observed duration is (polls that saw it) * interval. So
    E[observed | seen] = E[D] * interval / E[min(D, interval)], which for an exponential is
    interval / (1 - exp(-interval / mean)): the truth "adjusted for the poll interval".
    """
    return interval_s / (1.0 - math.exp(-interval_s / mean_s))


def poll_instants(start: datetime, end: datetime, interval_s: float) -> list[datetime]:
    """The poll grid: ``start``, ``start + interval`` ... strictly before ``end``."""
    n = int(math.ceil((end - start).total_seconds() / interval_s))
    return [start + timedelta(seconds=i * interval_s) for i in range(n)]


def first_poll_index(grid: list[datetime], at: datetime) -> int:
    """Index of the first poll instant at or after ``at`` (bisect; the grid is sorted)."""
    return bisect.bisect_left(grid, at)
