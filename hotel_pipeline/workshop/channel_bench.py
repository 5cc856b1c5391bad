"""``make bench``, channel section: one hotel with 10 room types over 365 nights pushed to the Beds24 sandbox.

Measured: the first full push (every night of every room) and a day's incremental push (30 new bookings, 8
cancellations, 5 modifications, 2 blocks), each as requests and credits used against the minimum, and the time the
credits take at Beds24's documented budget (100 credits per 5 minutes per account). The minimum is one calendar
request for all rooms (Beds24 takes up to 10,000 items per request) plus one booking request per 500 bookings, each
costing what the sandbox charges for its items (1 credit, plus 1 per 100 items beyond the first 100), plus the one
token request a fresh client makes.
"""

from __future__ import annotations

import math
import os
import random
import secrets
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl

from hotel_pipeline.channel.client import Beds24Client
from hotel_pipeline.channel.config import HotelChannel, RoomMapping
from hotel_pipeline.channel.drain import drain_hotel
from hotel_pipeline.channel.inbox import upsert_blocks, upsert_rates
from hotel_pipeline.channel.push import plan_hotel
from hotel_pipeline.core.sql_models import run_model
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.sources.pms.tables import ROOMS
from hotel_pipeline.unified import accept_reservations
from hotel_pipeline.workshop.bench import Figure, verdict
from hotel_pipeline.workshop.sandbox.channel.beds24_push import (
    DOCUMENTED_CREDITS,
    DOCUMENTED_WINDOW_SECONDS,
    Account,
    Beds24PushHandler,
    PushSandbox,
)

SECTION = "8 channel"
AS_OF = date(2016, 7, 31)
NOW = datetime(2016, 7, 31, 2, tzinfo=UTC)
TYPES = [f"T{i}" for i in range(10)]
UNITS = 20


def _cost(items: int) -> int:
    return 1 + max(0, math.ceil(items / 100) - 1)


def _seed(wh: Warehouse, rng: random.Random, n: int, start_id: int = 1) -> list[dict]:
    rows = []
    for i in range(start_id, start_id + n):
        nights = rng.randrange(1, 6)
        arrival = AS_OF + timedelta(days=rng.randrange(0, 360))
        rows.append({"hotel_id": "H9", "source": "mews", "external_id": str(i), "status": "confirmed",
                     "booked_on": AS_OF, "arrival_date": arrival, "departure_date": arrival + timedelta(days=nights),
                     "nights": nights, "room_type": rng.choice(TYPES), "adults": 2, "children": 0, "babies": 0,
                     "meal_plan": "RO", "is_dbb": False, "is_package": False, "net_amount": 100.0 * nights,
                     "currency": "EUR", "channel": "Direct"})
    return rows


def _land(wh: Warehouse, rows: list[dict], at: datetime) -> None:
    with wh.transaction() as tx:
        accept_reservations(tx, pl.DataFrame(rows, infer_schema_length=None), source_as_of=at.replace(tzinfo=None),
                            synced_at=at.replace(tzinfo=None), batch_id=str(at.timestamp()))
        run_model(tx, "reservations")


def _push(wh: Warehouse, hotel: HotelChannel, sandbox: PushSandbox, at: datetime) -> dict:
    started = time.perf_counter()
    plan = plan_hotel(wh, hotel, AS_OF, at)
    with Beds24Client(sandbox.base_url, hotel.refresh_token()) as client:
        drain_hotel(wh, hotel, lambda: at, client)
        stats = client.stats
    calendar_items = plan.calendar.entries
    bookings = plan.bookings.creates + plan.bookings.updates + plan.bookings.cancels
    # one token request (a fresh client), one calendar request for every room, one booking request per 500
    minimum_requests = 1 + (1 if calendar_items else 0) + math.ceil(bookings / 500)
    minimum_credits = 1 + (_cost(calendar_items) if calendar_items else 0) + sum(
        _cost(min(500, bookings - i)) for i in range(0, bookings, 500))
    requests = stats.requests
    return {"nights": plan.calendar.nights, "entries": calendar_items, "bookings": bookings, "requests": requests,
            "credits": stats.credits, "min_requests": minimum_requests, "min_credits": minimum_credits,
            "seconds": time.perf_counter() - started}


