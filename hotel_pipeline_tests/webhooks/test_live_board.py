"""From webhook to live board, end to end on loopback: the Mews sandbox's day of changes is sent as webhooks (with
duplicates), received over HTTP, applied through the Mews connector, and daily_metrics equals the sandbox's books
as of now for every stay date; the historian is untouched; a replay changes nothing."""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from hotel_pipeline.core.clock import Clock, local_instant
from hotel_pipeline.core.portfolio import Portfolio
from hotel_pipeline.core.sql_models import run_model
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.pacing.recorder import take_snapshots
from hotel_pipeline.webhooks.apply import replay, run_once
from hotel_pipeline.webhooks.spool import Spool
from hotel_pipeline.webhooks.vendors import portfolio_endpoints
from hotel_pipeline.workshop.sandbox.pms.harness import expected_reservations, running_sandbox
from hotel_pipeline.workshop.sandbox.pms.world import World
from hotel_pipeline.workshop.sandbox.webhooks.harness import receiver_thread
from hotel_pipeline.workshop.sandbox.webhooks.sender import Target, WebhookSender
from hotel_pipeline_tests.pipeline_helpers import build_live
from hotel_pipeline_tests.pms.helpers import FAST_RETRY, extract

T = date(2016, 7, 20)
TZ = "Europe/Lisbon"
SECRET_ENV = "HOTEL_MEWS_WEBHOOK_SECRET_H1"


def books_as_of(world: World, now, cutoff: date, days: list[date]) -> dict[date, int]:
    """Rooms on the books per stay date by the contract's rule, from what the sandbox knows at ``now``."""
    state = expected_reservations(world, "mews", "H1", now)
    out = {}
    for day in days:
        on = state.filter(
            (pl.col("booked_on") <= cutoff) & (pl.col("arrival_date") <= day) & (pl.col("departure_date") > day)
            & (pl.col("cancelled_on").is_null() | (pl.col("cancelled_on") > cutoff))
            & (pl.col("checked_out_on").is_null() | (pl.col("checked_out_on") > min(cutoff, day))))
        out[day] = on.height
    return out


def test_a_day_of_webhooks_moves_the_live_board_and_pickup_only(warehouse: Warehouse, tmp_path: Path) -> None:
    world = World(hotel_ids=["H1"], arrival_from=date(2016, 7, 1), arrival_to=date(2016, 8, 31))
    morning = local_instant(T, TZ, 3)
    world.set_now(morning)
    with running_sandbox(world, ["mews"]) as sb:
        os.environ.update(sb.env)
        os.environ[SECRET_ENV] = "mews-webhook-token"
        hotel = sb.hotel("mews", "H1")
        portfolio = Portfolio(hotels=(hotel,))
        raw = tmp_path / "raw"
        # The night: a sync, the live board for T and the 03:00 photograph.
        extract(sb, warehouse, "mews", "H1", morning, raw)
        clock = Clock(frozen_at=morning.isoformat())
        build_live(warehouse, clock, portfolio)
        assert {o.status for o in take_snapshots(warehouse, portfolio, clock, T, T)} == {"recorded"}
        with warehouse.transaction() as tx:
            run_model(tx, "pickup", {"run_at": clock.now_naive_utc()})
        historian = warehouse.read_table("pacing_snapshots", "hotel_id, snapshot_date, stay_date")
        board_before = warehouse.read_table("daily_metrics", "stay_date")

        # The day: every change the sandbox makes until 23:59:59 local is sent as a webhook.
        spool = Spool(tmp_path / "spool")
        evening = local_instant(T, TZ, 23, 59) + timedelta(seconds=59)
        # The receiver's clock is the sandbox day's (frozen at its end), so lag = applied - received is measured in it.
        with receiver_thread(portfolio_endpoints(portfolio), spool, now=lambda: evening) as url:
            sender = WebhookSender(world, [Target("mews", "H1", url, "mews-webhook-token")], duplicate_rate=0.3)
            report = sender.advance(evening)
            sender.close()
        assert report.changes > 20 and report.acknowledged > report.changes  # duplicates were sent
        assert report.failed == 0

        def connector(h, s):
            from hotel_pipeline.sources.pms import connector_classes

            return connector_classes()[s.type](h, s, retry=FAST_RETRY, throttle=False)

        now_clock = Clock(frozen_at=evening.isoformat())
        result = run_once(warehouse, portfolio, now_clock, spool, make_connector=connector, raw_root=raw)

    distinct = len(set(report.bodies))
    assert result.ingested == distinct  # duplicates collapsed on the idempotency key
    inbox = warehouse.read_table("webhook_inbox", "received_at")
    assert inbox.height == distinct and inbox["applied_at"].null_count() == 0

    board = warehouse.read_table("daily_metrics", "stay_date")
    days = board["stay_date"].to_list()
    expected = books_as_of(world, evening, T, days)
    got = dict(zip(days, board["rooms_sold"].to_list(), strict=True))
    assert got == expected
    changed = board.join(board_before, on="stay_date", suffix="_before").filter(
        pl.col("rooms_sold") != pl.col("rooms_sold_before"))
    assert changed.height > 0  # the day's bookings and cancellations show intraday
    assert warehouse.read_table("pacing_snapshots", "hotel_id, snapshot_date, stay_date").equals(historian)
    pickup = warehouse.read_table("pickup", "stay_date")
    assert dict(zip(pickup["stay_date"].to_list(), pickup["rooms_sold"].to_list(), strict=True)) == {
        d: got[d] for d in pickup["stay_date"].to_list()}
    status = warehouse.query("SELECT * FROM integration_status WHERE source = 'mews_webhooks'")
    assert status.height == 1 and status["lag_seconds"][0] >= 0

    # Replaying the day changes nothing already applied.
    versions = warehouse.query("SELECT COUNT(*) AS n FROM reservation_versions")["n"][0]
    os.environ.update(sb.env)
    with running_sandbox(world, ["mews"]) as sb2:
        os.environ.update(sb2.env)
        hotel2 = sb2.hotel("mews", "H1")
        again = replay(warehouse, Portfolio(hotels=(hotel2,)), now_clock, "H1", morning, evening,
                       make_connector=connector, raw_root=raw)
    assert again and all(b.accepted == 0 and b.board_rows_changed == 0 for b in again)
    assert warehouse.query("SELECT COUNT(*) AS n FROM reservation_versions")["n"][0] == versions
    assert warehouse.read_table("daily_metrics", "stay_date").equals(board)
    assert warehouse.read_table("webhook_inbox", "received_at").equals(inbox)


