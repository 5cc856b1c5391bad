"""The channel configuration: which hotels push to Beds24, and how their room types and rate plans map onto it.

Read from the YAML named by ``HOTEL_CHANNEL_CONFIG`` (default ``data/channel.yaml``); a hotel absent from it pushes
nothing. Per hotel: the Beds24 account (base URL, the environment variable holding the refresh token), each PMS room
type's Beds24 ``roomId`` (and, optionally, its number of units when no ``rooms`` table lists them), each rate plan's
price slot (``price1`` .. ``price16``), the rate plan whose minimum stay becomes the room's ``minStay``, and where the
rates come from (``table``: the ``channel_rates`` table fed by the rates CSV inbox; ``mews``: Mews
``rates/getPricing``). Secrets never appear in the file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hotel_pipeline.core import settings
from hotel_pipeline.core.portfolio import Portfolio

PRICE_SLOTS = tuple(f"price{i}" for i in range(1, 17))
SLOT = re.compile(r"^price([1-9]|1[0-6])$")


class ChannelConfigError(ValueError):
    """The channel configuration is unreadable or contradicts itself."""


@dataclass(frozen=True)
class RoomMapping:
    room_type: str
    room_id: int
    #: Units of the type when no ``rooms`` table lists its rooms (None = take them from ``rooms``).
    units: int | None = None


@dataclass(frozen=True)
class HotelChannel:
    hotel_id: str
    base_url: str
    refresh_token_env: str
    room_types: dict[str, RoomMapping] = field(default_factory=dict)
    #: rate plan -> price slot (price1 .. price16)
    rate_plans: dict[str, str] = field(default_factory=dict)
    #: the rate plan whose min_stay is the room's minStay (default: the one in price1)
    min_stay_rate_plan: str | None = None
    #: ``table`` (channel_rates) or ``mews`` (rates/getPricing of the hotel's Mews source)
    rates: str = "table"
    #: rate plan -> Mews RateId (for ``rates: mews``)
    mews_rate_ids: dict[str, str] = field(default_factory=dict)
    horizon_days: int = 365
    #: bookings per POST /bookings and rooms per POST /inventory/rooms/calendar
    batch_size: int = 500

    def refresh_token(self) -> str:
        token = os.environ.get(self.refresh_token_env)
        if not token:
            raise ChannelConfigError(f"{self.hotel_id}: environment variable {self.refresh_token_env} is not set")
        return token

    def room_id(self, room_type: str | None) -> int | None:
        mapping = self.room_types.get(room_type or "")
        return mapping.room_id if mapping else None

    @property
    def base_plan(self) -> str | None:
        return self.min_stay_rate_plan or next((p for p, s in self.rate_plans.items() if s == "price1"), None)


@dataclass(frozen=True)
class ChannelConfig:
    hotels: dict[str, HotelChannel]
    path: Path | None = None

    def hotel(self, hotel_id: str) -> HotelChannel | None:
        return self.hotels.get(hotel_id)


def _hotel(hotel_id: str, raw: dict[str, Any], where: str) -> HotelChannel:
    beds24 = raw.get("beds24") or {}
    for key in ("base_url", "refresh_token_env"):
        if not beds24.get(key):
            raise ChannelConfigError(f"{where}: beds24.{key} is required")
    rooms: dict[str, RoomMapping] = {}
    for room_type, value in (raw.get("room_types") or {}).items():
        value = value if isinstance(value, dict) else {"room_id": value}
        if "room_id" not in value:
            raise ChannelConfigError(f"{where}: room type {room_type!r} needs a room_id")
        units = value.get("units")
        rooms[str(room_type)] = RoomMapping(str(room_type), int(value["room_id"]), int(units) if units else None)
    ids = [m.room_id for m in rooms.values()]
    if len(set(ids)) != len(ids):
        raise ChannelConfigError(f"{where}: two room types map to the same Beds24 roomId ({sorted(ids)})")
    plans = {str(p): str(s) for p, s in (raw.get("rate_plans") or {}).items()}
    bad = [s for s in plans.values() if not SLOT.match(s)]
    if bad:
        raise ChannelConfigError(f"{where}: {bad} are not Beds24 price slots; use price1 .. price16")
    if len(set(plans.values())) != len(plans):
        raise ChannelConfigError(f"{where}: two rate plans share a price slot ({plans})")
    min_plan = raw.get("min_stay_rate_plan")
    if min_plan is not None and str(min_plan) not in plans:
        raise ChannelConfigError(f"{where}: min_stay_rate_plan {min_plan!r} is not a mapped rate plan")
    rates = str(raw.get("rates", "table"))
    if rates not in ("table", "mews"):
        raise ChannelConfigError(f"{where}: rates must be 'table' or 'mews', got {rates!r}")
    unknown = sorted(set(raw.get("mews_rate_ids") or {}) - set(plans))
    if unknown:
        raise ChannelConfigError(f"{where}: mews_rate_ids names rate plans without a price slot: {unknown}")
    return HotelChannel(
        hotel_id=hotel_id, base_url=str(beds24["base_url"]).rstrip("/"),
        refresh_token_env=str(beds24["refresh_token_env"]), room_types=rooms, rate_plans=plans,
        min_stay_rate_plan=str(min_plan) if min_plan is not None else None, rates=rates,
        mews_rate_ids={str(p): str(i) for p, i in (raw.get("mews_rate_ids") or {}).items()},
        horizon_days=int(raw.get("horizon_days", 365)), batch_size=int(raw.get("batch_size", 500)),
    )


def parse_channel_config(data: dict[str, Any], path: Path | None = None) -> ChannelConfig:
    where = str(path or "channel configuration")
    hotels = {str(h): _hotel(str(h), raw or {}, f"{where} hotel {h}") for h, raw in (data.get("hotels") or {}).items()}
    return ChannelConfig(hotels=hotels, path=path)


def channel_config_path() -> Path:
    text = os.environ.get("HOTEL_CHANNEL_CONFIG", "data/channel.yaml")
    p = Path(text)
    return p if p.is_absolute() else settings.REPO_ROOT / p


def load_channel_config(path: Path | None = None) -> ChannelConfig:
    """The channel configuration; an absent file means no hotel pushes to a channel."""
    path = path or channel_config_path()
    if not path.exists():
        return ChannelConfig(hotels={}, path=path)
    return parse_channel_config(yaml.safe_load(path.read_text(encoding="utf-8")) or {}, path)


def channel_hotels(portfolio: Portfolio, config: ChannelConfig | None = None) -> list[tuple[HotelChannel, str]]:
    """(channel configuration, time zone) of every portfolio hotel that pushes to Beds24."""
    config = config or load_channel_config()
    return [(c, portfolio.hotel(h).timezone) for h, c in config.hotels.items() if h in portfolio.hotel_ids]
