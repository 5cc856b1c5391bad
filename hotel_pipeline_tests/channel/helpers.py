"""Shared wiring of the channel tests: a warehouse seeded with rooms and reservations, a write-side sandbox."""

from __future__ import annotations

import os
import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl

from hotel_pipeline.channel.config import HotelChannel, RoomMapping
from hotel_pipeline.core.sql_models import run_model
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.sources.pms.tables import ROOMS
from hotel_pipeline.unified import accept_reservations
from hotel_pipeline.workshop.sandbox.channel.beds24_push import Account, Beds24PushHandler, PushSandbox
from hotel_pipeline.workshop.sandbox.pms.faults import Faults

AS_OF = date(2016, 7, 31)
NOW = datetime(2016, 7, 31, 2, 0, tzinfo=UTC)
ROOM_IDS = {"A": 500001, "B": 500002, "C": 500003}
UNITS = {"A": 3, "B": 2, "C": 2}


def hotel_channel(base_url: str = "http://127.0.0.1:9/beds24", *, horizon_days: int = 30, batch_size: int = 100,
                  types: dict[str, int] | None = None) -> HotelChannel:
    env = "HOTEL_TEST_BEDS24_REFRESH_H1"
    os.environ.setdefault(env, "ref-" + secrets.token_hex(8))
    return HotelChannel(
        hotel_id="H1", base_url=base_url, refresh_token_env=env,
        room_types={t: RoomMapping(t, i) for t, i in (types or ROOM_IDS).items()},
        rate_plans={"BAR": "price1", "NRF": "price2"}, horizon_days=horizon_days, batch_size=batch_size,
    )


def seed_rooms(warehouse: Warehouse, units: dict[str, int] | None = None) -> None:
    rows = [{"hotel_id": "H1", "source": "mews", "external_id": f"{t}{n}", "room_number": f"{t}{100 + n}",
             "room_type": t, "synced_at": NOW.replace(tzinfo=None), "batch_id": "seed"}
            for t, k in (units or UNITS).items() for n in range(1, k + 1)]
    with warehouse.transaction() as tx:
        tx.ensure_table(ROOMS)
        tx.insert_frame("rooms", ROOMS.conform(pl.DataFrame(rows)))


def reservation(external_id: str, room_type: str, arrival: date, nights: int, *, status: str = "confirmed",
                source: str = "mews", adults: int = 2, net: float = 200.0) -> dict[str, Any]:
    return {"hotel_id": "H1", "source": source, "external_id": external_id, "status": status,
            "booked_on": AS_OF - timedelta(days=10), "cancelled_on": AS_OF if status == "cancelled" else None,
            "arrival_date": arrival, "departure_date": arrival + timedelta(days=nights), "nights": nights,
            "room_type": room_type, "adults": adults, "children": 0, "babies": 0, "meal_plan": "BB",
            "is_dbb": False, "is_package": False, "net_amount": net, "currency": "EUR", "channel": "Direct"}


def land(warehouse: Warehouse, rows: list[dict[str, Any]], at: datetime = NOW) -> None:
    """Accept reservation records through the unified write path and rebuild ``reservations``."""
    with warehouse.transaction() as tx:
        if rows:
            accept_reservations(tx, pl.DataFrame(rows, infer_schema_length=None), source_as_of=at.replace(
                tzinfo=None), synced_at=at.replace(tzinfo=None), batch_id=f"b{at.timestamp()}")
        run_model(tx, "reservations")


def write_side(hotel: HotelChannel, faults: Faults | None = None, **kwargs: Any) -> PushSandbox:
    account = Account(refresh_token=os.environ[hotel.refresh_token_env],
                      rooms={m.room_id: UNITS.get(t, 5) for t, m in hotel.room_types.items()})
    return PushSandbox(Beds24PushHandler({"H1": account}, faults, **kwargs))
