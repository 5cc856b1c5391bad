"""Whole-run properties of PMS extraction through the sandbox: a week of nights across a month end through the
pacing recorder gives a historian equal to its reconstruction (and to the data set's history), and killing an extract mid-run then
re-running gives the same warehouse."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from hotel_pipeline.core.clock import local_instant
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.sources.csv.dataset import load_history, state_as_of
from hotel_pipeline.workshop.sandbox.pms.harness import running_sandbox
from hotel_pipeline.workshop.sandbox.pms.world import World
from hotel_pipeline_tests.pipeline_helpers import build_live
from hotel_pipeline_tests.pms.helpers import SMALL_PAGES, extract, unified_state

TZ = "Europe/Lisbon"
HORIZON = 60
VENDORS = list(SMALL_PAGES)


def occupancy(frame: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """Rooms sold and net revenue per stay date in (as_of, as_of + HORIZON], by the contract's semantics, from
    reservation rows (booked_on, arrival_date, departure_date, nights, cancelled_on, checked_out_on, net_amount)."""
    stays = pl.DataFrame({"stay_date": [as_of + timedelta(days=i) for i in range(1, HORIZON + 1)]})
    rows = frame.filter(
        (pl.col("booked_on") <= as_of) & (pl.col("nights") > 0)
        & (pl.col("cancelled_on").is_null() | (pl.col("cancelled_on") > as_of))
    ).select("arrival_date", "departure_date", "checked_out_on", (pl.col("net_amount") / pl.col("nights")).alias("rate"))
    joined = stays.join(rows, how="cross").filter(
        (pl.col("arrival_date") <= pl.col("stay_date")) & (pl.col("stay_date") < pl.col("departure_date"))
        & (pl.col("checked_out_on").is_null() | (pl.col("checked_out_on") > pl.min_horizontal(pl.lit(as_of),
                                                                                             pl.col("stay_date"))))
    )
    return stays.join(
        joined.group_by("stay_date").agg(pl.len().alias("rooms_sold"), pl.col("rate").sum().round(2).alias("revenue")),
        on="stay_date", how="left",
    ).fill_null(0).sort("stay_date")


KILL_SCRIPT = """
import json, os, sys
from datetime import datetime
from pathlib import Path
from hotel_pipeline.sources.pms import connector_classes
from hotel_pipeline.sources.pms.extract import run_extract
from hotel_pipeline.sources.pms.http import RetryPolicy
from hotel_pipeline.workshop.sandbox.pms.harness import demo_hotel, source_for
from hotel_pipeline.core.warehouse import Warehouse
vendor, base_url, db, raw, now, options = sys.argv[1:7]
hotel = demo_hotel("H1", (source_for(vendor, "H1", base_url, **json.loads(options)),))
connector = connector_classes()[vendor](hotel, hotel.sources[0], throttle=False, retry=RetryPolicy(timeout_seconds=5))
run_extract(Warehouse(url="duckdb:///" + db), connector, now=datetime.fromisoformat(now), raw_root=Path(raw))
print("finished")
"""


@pytest.fixture(scope="module")
def july_world() -> World:
    """H1 arrivals of July 2016 (~1,800 bookings): with small pages every vendor's full extract takes many calls."""
    return World(hotel_ids=["H1"], arrival_from=date(2016, 7, 1), arrival_to=date(2016, 7, 31))


