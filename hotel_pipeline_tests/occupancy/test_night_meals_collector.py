"""Reading a raw extract for its per-night board does not pay for Python's cyclic garbage collector."""

from __future__ import annotations

import gc
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.occupancy import night_meals
from hotel_pipeline_tests.occupancy.test_night_meals import _mews_extract


def test_the_collector_is_paused_while_a_raw_file_is_parsed_and_back_after(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A full Mews extract parses to millions of objects without a cycle among them; every collection walked them
    all again (60 % of reading the demo's full extract). The collector is off for the read and on again after."""
    seen: list[bool] = []
    read_raw = night_meals.read_raw

    def recording(path: Path) -> dict[str, Any]:
        seen.append(gc.isenabled())
        return read_raw(path)

    monkeypatch.setattr(night_meals, "read_raw", recording)
    raw_root = tmp_path / "raw"
    _mews_extract(raw_root, datetime(2016, 7, 30, 1, tzinfo=UTC), "res-1")
    _mews_extract(raw_root, datetime(2016, 7, 31, 1, tzinfo=UTC), "res-2")
    assert gc.isenabled()
    counts = night_meals.update_night_meals(Warehouse(url=f"duckdb:///{tmp_path / 'w.duckdb'}"), raw_root,
                                            datetime(2016, 7, 31, 2))
    assert counts == {"files": 2, "nights": 2}
    assert seen == [False, False]
    assert gc.isenabled()
