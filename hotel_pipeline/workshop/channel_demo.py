"""The channel part of ``make demo``: push H1's calendar and reservations to the Beds24 sandbox.

What it does, with the same library code the channel assets and the drain job run: start the Beds24 write-side
sandbox (and a Mews sandbox for H1's prices, since H1 is a Mews hotel: ``rates/getPricing``), map H1's room types
and two rate plans onto Beds24, compute ``channel_availability`` from the warehouse the pacing demo left, queue the
changes in ``channel_outbox``, drain it within the credit budget, read Beds24 back
(``channel_drift``), and check that the outbox is fully acknowledged.
"""

from __future__ import annotations

import os
import secrets
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml

from hotel_pipeline.channel import outbox
from hotel_pipeline.channel.client import Beds24Client
from hotel_pipeline.channel.config import load_channel_config
from hotel_pipeline.channel.drain import drain_hotel
from hotel_pipeline.channel.mews_rates import import_mews_rates
from hotel_pipeline.channel.push import plan_hotel
from hotel_pipeline.channel.reconcile import reconcile_hotel
from hotel_pipeline.core.clock import local_instant
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.workshop.sandbox.channel.beds24_push import Account, Beds24PushHandler, PushSandbox
from hotel_pipeline.workshop.sandbox.pms.harness import running_sandbox
from hotel_pipeline.workshop.sandbox.pms.world import World

HOTEL = "H1"
AS_OF = date(2016, 7, 31)
TIMEZONE = "Europe/Lisbon"
#: H1's room types (the data set's Resort Hotel) -> Beds24 roomId; units are used only without a rooms table.
ROOM_TYPES = {t: 611000 + i for i, t in enumerate("ABCDEFGHILP")}
UNITS = {"A": 90, "B": 2, "C": 10, "D": 50, "E": 30, "F": 15, "G": 20, "H": 8, "I": 10, "L": 1, "P": 1}
RATE_PLANS = {"BAR": "price1", "NRF": "price2"}
UPGRADED_CREDITS = 200


@dataclass
class ChannelDemoResult:
    calendar_nights: int
    bookings: int
    requests: int
    credits: int
    outbox: dict[str, int]
    drift: int
    seconds: float


def write_config(path: Path, base_url: str, token_env: str) -> Path:
    path.write_text(yaml.safe_dump({"hotels": {HOTEL: {
        "beds24": {"base_url": base_url, "refresh_token_env": token_env},
        "rates": "mews",
        "mews_rate_ids": {"BAR": "demo-rate-bar", "NRF": "demo-rate-nrf"},
        "room_types": {t: {"room_id": i, "units": UNITS[t]} for t, i in ROOM_TYPES.items()},
        "rate_plans": RATE_PLANS, "min_stay_rate_plan": "BAR",
    }}}, sort_keys=False), encoding="utf-8")
    return path


def run_channel_demo(warehouse: Warehouse, as_of: date = AS_OF) -> ChannelDemoResult:
    """Push H1 to a fresh Beds24 sandbox; raises if anything is left unacknowledged."""
    started = time.monotonic()
    now = local_instant(as_of, TIMEZONE, 3)
    token_env = "HOTEL_BEDS24_REFRESH_TOKEN_H1"
    os.environ.setdefault(token_env, "demo-" + secrets.token_hex(12))
    account = Account(refresh_token=os.environ[token_env], rooms={i: UNITS[t] for t, i in ROOM_TYPES.items()})
    world = World(hotel_ids=[HOTEL], arrival_from=date(2016, 7, 1), now=now)
    # Beds24's upgraded account (200 credits per 5 minutes, documented): the push and the read-back both fit in one
    # window, so the demo never waits five minutes for a reset.
    handler = Beds24PushHandler({HOTEL: account}, credits=UPGRADED_CREDITS)
    # One bounded unit of work, as a Dagster step is: the warehouse is held open for it, not reopened by each
    # statement of the push, the drain and the read-back (CPU of this step about 6 s -> 4 s).
    with tempfile.TemporaryDirectory() as tmp, PushSandbox(handler) as beds24, \
            running_sandbox(world, ["mews"]) as mews, warehouse.held():
        config = load_channel_config(write_config(Path(tmp) / "channel.yaml", beds24.base_url, token_env))
        hotel = config.hotels[HOTEL]
        os.environ.update(mews.env)
        import_mews_rates(warehouse, mews.hotel("mews", HOTEL), hotel, as_of, now.replace(tzinfo=None))
        plan = plan_hotel(warehouse, hotel, as_of, now)
        for message in plan.messages(HOTEL):
            print(f"channel: {message}")
        with Beds24Client(hotel.base_url, hotel.refresh_token()) as client:
            report, stats = drain_hotel(warehouse, hotel, lambda: now, client)
        with Beds24Client(hotel.base_url, hotel.refresh_token()) as reader:
            drift = reconcile_hotel(warehouse, hotel, reader, as_of, now, trigger="command")
        counts = outbox.counts(warehouse, HOTEL)
        if counts["pending"] or counts["sent"] or counts["failed"]:
            raise RuntimeError(f"channel demo: channel_outbox is not fully acknowledged: {counts}")
        if beds24.handler.violations:
            raise RuntimeError(f"channel demo: requests broke Beds24's spec: {beds24.handler.violations[:3]}")
        result = ChannelDemoResult(
            calendar_nights=plan.calendar.nights, bookings=len(beds24.handler.bookings[HOTEL]),
            requests=stats.requests, credits=stats.credits, outbox=counts, drift=drift.drift,
            seconds=time.monotonic() - started)
    print(f"channel: {HOTEL} pushed to the Beds24 sandbox: {result.calendar_nights} room-nights of calendar, "
          f"{result.bookings} bookings; {result.requests} requests, {result.credits} credits; "
          f"channel_outbox {result.outbox['acknowledged']} rows acknowledged, none pending; drift {result.drift}; "
          f"{result.seconds:.1f} s")
    return result
