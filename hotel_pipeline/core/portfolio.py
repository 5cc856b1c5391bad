"""The portfolio: which hotels the pipeline runs for, and where each hotel's data comes from.

Loaded from the YAML named by ``HOTEL_PIPELINE_CONFIG``. Hotels become the ``hotels`` dynamic partition set in Dagster.
Credentials never appear here: a source names the *environment variables* that hold them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from hotel_pipeline.core import settings
from hotel_pipeline.core.horizons import DEFAULT_HISTORY_START

#: What a residents list shows of a guest's name: nothing ("Guest, room 101"), initials, the surname, or the full name.
GUEST_DISPLAY_POLICIES = ("none", "initials", "surname", "full")


class PortfolioError(ValueError):
    """The portfolio file is missing or says something the pipeline cannot run with."""


@dataclass(frozen=True)
class Source:
    """One way a hotel's reservations reach the pipeline (``csv`` exports, or a PMS API such as ``mews``)."""

    type: str
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.options.get("name", self.type))

    def option(self, key: str, default: Any = None) -> Any:
        return self.options.get(key, default)


#: The recorder's choices for a partial sync (see ``Hotel.partial_sync``).
PARTIAL_SYNC_POLICIES = ("skip", "record")


@dataclass(frozen=True)
class Hotel:
    id: str
    name: str
    timezone: str
    currency: str
    capacity: int
    sources: tuple[Source, ...] = ()
    #: How old the latest successful sync may be (hours) for the 03:00 recorder to trust it.
    sync_max_age_hours: float = 30.0
    #: How much of a guest's name a produced residents list may show (see GUEST_DISPLAY_POLICIES).
    guest_display: str = "none"
    #: Days after departure that room-level detail (room nights, restaurant bookings, names) is kept.
    retention_days: int = 90
    #: What the 03:00 recorder does when a source's latest sync is ``partial`` (records quarantined, the rest
    #: loaded): ``skip`` (default: no snapshot, logged with the count) or ``record`` (photograph it anyway).
    partial_sync: str = "skip"
    #: First business date of the hotel's history: where full extracts start and the historian may go back to.
    history_start: date = DEFAULT_HISTORY_START

    def source(self, source_type: str) -> Source | None:
        return next((s for s in self.sources if s.type == source_type), None)


@dataclass(frozen=True)
class ImportLimits:
    """What an imported row or file may look like before it is committed (``import_limits:`` in the portfolio YAML).

    Every row outside these bounds goes to the quarantine with the bound it broke; nothing outside them ever reaches
    the unified model, so one absurd row cannot make a later model or contract fail for every hotel. The defaults
    hold every booking of the bundled data set with room to spare; tighten them per deployment.
    """

    #: dates of a booking (booked, arrival, departure, cancelled, checked out) within
    #: [business date - past_days, business date + future_days]
    past_days: int = 3650
    future_days: int = 1100
    max_nights: int = 365
    #: adults + children + babies of one booking
    max_guests: int = 100
    #: net revenue per night, in the hotel's currency (negative: refunds and corrections exist)
    min_nightly_rate: float = -10_000.0
    max_nightly_rate: float = 100_000.0
    #: a file's size after decompression (a gzip bomb stops here)
    max_file_bytes: int = 512 * 1024 * 1024
    #: an inbox file is read only once its size and modification time have not changed for this long
    file_stable_seconds: float = 30.0
    #: imports of a file that failed (crashed, not rejected) are retried on the next sensor ticks up to this many times
    max_attempts: int = 3

    @classmethod
    def parse(cls, raw: dict[str, Any] | None, where: str) -> ImportLimits:
        raw = dict(raw or {})
        known = {f for f in cls.__dataclass_fields__}
        if unknown := sorted(set(raw) - known):
            raise PortfolioError(f"{where}: import_limits has unknown keys {unknown}; known: {sorted(known)}")
        try:
            limits = cls(**{k: type(getattr(cls(), k))(v) for k, v in raw.items()})
        except (TypeError, ValueError) as exc:
            raise PortfolioError(f"{where}: import_limits: {exc}") from exc
        if min(limits.past_days, limits.future_days, limits.max_nights, limits.max_guests, limits.max_file_bytes,
               limits.max_attempts) <= 0 or limits.min_nightly_rate > limits.max_nightly_rate:
            raise PortfolioError(f"{where}: import_limits must be positive (and min_nightly_rate <= max_nightly_rate)")
        return limits


