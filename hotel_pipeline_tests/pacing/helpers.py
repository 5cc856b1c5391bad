"""A small real historian in seconds: 12 real H1 bookings, three reconstructed snapshots and one recorded."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from hotel_pipeline.core.portfolio import load_portfolio
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.pacing.recorder import Outcome, take_snapshots
from hotel_pipeline.sources.csv.importer import import_file
from hotel_pipeline_tests.csv.corpus import base_text
from hotel_pipeline_tests.pipeline_helpers import build_live, clock_at

AS_OF = date(2015, 7, 3)
NIGHT = date(2015, 7, 4)
SNAPSHOTS = [date(2015, 7, 1), date(2015, 7, 2), date(2015, 7, 3), NIGHT]


def small_historian(warehouse: Warehouse, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> list[Outcome]:
    """H1's export as of 2015-07-03 imported, the live layer built on the 4th, snapshots of the 1st..4th taken."""
    monkeypatch.setenv("HOTEL_PIPELINE_DATA_DIR", str(data_dir))
    inbox = data_dir / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    path = inbox / f"H1_hotel_bookings_asof_{AS_OF.isoformat()}.csv"
    path.write_text(base_text(), encoding="utf-8")
    portfolio = load_portfolio()
    import_file(warehouse, path, portfolio, clock_at(NIGHT, 2))
    build_live(warehouse, clock_at(NIGHT))
    outcomes = take_snapshots(warehouse, portfolio, clock_at(NIGHT), SNAPSHOTS[0], NIGHT, hotel_ids=["H1"])
    assert [o.status for o in outcomes] == ["reconstructed"] * 3 + ["recorded"]
    return outcomes
