"""Calendar rows left ``sent`` (an answer lost, a drain killed after sending) are read back from Beds24
(``GET /inventory/rooms/calendar``) and only the nights Beds24 does not hold are posted again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from hotel_pipeline.channel import outbox
from hotel_pipeline.channel.client import Beds24Client, TransientError
from hotel_pipeline.channel.drain import drain_hotel
from hotel_pipeline.channel.push import plan_hotel
from hotel_pipeline.core import settings
from hotel_pipeline_tests.channel.helpers import (
    AS_OF,
    NOW,
    ROOM_IDS,
    UNITS,
    hotel_channel,
    land,
    reservation,
    seed_rooms,
    write_side,
)

HORIZON = 20


def _client(hotel, sandbox, attempts: int = 8) -> Beds24Client:
    return Beds24Client(sandbox.base_url, hotel.refresh_token(), backoff_base=0.01, backoff_cap=0.05,
                        max_attempts=attempts)


def _expected(room_type: str, night) -> int:
    return UNITS[room_type] - (1 if room_type == "A" and AS_OF + timedelta(2) <= night < AS_OF + timedelta(5) else 0)


def _assert_calendar_is_intended(handler) -> None:
    for t, room_id in ROOM_IDS.items():
        cal = handler.calendar_of("H1", room_id)
        assert [cal[AS_OF + timedelta(i)]["numAvail"] for i in range(HORIZON)] == [
            _expected(t, AS_OF + timedelta(i)) for i in range(HORIZON)], t


def _plan(wh, hotel) -> None:
    seed_rooms(wh)
    land(wh, [reservation("1", "A", AS_OF + timedelta(2), 3)])
    plan_hotel(wh, hotel, AS_OF, NOW)
    with wh.transaction() as tx:  # calendar rows only: the booking row is not what these tests look at
        tx.execute("DELETE FROM channel_outbox WHERE kind = 'booking'")


def test_lost_calendar_answers_are_read_back_not_posted_again(duckdb_warehouse) -> None:
    """Every calendar POST is applied and its answer lost: each room is posted once, then found on read-back.
    (Before the read-back, the client re-posted every lost request until its attempts ran out, and failed.)"""
    wh, hotel = duckdb_warehouse, hotel_channel(horizon_days=HORIZON, batch_size=1)
    _plan(wh, hotel)
    with write_side(hotel, lost_response_rate=1.0) as sandbox, _client(hotel, sandbox) as client:
        report, _ = drain_hotel(wh, hotel, lambda: NOW, client)
        assert sandbox.handler.calendar_posts == len(ROOM_IDS)
        assert report.read_back_acknowledged == len(ROOM_IDS)
        assert outbox.counts(wh, "H1") == {"pending": 0, "sent": 0, "acknowledged": len(ROOM_IDS), "failed": 0}
        _assert_calendar_is_intended(sandbox.handler)
        assert sandbox.handler.violations == []


def test_only_the_nights_beds24_lacks_are_posted_again(duckdb_warehouse) -> None:
    """A row left ``sent`` whose room Beds24 holds but for one night: the resend carries that night only."""
    wh, hotel = duckdb_warehouse, hotel_channel(horizon_days=HORIZON, batch_size=10)
    _plan(wh, hotel)
    with write_side(hotel, lost_response_rate=1.0) as sandbox:
        with _client(hotel, sandbox, attempts=1) as client, pytest.raises(TransientError):
            drain_hotel(wh, hotel, lambda: NOW, client)  # applied, answer lost, no second attempt: rows stay sent
        assert outbox.counts(wh, "H1")["sent"] == len(ROOM_IDS)
        night = AS_OF + timedelta(7)
        sandbox.handler.edit_calendar("H1", ROOM_IDS["B"], night, numAvail=0)
        sandbox.handler.lost_response_rate = 0.0
        with _client(hotel, sandbox) as client:
            report, _ = drain_hotel(wh, hotel, lambda: NOW, client)
        assert report.read_back_acknowledged == len(ROOM_IDS) - 1
        assert sandbox.handler.calendar_posts == len(ROOM_IDS) + 1
        (result,) = wh.query("SELECT result FROM channel_outbox WHERE entity = :e",
                             {"e": f"room:{ROOM_IDS['B']}"})["result"]
        assert json.loads(result)["modified"]["days"] == 1  # the one night, not the room's twenty
        _assert_calendar_is_intended(sandbox.handler)
        assert sandbox.handler.violations == []


def test_drain_killed_after_sending_resends_nothing_beds24_holds(postgres_warehouse, tmp_path: Path) -> None:
    """A real drain process is SIGKILLed while Beds24 has applied its first calendar POST and not yet answered;
    the next drain reads that room back and posts only the rooms never sent."""
    wh, hotel = postgres_warehouse, hotel_channel(horizon_days=HORIZON, batch_size=1)
    _plan(wh, hotel)
    config = tmp_path / "channel.yaml"
    with write_side(hotel, post_answer_delay_seconds=60) as sandbox:
        config.write_text(yaml.safe_dump({"hotels": {"H1": {
            "beds24": {"base_url": sandbox.base_url, "refresh_token_env": hotel.refresh_token_env},
            "room_types": {t: {"room_id": i} for t, i in ROOM_IDS.items()},
            "rate_plans": {"BAR": "price1", "NRF": "price2"}, "horizon_days": HORIZON, "batch_size": 1}}}))
        env = {**os.environ, "HOTEL_WAREHOUSE_URL": wh.url, "HOTEL_CHANNEL_CONFIG": str(config),
               "HOTEL_PIPELINE_CLOCK": NOW.isoformat()}
        proc = subprocess.Popen([sys.executable, "-m", "hotel_pipeline.cli", "channel", "drain", "--hotel", "H1"],
                                env=env, cwd=settings.REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while sandbox.handler.calendar_posts < 1 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL, err.decode()[-2000:]
        assert sandbox.handler.calendar_posts == 1
        assert outbox.counts(wh, "H1") == {"pending": len(ROOM_IDS) - 1, "sent": 1, "acknowledged": 0, "failed": 0}

        sandbox.handler.post_answer_delay_seconds = 0.0
        with _client(hotel, sandbox) as client:
            report, _ = drain_hotel(wh, hotel, lambda: NOW, client)
        assert report.read_back_acknowledged == 1
        assert sandbox.handler.calendar_posts == len(ROOM_IDS)  # the killed row's room was not posted again
        assert outbox.counts(wh, "H1")["acknowledged"] == len(ROOM_IDS)
        _assert_calendar_is_intended(sandbox.handler)
        assert wh.query("SELECT COUNT(*) AS n FROM channel_calendar_state WHERE pushed IS DISTINCT FROM planned"
                        )["n"][0] == 0
        assert sandbox.handler.violations == []
