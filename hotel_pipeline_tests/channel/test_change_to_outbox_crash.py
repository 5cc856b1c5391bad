"""A reservation change and its outbox row: a process killed between the two loses nothing.

The change commits in ``reservation_versions`` (the import, the PMS extract and the webhook merge all write there
through the unified write path); the outbox row is derived from it by the plan, which commits the booking's
``planned_version`` (a per-reservation cursor on that change log) in the same transaction as the row. Here real
processes are SIGKILLed right after a change committed and in the middle of the planning transaction; after the
restart Beds24 (the write-side sandbox, read back) holds every change, each create, update and cancellation once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import timedelta

from hotel_pipeline.channel import bookings as bookings_module
from hotel_pipeline.channel.client import Beds24Client
from hotel_pipeline.channel.drain import drain_hotel
from hotel_pipeline.channel.push import plan_hotel
from hotel_pipeline.core import settings
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline_tests.channel.helpers import AS_OF, NOW, hotel_channel, land, reservation, seed_rooms, write_side

FIRST = [reservation("1", "A", AS_OF + timedelta(2), 2), reservation("2", "B", AS_OF + timedelta(3), 1),
         reservation("3", "C", AS_OF + timedelta(4), 3)]
#: Committed by the first child, which dies before any plan runs.
SECOND = [reservation("1", "A", AS_OF + timedelta(2), 4), reservation("2", "B", AS_OF + timedelta(3), 1,
                                                                      status="cancelled"),
          reservation("4", "A", AS_OF + timedelta(6), 2)]
#: Committed by the second child, which dies inside the planning transaction, after its outbox insert.
THIRD = [reservation("1", "A", AS_OF + timedelta(2), 4, adults=3), reservation("5", "C", AS_OF + timedelta(1), 1)]


def _child(step: str) -> None:
    """Entry point of the killed processes (``python -c``): commit a change, then die where ``step`` says."""
    wh = Warehouse(url=os.environ["HOTEL_WAREHOUSE_URL"])
    if step == "after-change":
        land(wh, SECOND, at=NOW + timedelta(minutes=10))
        os.kill(os.getpid(), signal.SIGKILL)
    land(wh, THIRD, at=NOW + timedelta(minutes=20))
    queue = bookings_module.enqueue

    def enqueue_then_die(tx, rows, created_at):
        ids = queue(tx, rows, created_at)
        assert ids, "the plan found nothing to queue: the kill would prove nothing"
        os.kill(os.getpid(), signal.SIGKILL)

    bookings_module.enqueue = enqueue_then_die
    plan_hotel(wh, hotel_channel(horizon_days=30), AS_OF, NOW + timedelta(minutes=20))


def _run_and_kill(wh: Warehouse, step: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", f"from {__name__} import _child; _child({step!r})"],
        env={**os.environ, "HOTEL_WAREHOUSE_URL": wh.url}, cwd=settings.REPO_ROOT, capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]


def _booking_rows(wh: Warehouse) -> int:
    return int(wh.query("SELECT COUNT(*) AS n FROM channel_outbox WHERE kind = 'booking'")["n"][0])


def test_kill_between_change_and_outbox_loses_nothing_and_pushes_each_change_once(postgres_warehouse) -> None:
    wh = postgres_warehouse
    hotel = hotel_channel(horizon_days=30)
    seed_rooms(wh)
    land(wh, FIRST)
    with write_side(hotel) as sandbox, Beds24Client(sandbox.base_url, hotel.refresh_token(), backoff_base=0.01,
                                                    backoff_cap=0.05) as client:
        plan_hotel(wh, hotel, AS_OF, NOW)
        drain_hotel(wh, hotel, lambda: NOW, client)
        assert _booking_rows(wh) == 3

        _run_and_kill(wh, "after-change")
        assert wh.query("SELECT MAX(version) AS v FROM reservation_versions WHERE external_id = '1'")["v"][0] == 2
        assert _booking_rows(wh) == 3  # the change committed, its outbox row does not exist: the crash window

        _run_and_kill(wh, "mid-plan")
        assert wh.query("SELECT MAX(version) AS v FROM reservation_versions WHERE external_id = '1'")["v"][0] == 3
        assert _booking_rows(wh) == 3  # the planning transaction died with its rows: nothing half-written

        plan_hotel(wh, hotel, AS_OF, NOW + timedelta(minutes=30))  # the restart
        drain_hotel(wh, hotel, lambda: NOW, client)

        handler = sandbox.handler
        assert handler.violations == []
        applied = Counter((o.api_reference, o.op) for o in handler.ops)
        assert applied == Counter({("hp:H1:mews:1", "create"): 1, ("hp:H1:mews:1", "update"): 1,
                                   ("hp:H1:mews:2", "create"): 1, ("hp:H1:mews:2", "cancel"): 1,
                                   ("hp:H1:mews:3", "create"): 1, ("hp:H1:mews:4", "create"): 1,
                                   ("hp:H1:mews:5", "create"): 1})
        held = {b["apiReference"]: b for b in handler.bookings["H1"].values()}
        assert len(held) == 5
        newest = {r["external_id"]: r for r in FIRST + SECOND + THIRD}  # later lists hold the newer records
        for key, r in newest.items():
            b = held[f"hp:H1:mews:{key}"]
            assert (b["status"], b["arrival"], b["departure"], b["numAdult"]) == (
                r["status"], str(r["arrival_date"]), str(r["departure_date"]), r["adults"])
        assert wh.query("SELECT COUNT(*) AS n FROM channel_outbox WHERE state <> 'acknowledged'")["n"][0] == 0
