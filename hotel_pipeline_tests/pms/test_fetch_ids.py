"""Fetching named reservations (what a webhook hint carries) through each vendor's documented id filter.

Each connector's ``fetch_ids`` goes to the vendor's sandbox, which holds every request to the vendor's spec (a breach
fails the test on leaving the sandbox); the pages normalise to exactly the named reservations, with the same fields
as the data set says, whatever their arrival date (no date window hides an old booking)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from hotel_pipeline.sources.csv.dataset import load_history
from hotel_pipeline.sources.pms import connector_classes
from hotel_pipeline.workshop.sandbox.pms.harness import expected_reservations, running_sandbox
from hotel_pipeline.workshop.sandbox.pms.world import World

NOW = datetime(2016, 7, 20, 3, 0, tzinfo=UTC)
VENDORS = ["mews", "cloudbeds", "beds24", "opera", "rms"]
FIELDS = ["external_id", "status", "arrival_date", "departure_date", "nights", "room_type", "adults", "cancelled_on"]


@pytest.fixture(scope="module")
def world() -> World:
    w = World(load_history(), hotel_ids=["H1"], arrival_from=date(2016, 7, 1), arrival_to=date(2016, 7, 31))
    w.set_now(NOW)
    return w


@pytest.mark.parametrize("vendor", VENDORS)
def test_fetch_ids_reads_exactly_the_named_reservations(world: World, vendor: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    expected = expected_reservations(world, vendor, "H1", NOW).sort("arrival_date", "external_id")
    cancelled = expected.filter(pl.col("status") == "cancelled")["external_id"].head(2).to_list()
    ids = sorted({*expected["external_id"].head(2).to_list(), *expected["external_id"].tail(2).to_list(), *cancelled})
    assert len(ids) >= 4 and cancelled
    with running_sandbox(world, [vendor]) as rs:
        for name, value in rs.env.items():
            monkeypatch.setenv(name, value)
        hotel = rs.hotel(vendor, "H1")
        connector = connector_classes()[vendor](hotel, hotel.sources[0])
        try:
            connector.login()
            connector.fetch_ids(ids)
            pages = [p.as_dict() for p in connector.http.pages]
        finally:
            connector.close()
    got = type(connector).normalise(pages, connector.context()).reservations
    assert sorted(got["external_id"].to_list()) == ids  # the named ones, each once, nothing else
    want = expected.filter(pl.col("external_id").is_in(ids)).select(FIELDS).sort("external_id")
    assert got.select(FIELDS).cast(want.schema).sort("external_id").to_dicts() == want.to_dicts()
