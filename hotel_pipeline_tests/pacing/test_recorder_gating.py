"""The recorder's gates for hotels in three zones (east of UTC, west of it, and one crossing a DST change): one
schedule per zone targeting that zone's business date, and per hotel recorded / skipped (future, stale, incomplete,
never synced, live layer not built) decided against each hotel's own business date."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import dagster as dg
import pytest

from hotel_pipeline.core.clock import Clock
from hotel_pipeline.core.portfolio import parse_portfolio
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.defs.pacing.schedules import recorder_schedules
from hotel_pipeline.pacing.recorder import plan_snapshots
from hotel_pipeline.unified import record_sync

ZONES = {"TYO": "Asia/Tokyo", "NYC": "America/New_York", "LIS": "Europe/Lisbon"}
PORTFOLIO = parse_portfolio({"hotels": [
    {"id": hid, "name": hid, "timezone": tz, "currency": "EUR", "capacity": 10, "sync_max_age_hours": 30,
     "sources": [{"type": "csv"}]} for hid, tz in ZONES.items()
]})
#: 02:30 UTC on the day Lisbon moves to summer time (01:00 UTC): Tokyo 11:30 on the 27th, New York 22:30 on the
#: 26th, Lisbon 03:30 WEST on the 27th.
NOW = datetime(2016, 3, 27, 2, 30, tzinfo=UTC)
DAY = date(2016, 3, 27)


@pytest.mark.parametrize(("tz", "local_0300_utc", "partition"), [
    ("Asia/Tokyo", datetime(2016, 3, 26, 18, 0, tzinfo=UTC), "2016-03-27"),
    ("America/New_York", datetime(2016, 3, 27, 7, 0, tzinfo=UTC), "2016-03-27"),
    ("Europe/Lisbon", datetime(2016, 3, 27, 2, 0, tzinfo=UTC), "2016-03-27"),   # first night of summer time
    ("Europe/Lisbon", datetime(2016, 3, 26, 3, 0, tzinfo=UTC), "2016-03-26"),   # last night of winter time
    ("Europe/Lisbon", datetime(2016, 10, 30, 3, 0, tzinfo=UTC), "2016-10-30"),  # back to winter time
])
def test_each_zone_records_its_own_business_date(tz: str, local_0300_utc: datetime, partition: str) -> None:
    from hotel_pipeline.core.partitions import snapshot_partitions

    schedules = {s.execution_timezone: s for s in recorder_schedules(PORTFOLIO)}
    assert set(schedules) == set(ZONES.values())
    assert schedules[tz].cron_schedule == "0 3 * * *"
    # The schedule's own function (its tick, without a repository to validate against)...
    request = schedules[tz]._execution_fn(dg.build_schedule_context(scheduled_execution_time=local_0300_utc))
    # ...asks for a partition that exists at that instant: the set follows the easternmost zone.
    partitions = snapshot_partitions(PORTFOLIO)
    assert partitions.timezone == "Asia/Tokyo"
    assert request.partition_key in partitions.get_partition_keys(current_time=local_0300_utc)
    hotel = next(h for h, z in ZONES.items() if z == tz)
    assert request.partition_key == partition
    assert request.run_config["ops"]["pacing_snapshots"]["config"]["hotels"] == [hotel]


def _world(warehouse: Warehouse, syncs: dict[str, dict], live: dict[str, date]) -> None:
    with warehouse.transaction() as tx:
        for hotel_id, status in syncs.items():
            record_sync(tx, {"hotel_id": hotel_id, "source": "csv", "last_status": "ok", **status})
        tx.execute("CREATE TABLE daily_metrics (hotel_id VARCHAR, as_of_date DATE)")
        for hotel_id, day in live.items():
            tx.execute("INSERT INTO daily_metrics VALUES (:h, :d)", {"h": hotel_id, "d": day})


def _plan(warehouse: Warehouse, start: date, end: date) -> dict[tuple[str, date], tuple[str, str | None]]:
    with warehouse.transaction() as tx:
        outcomes = plan_snapshots(tx, PORTFOLIO, Clock(frozen_at=NOW.isoformat()), start, end)
    return {(o.hotel_id, o.snapshot_date): (o.status, o.reason) for o in outcomes}


def test_fresh_syncs_are_recorded_on_each_hotels_own_date(duckdb_warehouse: Warehouse) -> None:
    fresh = NOW.replace(tzinfo=None) - timedelta(hours=3)
    _world(duckdb_warehouse,
           {h: {"last_success_at": fresh, "covered_through": DAY - timedelta(days=2 if h == "NYC" else 1)} for h in ZONES},
           {"TYO": DAY, "LIS": DAY, "NYC": DAY - timedelta(days=1)})
    plan = _plan(duckdb_warehouse, DAY - timedelta(days=1), DAY)
    assert plan[("TYO", DAY)][0] == "recorded" and plan[("LIS", DAY)][0] == "recorded"
    assert plan[("NYC", DAY - timedelta(days=1))][0] == "recorded"  # New York is still on the 26th
    status, reason = plan[("NYC", DAY)]
    assert status == "skipped" and "after the hotel's business date 2016-03-26" in reason
    assert plan[("TYO", DAY - timedelta(days=1))][0] == "reconstructed"


def test_stale_incomplete_never_synced_and_unbuilt_live_layer_are_skipped(duckdb_warehouse: Warehouse) -> None:
    now = NOW.replace(tzinfo=None)
    _world(duckdb_warehouse, {
        "TYO": {"last_success_at": now - timedelta(hours=3), "covered_through": DAY - timedelta(days=2)},  # incomplete
        "LIS": {"last_success_at": now - timedelta(hours=31), "covered_through": DAY - timedelta(days=1)},  # stale
    }, {"TYO": DAY, "LIS": DAY})
    plan = _plan(duckdb_warehouse, DAY - timedelta(days=1), DAY)
    assert plan[("TYO", DAY)][0] == "skipped" and "incomplete sync" in plan[("TYO", DAY)][1]
    assert plan[("LIS", DAY)][0] == "skipped" and "older than 30.0 h" in plan[("LIS", DAY)][1]
    assert plan[("NYC", DAY - timedelta(days=1))] == ("skipped", "csv: never synced")
    # A stale sync does not stop the reconstruction of a past date it covers (no photograph is taken).
    assert plan[("LIS", DAY - timedelta(days=1))][0] == "reconstructed"
    with duckdb_warehouse.transaction() as tx:  # Lisbon fresh again, but its live layer is of the day before
        record_sync(tx, {"hotel_id": "LIS", "source": "csv", "last_success_at": now - timedelta(hours=1)})
        tx.execute("DELETE FROM daily_metrics WHERE hotel_id = 'LIS'")
        tx.execute("INSERT INTO daily_metrics VALUES ('LIS', :d)", {"d": DAY - timedelta(days=1)})
    status, reason = _plan(duckdb_warehouse, DAY, DAY)[("LIS", DAY)]
    assert status == "skipped" and "live layer daily_metrics is built for 2016-03-26" in reason
