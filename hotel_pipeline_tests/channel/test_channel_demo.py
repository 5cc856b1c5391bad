"""The demo's channel step: H1's calendar (priced from Mews rates/getPricing) and reservations land in the Beds24
sandbox and channel_outbox is left fully acknowledged."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from hotel_pipeline.core.clock import local_instant
from hotel_pipeline.core.sql_models import run_model
from hotel_pipeline.core.warehouse.resource import duckdb_path
from hotel_pipeline.unified import accept_reservations
from hotel_pipeline.workshop.channel_demo import run_channel_demo
from hotel_pipeline.workshop.sandbox.pms.world import World
from hotel_pipeline_tests.test_warehouse_held import counting_opens


def test_demo_pushes_h1_and_leaves_the_outbox_acknowledged(duckdb_warehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    wh = duckdb_warehouse
    now = local_instant(date(2016, 7, 31), "Europe/Lisbon", 3)
    world = World(hotel_ids=["H1"], arrival_from=date(2016, 7, 1), now=now)
    state = world.state("H1").with_columns(pl.lit("H1").alias("hotel_id"), pl.lit("mews").alias("source"),
                                           pl.col("booking_ref").cast(pl.String).alias("external_id"))
    with wh.transaction() as tx:
        accept_reservations(tx, state, source_as_of=now.replace(tzinfo=None), synced_at=now.replace(tzinfo=None),
                            batch_id="t")
        run_model(tx, "reservations")
    future = wh.query("""SELECT COUNT(*) AS n FROM reservations WHERE departure_date > DATE '2016-07-31'
                         AND nights > 0 AND status IN ('confirmed', 'checked_in', 'checked_out')""")["n"][0]
    with counting_opens(duckdb_path(wh.url), monkeypatch) as opens:
        result = run_channel_demo(wh)
    # The push, the drain and the read-back hold the file, as a Dagster step does, instead of reopening it for each
    # of their few dozen statements (it is let go only after a second without one, e.g. on a slow sandbox reply).
    assert opens.calls > 30
    assert opens.count <= 5, f"the channel demo opened the file {opens.count} times for {opens.calls} connections"
    assert result.outbox == {"pending": 0, "sent": 0, "failed": 0, "acknowledged": result.outbox["acknowledged"]}
    assert result.bookings == future > 1000
    assert result.drift == 0 and result.credits <= 100
    prices = wh.query("SELECT DISTINCT origin FROM channel_rates")["origin"].to_list()
    assert prices == ["mews"]
    a = wh.query("""SELECT units_available, prices FROM channel_availability
                    WHERE room_type = 'A' AND stay_date = DATE '2016-08-06'""")
    assert '"BAR":' in a["prices"][0] and '"NRF":' in a["prices"][0]