@pytest.mark.parametrize("vendor", VENDORS)
def test_killed_extract_then_rerun_equals_uninterrupted(july_world, tmp_path: Path, vendor: str) -> None:
    """The extract process is killed (SIGKILL) halfway through its calls, then re-run: the warehouse equals that of
    an uninterrupted run, and the killed run committed no cursor."""
    now = local_instant(date(2016, 7, 20), TZ, 3)
    july_world.set_now(now)
    options = SMALL_PAGES[vendor]
    with running_sandbox(july_world, [vendor]) as sb:
        handler = sb.sandbox.handlers[vendor]
        clean = Warehouse(url=f"duckdb:///{tmp_path / 'clean.duckdb'}")
        served = handler.requests_served
        extract(sb, clean, vendor, "H1", now, tmp_path / "raw_clean", **options)
        calls = handler.requests_served - served
        assert calls >= 6  # a run with a middle to kill it in
        db = tmp_path / "killed.duckdb"
        env = {**os.environ, **sb.env}
        served = handler.requests_served
        proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, vendor, sb.server.base_url(vendor), str(db),
                                 str(tmp_path / "raw"), now.isoformat(), json.dumps(options)], env=env,
                                stdout=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while handler.requests_served < served + calls // 2 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL  # really killed mid-run, not finished
        killed = Warehouse(url=f"duckdb:///{db}")
        assert not killed.table_exists("integration_status") or killed.query(
            "SELECT COUNT(*) AS n FROM integration_status WHERE cursor IS NOT NULL")["n"][0] == 0
        extract(sb, killed, vendor, "H1", now, tmp_path / "raw", **options)  # the re-run
        assert unified_state(killed, vendor, "H1").height > 1000
        assert unified_state(killed, vendor, "H1").equals(unified_state(clean, vendor, "H1"))
        for table in ("rooms", "guests"):
            cols = "hotel_id, source, external_id"
            a = killed.query(f"SELECT * EXCLUDE (synced_at, batch_id) FROM {table} ORDER BY {cols}")
            b = clean.query(f"SELECT * EXCLUDE (synced_at, batch_id) FROM {table} ORDER BY {cols}")
            assert a.equals(b), table


#: The nights per vendor: a week across the end of July (snapshots 2016-07-26 .. 08-01, the last as of 07-31 with
#: August stays on the books). Mews over H2's whole summer; the other six over H2's arrivals of 07-24 .. 08-03 (a
#: smaller world, the same nights: OPERA re-reads its arrival lookback every night), so the seven stay bounded.
#: The week's incrementals carry every transition the recorder must follow (new bookings, cancellations, some on or
#: after the arrival day, check-ins, check-outs, no-shows, stays running into August): the test asserts so from the
#: data set, before it runs. Cloudbeds' whole data set goes through its own test
#: (test_cloudbeds.test_whole_data_set_as_of_the_end).
SUMMER = (date(2016, 6, 28), date(2016, 8, 31))
ARRIVALS = {v: SUMMER if v == "mews" else (date(2016, 7, 24), date(2016, 8, 3)) for v in VENDORS}
FIRST_NIGHT, LAST_NIGHT = date(2016, 7, 26), date(2016, 8, 1)
NIGHTS = (LAST_NIGHT - FIRST_NIGHT).days + 1


def transitions(history: pl.DataFrame, first: date, last: date) -> dict[str, int]:
    """How many of each change the incrementals of nights ``first`` .. ``last`` bring (the evening before ``first``
    is the first extract's; events dated then .. the evening before ``last`` arrive night by night)."""
    seen = (first, last - timedelta(days=1))
    month_start = last.replace(day=1)
    return {
        "new bookings": history.filter(pl.col("booked_on").is_between(*seen)).height,
        "cancellations": history.filter(pl.col("cancelled_on").is_between(*seen)
                                        & (pl.col("status") == "cancelled")).height,
        "cancellations on or after arrival": history.filter(
            pl.col("cancelled_on").is_between(*seen) & (pl.col("cancelled_on") >= pl.col("arrival_date"))).height,
        "check-ins": history.filter(pl.col("arrival_date").is_between(*seen)
                                    & (pl.col("status") == "checked_out")).height,
        "check-outs": history.filter(pl.col("checked_out_on").is_between(*seen)).height,
        "no-shows": history.filter(pl.col("arrival_date").is_between(*seen) & (pl.col("status") == "no_show")).height,
        "stays into the next month": history.filter(
            (pl.col("arrival_date") < month_start) & (pl.col("departure_date") > month_start)).height
        if first < month_start else 0,
    }


