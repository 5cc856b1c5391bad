"""A webhook names a booking; a multi-room booking is one unified reservation per room (``<id>:<n>``): applying the
event refreshes every room of it, and no booking whose id merely starts with the same digits."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from hotel_pipeline.core.sql_models import run_model
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.unified import accept_reservations
from hotel_pipeline.webhooks.apply import _refresh_models_for, _touched_versions, _unified_ids
from hotel_pipeline_tests.channel.helpers import AS_OF, NOW, land, reservation


def test_an_event_naming_a_multi_room_booking_refreshes_each_of_its_rooms(warehouse: Warehouse) -> None:
    arrival = AS_OF + timedelta(days=5)
    land(warehouse, [reservation("B7:1", "DBL", arrival, 2), reservation("B7:2", "DBL", arrival, 2),
                     reservation("B70", "DBL", arrival, 2)])
    later = NOW + timedelta(hours=2)
    moved = [reservation("B7:1", "DBL", arrival, 4), reservation("B7:2", "DBL", arrival, 4),
             reservation("B70", "DBL", arrival, 4)]
    with warehouse.transaction() as tx:  # the fetch after the webhook: new versions, models not yet rebuilt
        accept_reservations(tx, pl.DataFrame(moved, infer_schema_length=None), source_as_of=later.replace(tzinfo=None),
                            synced_at=later.replace(tzinfo=None), batch_id="webhook-fetch")
        unified = _unified_ids(tx, "mews", "H1", ["B7"])
        assert unified == ["B7", "B7:1", "B7:2"]
        touched = _touched_versions(tx, "mews", "H1", unified)
        assert sorted(set(touched["external_id"].to_list())) == ["B7:1", "B7:2"]
        _refresh_models_for(tx, "mews", "H1", unified)
    nights = dict(warehouse.query("SELECT external_id, nights FROM reservations ORDER BY external_id").iter_rows())
    assert nights == {"B7:1": 4, "B7:2": 4, "B70": 2}  # both rooms moved; B70 waits for its own event
    with warehouse.transaction() as tx:
        run_model(tx, "reservations")
    assert warehouse.query("SELECT nights FROM reservations WHERE external_id = 'B70'")["nights"][0] == 4