def _figures(label: str, r: dict) -> list[Figure]:
    windows = max(0, math.ceil(r["credits"] / DOCUMENTED_CREDITS) - 1)
    at_budget = windows * DOCUMENTED_WINDOW_SECONDS + r["seconds"]
    detail = f"{r['nights']} room-nights changed -> {r['entries']} from/to entries, {r['bookings']} bookings"
    return [
        Figure(SECTION, f"{label}: requests ({detail})", r["requests"], "", f"minimum {r['min_requests']}",
               verdict(r["requests"], r["min_requests"] + 0.5)),
        Figure(SECTION, f"{label}: credits", r["credits"], "", f"minimum {r['min_credits']}",
               verdict(r["credits"], r["min_credits"] + 0.5)),
        Figure(SECTION, f"{label}: time at the documented budget (100 credits / 5 min)", at_budget, "s",
               note=f"{windows} budget waits of 5 min + {r['seconds']:.1f} s of work"),
    ]


def run_channel_bench() -> list[Figure]:
    """The channel figures (DuckDB warehouse, loopback sandbox)."""
    env = "HOTEL_BENCH_BEDS24_REFRESH_H9"
    os.environ.setdefault(env, secrets.token_hex(12))
    hotel = HotelChannel(hotel_id="H9", base_url="", refresh_token_env=env,
                         room_types={t: RoomMapping(t, 700000 + i) for i, t in enumerate(TYPES)},
                         rate_plans={"BAR": "price1", "NRF": "price2"}, min_stay_rate_plan="BAR")
    rng = random.Random(9)
    with tempfile.TemporaryDirectory(prefix="channel-bench-") as tmp:
        wh = Warehouse(url=f"duckdb:///{Path(tmp) / 'w.duckdb'}")
        with wh.transaction() as tx:
            tx.ensure_table(ROOMS)
            tx.insert_frame("rooms", ROOMS.conform(pl.DataFrame(
                [{"hotel_id": "H9", "source": "mews", "external_id": f"{t}-{n}", "room_number": f"{t}-{n}",
                  "room_type": t, "batch_id": "bench"} for t in TYPES for n in range(UNITS)])))
            nights = [AS_OF + timedelta(days=i) for i in range(365)]
            rates = pl.DataFrame([{"hotel_id": "H9", "room_type": t, "rate_plan": p, "stay_date": d,
                                   "price": (90 + 10 * k) * (1.3 if d.weekday() in (4, 5) else 1.0) * (
                                       0.85 if p == "NRF" else 1.0),
                                   "min_stay": 2 if d.weekday() == 5 else 1}
                                  for k, t in enumerate(TYPES) for p in ("BAR", "NRF") for d in nights])
            upsert_rates(tx, rates, "bench", NOW.replace(tzinfo=None))
        history = _seed(wh, rng, 3000)
        _land(wh, history, NOW)
        account = Account(refresh_token=os.environ[env], rooms={m.room_id: UNITS for m in hotel.room_types.values()})
        # The sandbox's budget is lifted so the bench measures work; the documented budget is applied in the figures.
        with PushSandbox(Beds24PushHandler({"H9": account}, credits=10**9)) as sandbox:
            hotel = HotelChannel(**{**hotel.__dict__, "base_url": sandbox.base_url})
            full = _push(wh, hotel, sandbox, NOW)
            later = NOW + timedelta(hours=24)
            for r in rng.sample(history, 8):
                r.update(status="cancelled", cancelled_on=AS_OF)
            for r in rng.sample([h for h in history if h["status"] == "confirmed"], 5):
                r.update(nights=r["nights"] + 1, departure_date=r["departure_date"] + timedelta(days=1))
            _land(wh, history + _seed(wh, rng, 30, start_id=10_000), later)
            with wh.transaction() as tx:
                upsert_blocks(tx, [{"block_id": f"b{i}", "hotel_id": "H9", "room_number": f"T{i}-0", "room_type":
                                    f"T{i}", "from_date": AS_OF + timedelta(days=10 * i), "to_date": AS_OF + timedelta(
                                        days=10 * i + 3), "reason": "maintenance", "active": True, "origin": "bench"}
                                   for i in range(2)], later.replace(tzinfo=None))
            day = _push(wh, hotel, sandbox, later)
            assert not sandbox.handler.violations, sandbox.handler.violations[:3]
    return _figures("full push, 10 room types x 365 nights", full) + _figures("one day's incremental push", day)


if __name__ == "__main__":
    for f in run_channel_bench():
        print(f.section, f.name, f.shown(), f.target, f.verdict, f.note)