@pytest.mark.slow(15)
@pytest.mark.parametrize("vendor", VENDORS)
def test_nights_across_a_month_end_through_the_recorder_equal_their_reconstruction(tmp_path: Path,
                                                                                   vendor: str) -> None:
    """A week of nights across the month end: 03:00 incremental pull, live board, the pacing recorder. The recorded
    historian equals the historian the pacing code reconstructs for the same dates from a warehouse rebuilt from the
    raw zone."""
    from hotel_pipeline.core.clock import Clock
    from hotel_pipeline.core.portfolio import Portfolio
    from hotel_pipeline.pacing.recorder import take_snapshots
    from hotel_pipeline.sources.pms.extract import rebuild_from_raw

    history = load_history().filter(
        (pl.col("hotel_id") == "H2") & pl.col("arrival_date").is_between(*ARRIVALS[vendor]))
    first, last = FIRST_NIGHT, LAST_NIGHT
    assert all(transitions(history, first, last).values()), transitions(history, first, last)
    world = World(history)
    options = SMALL_PAGES[vendor]
    recorded_wh = Warehouse(url=f"duckdb:///{tmp_path / 'recorded.duckdb'}")
    with running_sandbox(world, [vendor]) as sb:
        portfolio = Portfolio(hotels=(sb.hotel(vendor, "H2", **options),))
        day = first
        while day <= last:
            now = local_instant(day, TZ, 3)
            sb.set_now(now)
            clock = Clock(frozen_at=now.isoformat())
            extract(sb, recorded_wh, vendor, "H2", now, tmp_path / "raw", **options)
            build_live(recorded_wh, clock, portfolio)
            outcomes = take_snapshots(recorded_wh, portfolio, clock, day, day)
            assert [o.status for o in outcomes] == ["recorded"], (day, outcomes)
            day += timedelta(days=1)
        rebuilt = Warehouse(url=f"duckdb:///{tmp_path / 'rebuilt.duckdb'}")
        rebuild_from_raw(rebuilt, tmp_path / "raw")
        later = Clock(frozen_at=local_instant(last + timedelta(days=1), TZ, 3).isoformat())
        build_live(rebuilt, later, portfolio)
        outcomes = take_snapshots(rebuilt, portfolio, later, first, last)
        assert {o.status for o in outcomes} == {"reconstructed"} and len(outcomes) == NIGHTS
    cols = "hotel_id, snapshot_date, stay_date, rooms_sold, net_revenue"
    recorded = recorded_wh.query(f"SELECT {cols}, origin FROM pacing_snapshots ORDER BY snapshot_date, stay_date")
    reconstructed = rebuilt.query(f"SELECT {cols}, origin FROM pacing_snapshots ORDER BY snapshot_date, stay_date")
    assert recorded.height == NIGHTS * 365 and set(recorded["origin"]) == {"recorded"}
    assert recorded["rooms_sold"].sum() > 5_000
    assert set(recorded_wh.query("SELECT DISTINCT source FROM reservation_versions")["source"]) == {vendor}
    assert recorded.drop("origin").equals(reconstructed.drop("origin"))
    # and both are the data set's own history (state as of the evening before each snapshot), computed independently
    for snapshot_date in (first, date(2016, 7, 29), last):
        as_of = snapshot_date - timedelta(days=1)
        expected = occupancy(state_as_of(history, as_of).with_columns(
            (pl.col("adr_value") * pl.col("nights")).round(2).alias("net_amount")), as_of)
        got = recorded.filter(pl.col("snapshot_date") == snapshot_date).join(
            expected.select("stay_date"), on="stay_date").select(
            "stay_date", pl.col("rooms_sold").cast(pl.UInt32), pl.col("net_revenue").round(2).alias("revenue"))
        assert got.equals(expected.with_columns(pl.col("rooms_sold").cast(pl.UInt32))), snapshot_date