def test_before_the_photograph_today_is_held_back_then_released(duckdb_warehouse: Warehouse, tmp_path: Path) -> None:
    """Until the recorder has photographed today, the board counts through yesterday (the photograph must be the
    state at the end of yesterday); the first run after it puts today's changes on the board."""
    warehouse = duckdb_warehouse
    world = World(hotel_ids=["H1"], arrival_from=date(2016, 7, 10), arrival_to=date(2016, 8, 10))
    morning = local_instant(T, TZ, 3)
    world.set_now(morning)
    with running_sandbox(world, ["mews"]) as sb:
        os.environ.update(sb.env)
        os.environ[SECRET_ENV] = "mews-webhook-token"
        portfolio = Portfolio(hotels=(sb.hotel("mews", "H1"),))
        raw = tmp_path / "raw"
        extract(sb, warehouse, "mews", "H1", morning, raw)
        build_live(warehouse, Clock(frozen_at=morning.isoformat()), portfolio)
        spool = Spool(tmp_path / "spool")
        evening = local_instant(T, TZ, 23, 59) + timedelta(seconds=59)
        with receiver_thread(portfolio_endpoints(portfolio), spool, now=lambda: evening) as url:
            sender = WebhookSender(world, [Target("mews", "H1", url, "mews-webhook-token")], duplicate_rate=0.0)
            sender.advance(evening)
            sender.close()

        def connector(h, s):
            from hotel_pipeline.sources.pms import connector_classes

            return connector_classes()[s.type](h, s, retry=FAST_RETRY, throttle=False)

        clock = Clock(frozen_at=evening.isoformat())
        run_once(warehouse, portfolio, clock, spool, make_connector=connector, raw_root=raw)  # no photograph yet
        board = warehouse.read_table("daily_metrics", "stay_date")
        days = board["stay_date"].to_list()
        assert dict(zip(days, board["rooms_sold"].to_list(), strict=True)) == books_as_of(
            world, evening, T - timedelta(days=1), days)
        assert {o.status for o in take_snapshots(warehouse, portfolio, clock, T, T)} == {"recorded"}
        photo = warehouse.query("SELECT stay_date, rooms_sold FROM pacing_snapshots WHERE snapshot_date = :d "
                                "ORDER BY stay_date", {"d": T})
        assert photo["rooms_sold"].to_list() == board["rooms_sold"].to_list()  # the end of yesterday, not today

        released = run_once(warehouse, portfolio, clock, spool, make_connector=connector, raw_root=raw)
    assert released.ingested == 0 and released.released > 0
    board = warehouse.read_table("daily_metrics", "stay_date")
    assert dict(zip(days, board["rooms_sold"].to_list(), strict=True)) == books_as_of(world, evening, T, days)