@dataclass(frozen=True)
class Portfolio:
    hotels: tuple[Hotel, ...]
    path: Path | None = None
    #: Column mappings of legacy CSV layouts by name (``csv_mappings:`` in the YAML); see defs/sources/csv.
    csv_mappings: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The whole parsed YAML mapping: domains read their own sections from it (e.g. ``dining:``).
    document: dict[str, Any] = field(default_factory=dict, compare=False)
    #: Plausibility bounds of imported rows and files (``import_limits:`` in the YAML).
    import_limits: ImportLimits = field(default_factory=ImportLimits)

    def hotel(self, hotel_id: str) -> Hotel:
        for hotel in self.hotels:
            if hotel.id == hotel_id:
                return hotel
        raise KeyError(f"hotel {hotel_id!r} is not in the portfolio {self.path}")

    @property
    def hotel_ids(self) -> list[str]:
        return [h.id for h in self.hotels]

    @property
    def timezones(self) -> list[str]:
        return sorted({h.timezone for h in self.hotels})

    @property
    def history_start(self) -> date:
        """The earliest history start of its hotels (the first snapshot date partition)."""
        return min(h.history_start for h in self.hotels)


def _date(value: Any, what: str, where: str) -> date:
    try:
        return value if isinstance(value, date) else date.fromisoformat(str(value))
    except ValueError as exc:
        raise PortfolioError(f"{where}: {what} must be a date (YYYY-MM-DD), got {value!r}") from exc


def _hotel(raw: dict[str, Any], where: str, history_start: date = DEFAULT_HISTORY_START) -> Hotel:
    missing = [k for k in ("id", "name", "timezone", "currency", "capacity") if k not in raw]
    if missing:
        raise PortfolioError(f"{where}: hotel is missing {', '.join(missing)}")
    try:
        ZoneInfo(str(raw["timezone"]))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise PortfolioError(f"{where}: {raw['timezone']!r} is not an IANA time zone") from exc
    capacity = int(raw["capacity"])
    if capacity <= 0:
        raise PortfolioError(f"{where}: capacity must be a positive number of rooms")
    guest_display = str(raw.get("guest_display", "none"))
    if guest_display not in GUEST_DISPLAY_POLICIES:
        raise PortfolioError(f"{where}: guest_display must be one of {', '.join(GUEST_DISPLAY_POLICIES)}")
    retention_days = int(raw.get("retention_days", 90))
    if retention_days < 0:
        raise PortfolioError(f"{where}: retention_days must be zero or more")
    partial = str(raw.get("partial_sync", "skip"))
    if partial not in PARTIAL_SYNC_POLICIES:
        raise PortfolioError(f"{where}: partial_sync must be one of {', '.join(PARTIAL_SYNC_POLICIES)}, got {partial!r}")
    sources = []
    for s in raw.get("sources") or []:
        if "type" not in s:
            raise PortfolioError(f"{where}: every source needs a type")
        sources.append(Source(type=str(s["type"]), options={k: v for k, v in s.items() if k != "type"}))
    return Hotel(
        id=str(raw["id"]),
        name=str(raw["name"]),
        timezone=str(raw["timezone"]),
        currency=str(raw["currency"]),
        capacity=capacity,
        sources=tuple(sources),
        sync_max_age_hours=float(raw.get("sync_max_age_hours", 30.0)),
        guest_display=guest_display,
        retention_days=retention_days,
        partial_sync=partial,
        history_start=_date(raw.get("history_start", history_start), "history_start", where),
    )


def parse_portfolio(data: dict[str, Any], path: Path | None = None) -> Portfolio:
    where = str(path or "portfolio")
    default_start = _date(data.get("history_start", DEFAULT_HISTORY_START), "history_start", where)
    hotels = tuple(_hotel(h, f"{where} hotel #{i + 1}", default_start) for i, h in enumerate(data.get("hotels") or []))
    if not hotels:
        raise PortfolioError(f"{where}: no hotels")
    ids = [h.id for h in hotels]
    if len(set(ids)) != len(ids):
        raise PortfolioError(f"{where}: hotel ids must be unique, got {ids}")
    return Portfolio(hotels=hotels, path=path, csv_mappings=dict(data.get("csv_mappings") or {}), document=dict(data),
                     import_limits=ImportLimits.parse(data.get("import_limits"), where))


def load_portfolio(path: Path | None = None) -> Portfolio:
    """Read and validate the portfolio YAML (default: ``HOTEL_PIPELINE_CONFIG``)."""
    path = path or settings.portfolio_path()
    if not path.exists():
        raise PortfolioError(f"portfolio file {path} does not exist (set HOTEL_PIPELINE_CONFIG)")
    return parse_portfolio(yaml.safe_load(path.read_text(encoding="utf-8")) or {}, path)


@cache
def current_portfolio() -> Portfolio:
    """The portfolio of this process, read once (definitions are built from it at load time)."""
    return load_portfolio()
