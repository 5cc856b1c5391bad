"""Rates from Mews: ``rates/getPricing`` per configured rate, per room category, into ``channel_rates``.

For a hotel whose channel configuration says ``rates: mews``, each rate plan names its Mews ``RateId``
(``mews_rate_ids``); the category of each price is mapped to the room type by ``resourceCategories/getAll``
(``ShortNames``, as the reservation connector reads them). Mews prices day time units that start at midnight hotel
time; the interval asked is the channel horizon (Mews allows up to 367 days). The price pushed is ``GrossValue``
(what a guest pays on the OTA). Credentials come from the hotel's ``mews`` source (its ``*_env`` variables).
"""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta

import httpx
import polars as pl
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from hotel_pipeline.channel.config import HotelChannel
from hotel_pipeline.channel.inbox import upsert_rates
from hotel_pipeline.core.clock import local_instant
from hotel_pipeline.core.portfolio import Hotel
from hotel_pipeline.core.warehouse import Warehouse

API = "/api/connector/v1/"


class MewsPricingError(RuntimeError):
    """Mews refused the pricing request or answered something unreadable."""


class _Retry(Exception):
    pass


def _post(http: httpx.Client, url: str, body: dict) -> dict:
    for attempt in Retrying(stop=stop_after_attempt(6), wait=wait_random_exponential(multiplier=0.2, max=10),
                            retry=retry_if_exception_type(_Retry), reraise=True):
        with attempt:
            try:
                response = http.post(url, json=body)
            except httpx.TransportError as exc:
                raise _Retry(str(exc)) from exc
            if response.status_code in (408, 429) or response.status_code >= 500:
                raise _Retry(f"HTTP {response.status_code}")
            if response.status_code >= 400:
                raise MewsPricingError(f"mews {url.rsplit('/', 2)[-2]}: HTTP {response.status_code}")
            try:
                return response.json()
            except ValueError as exc:
                raise _Retry("unreadable body") from exc
    raise AssertionError("unreachable")  # pragma: no cover


def fetch_pricing(hotel: Hotel, channel: HotelChannel, start: date) -> pl.DataFrame:
    """(hotel_id, room_type, rate_plan, stay_date, price) for the horizon from ``start``."""
    source = hotel.source("mews")
    if source is None:
        raise MewsPricingError(f"{hotel.id}: rates: mews, but the hotel has no mews source")
    auth = {"ClientToken": os.environ.get(str(source.option("client_token_env")), ""),
            "AccessToken": os.environ.get(str(source.option("access_token_env")), ""),
            "Client": str(source.option("client", "hotel-pipeline 0.1"))}
    base = str(source.option("base_url")).rstrip("/") + API
    rows = []
    with httpx.Client(timeout=30) as http:
        # resourceCategories/getAll requires ServiceIds (Mews resourcecategories.md): the bookable services
        services = _post(http, base + "services/getAll", {**auth, "Limitation": {"Count": 1000}})
        service_ids = [v["Id"] for v in services.get("Services") or []
                       if (v.get("Data") or {}).get("Discriminator") == "Bookable"]
        categories: dict[str, str] = {}
        cursor = None
        while True:
            limitation = {"Count": 1000, **({"Cursor": cursor} if cursor else {})}
            data = _post(http, base + "resourceCategories/getAll", {**auth, "ServiceIds": service_ids,
                                                                   "Limitation": limitation})
            for c in data.get("ResourceCategories") or []:
                categories[c["Id"]] = next(iter((c.get("ShortNames") or {}).values()), None)
            cursor = data.get("Cursor")
            if not cursor or not data.get("ResourceCategories"):
                break
        first = local_instant(start, hotel.timezone, 0)
        last = local_instant(start + timedelta(days=channel.horizon_days - 1), hotel.timezone, 0)
        for plan, rate_id in channel.mews_rate_ids.items():
            data = _post(http, base + "rates/getPricing", {
                **auth, "RateId": rate_id, "FirstTimeUnitStartUtc": first.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "LastTimeUnitStartUtc": last.strftime("%Y-%m-%dT%H:%M:%S.000Z")})
            for cat in data.get("CategoryPrices") or []:
                room_type = categories.get(cat.get("CategoryId"))
                if room_type is None:
                    continue
                for i, amount in enumerate(cat.get("AmountPrices") or []):
                    value = (amount or {}).get("GrossValue")
                    if value is not None:
                        rows.append({"hotel_id": hotel.id, "room_type": room_type, "rate_plan": plan,
                                     "stay_date": start + timedelta(days=i), "price": float(value)})
    return pl.DataFrame(rows, schema={"hotel_id": pl.String, "room_type": pl.String, "rate_plan": pl.String,
                                      "stay_date": pl.Date, "price": pl.Float64})


def import_mews_rates(warehouse: Warehouse, hotel: Hotel, channel: HotelChannel, start: date,
                      updated_at: datetime) -> int:
    """Fetch the horizon's prices and upsert them into ``channel_rates`` (origin ``mews``); nights written."""
    frame = fetch_pricing(hotel, channel, start)
    with warehouse.transaction() as tx:
        return upsert_rates(tx, frame, "mews", updated_at)
