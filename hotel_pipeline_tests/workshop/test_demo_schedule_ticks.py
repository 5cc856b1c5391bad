"""The demo evaluates the deployment's schedules the way the daemon does, on the instance it already has open."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from hotel_pipeline.core.portfolio import load_portfolio
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.workshop.demo import Deployment


def test_a_schedule_tick_uses_the_open_instance_not_a_new_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each tick used to open a second instance from the ref (storage set up again, ~50 ms); now none is opened."""
    with dg.DagsterInstance.local_temp(str(tmp_path)) as instance:
        deployment = Deployment(Warehouse(url=f"duckdb:///{tmp_path / 'w.duckdb'}"), instance, load_portfolio())
        recorder = next(s.name for s in deployment.defs.schedules if s.name.startswith("recorder_0300"))

        def opened(*args: object, **kwargs: object) -> dg.DagsterInstance:
            raise AssertionError("a second Dagster instance was opened for a schedule tick")

        monkeypatch.setattr(dg.DagsterInstance, "from_ref", opened)
        requests = deployment.schedule_requests(recorder, datetime(2016, 7, 20, 2, 0, tzinfo=UTC))
    assert [r.partition_key for r in requests] == ["2016-07-20"]
