"""One simulated market served on loopback, and the portfolio configuration that points the poller at it.

The market is drawn and simulated once, for the whole span the poller will see, so every poll round asks the same
market (as a real platform would answer): the sandbox's clock, not a re-simulation, moves time forward.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hotel_pipeline.workshop.dining.market import Market, MarketConfig, generate_market, simulate
from hotel_pipeline.workshop.dining.sandbox import (
    API_KEY,
    LOGIN_EMAIL,
    LOGIN_PASSWORD,
    Faults,
    SandboxPlatform,
    SandboxServer,
)

#: What the sandbox accepts, as the environment variables of the ``dining`` resource (sandbox values, not secrets).
SANDBOX_CREDENTIALS_ENV = {"HOTEL_DINING_API_KEY": API_KEY, "HOTEL_DINING_EMAIL": LOGIN_EMAIL,
                           "HOTEL_DINING_PASSWORD": LOGIN_PASSWORD}


class SettableClock:
    """The platform's clock (naive UTC): tests and the demo move it between poll rounds."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@dataclass
class MarketSandbox:
    """A served market: its truth, the platform behind the URL and the platform's clock."""

    market: Market
    platform: SandboxPlatform
    url: str
    clock: SettableClock

    def dining_section(self, **overrides: Any) -> dict[str, Any]:
        """The portfolio's ``dining:`` mapping for polling every venue of this market here."""
        cfg = self.market.dining_config(self.url)
        section = {"provider": cfg.provider, "base_url": self.url, "time_zone": cfg.time_zone,
                   "venues": list(cfg.venue_ids), "party_sizes": list(cfg.party_sizes), "days_ahead": cfg.days_ahead,
                   "release_hour": cfg.release_hour, "poll_interval_s": 60, "min_request_interval_s": 0.0}
        return {**section, **overrides}


@contextmanager
def serve_market(start: datetime, end: datetime, config: MarketConfig | None = None, *, faults: Faults | None = None,
                 requests_per_second: float = 5000.0, burst: int = 5000) -> Iterator[MarketSandbox]:
    """Simulate ``config``'s market over naive-UTC [start, end) once and serve it; the clock starts at ``start``."""
    market = generate_market(config)
    simulate(market, start, end)
    clock = SettableClock(start)
    platform = SandboxPlatform(market, clock, faults=faults, requests_per_second=requests_per_second, burst=burst)
    with SandboxServer(platform) as url:
        yield MarketSandbox(market, platform, url, clock)
