"""What the restaurant poller polls: the ``dining:`` section of the portfolio YAML.

Production polls only the venues named here, on the platform named here; nothing is simulated. The loopback sandbox
(``hotel_pipeline.workshop.dining``) serves a market whose configuration, pointed at the sandbox, is one of these.

```yaml
dining:
  provider: resy
  base_url: https://api.resy.com
  time_zone: America/New_York     # the market's local zone: "today" and release times
  venues: [1001, 1002]            # the platform's venue ids
  party_sizes: [2, 4]
  days_ahead: 14                  # days are bookable this many days ahead ...
  release_hour: 9                 # ... from this local hour (0 = midnight)
  poll_interval_s: 60             # one round (every venue x released day x party size) per interval
  min_request_interval_s: 2.0     # request budget per credential: at most one request per this many seconds
```
Credentials are never written here: they reach the ``dining`` resource from environment variables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hotel_pipeline.core.portfolio import Portfolio, PortfolioError

#: The one platform the client speaks today (Resy's ``/4/find``).
PROVIDER = "resy"
PROVIDERS = (PROVIDER,)


def time_bucket(slot_time: str) -> str:
    """``prime`` for seatings from 19:00 to 21:00 local inclusive, else ``off_peak``."""
    return "prime" if "19:00" <= slot_time <= "21:00" else "off_peak"


@dataclass(frozen=True)
class DiningConfig:
    """The venues to poll and how (see the module docstring for the YAML)."""

    base_url: str
    venue_ids: tuple[int, ...]
    provider: str = PROVIDER
    time_zone: str = "UTC"
    party_sizes: tuple[int, ...] = (2,)
    days_ahead: int = 14
    release_hour: int = 0
    poll_interval_s: float = 60.0
    min_request_interval_s: float = 2.0

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def release_at(self, day: date) -> datetime:
        """Naive-UTC instant at which ``day`` becomes bookable (``days_ahead`` before, at ``release_hour`` local)."""
        local = datetime.combine(day - timedelta(days=self.days_ahead), time(self.release_hour), tzinfo=self.tz)
        return local.astimezone(UTC).replace(tzinfo=None)

    def released_days(self, at: datetime, window_days: int | None = None) -> list[date]:
        """Days a round at naive-UTC ``at`` polls: from today (local) through the newest released day.

        A day not yet released is not polled: its empty answer would make its release look like a burst of drops.
        """
        window = self.days_ahead if window_days is None else window_days
        today = at.replace(tzinfo=UTC).astimezone(self.tz).date()
        days = (today + timedelta(days=i) for i in range(window + 1))
        return [d for d in days if self.release_at(d) <= at]


def _ints(value: Any, what: str, where: str) -> tuple[int, ...]:
    try:
        out = tuple(int(v) for v in (value or []))
    except (TypeError, ValueError) as exc:
        raise PortfolioError(f"{where}: {what} must be a list of integers") from exc
    if not out:
        raise PortfolioError(f"{where}: {what} must name at least one")
    return out


def parse_dining(raw: dict[str, Any], where: str = "dining") -> DiningConfig:
    """Validate a ``dining:`` mapping; every mistake names the field."""
    if not raw.get("base_url"):
        raise PortfolioError(f"{where}: base_url is required")
    provider = str(raw.get("provider", PROVIDER))
    if provider not in PROVIDERS:
        raise PortfolioError(f"{where}: provider {provider!r} is not one of {', '.join(PROVIDERS)}")
    zone = str(raw.get("time_zone", "UTC"))
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise PortfolioError(f"{where}: {zone!r} is not an IANA time zone") from exc
    config = DiningConfig(
        base_url=str(raw["base_url"]).rstrip("/"),
        venue_ids=_ints(raw.get("venues"), "venues", where),
        provider=provider,
        time_zone=zone,
        party_sizes=_ints(raw.get("party_sizes", [2]), "party_sizes", where),
        days_ahead=int(raw.get("days_ahead", 14)),
        release_hour=int(raw.get("release_hour", 0)),
        poll_interval_s=float(raw.get("poll_interval_s", 60.0)),
        min_request_interval_s=float(raw.get("min_request_interval_s", 2.0)),
    )
    if config.days_ahead < 0 or not 0 <= config.release_hour <= 23 or config.poll_interval_s <= 0:
        raise PortfolioError(f"{where}: days_ahead >= 0, release_hour 0..23 and poll_interval_s > 0 please")
    return config


def dining_config(portfolio: Portfolio) -> DiningConfig | None:
    """The portfolio's dining configuration, or None when it polls no restaurants."""
    raw = portfolio.document.get("dining")
    return parse_dining(raw, f"{portfolio.path or 'portfolio'} dining") if raw else None
