"""A portfolio's reconstruction is cut into slices of hotels (one statement each, so memory stays flat as hotels are
added): the historian and its digests are the same rows whatever the cut."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from hotel_pipeline.core.portfolio import load_portfolio
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.pacing import recorder
from hotel_pipeline.pacing.recorder import hotel_slices, take_snapshots
from hotel_pipeline_tests.pipeline_helpers import build_live, clock_at, import_full_dataset

FIRST, LAST, NIGHT = date(2016, 7, 1), date(2016, 7, 4), date(2016, 7, 5)


def test_slices_hold_every_hotel_once_in_order_and_within_the_budget() -> None:
    hotels = [f"S{i:04d}" for i in range(100, 0, -1)]
    slices = hotel_slices(hotels, dates=366, rows_per_statement=4_000_000)
    assert [h for s in slices for h in s] == sorted(hotels)
    assert {len(s) for s in slices[:-1]} == {29} and all(len(s) * 366 * 365 <= 4_000_000 for s in slices)
    assert hotel_slices(hotels, dates=1, rows_per_statement=4_000_000) == [sorted(hotels)]
    assert hotel_slices(["A", "B"], dates=366, rows_per_statement=1) == [["A"], ["B"]]  # never an empty slice


def _historian(warehouse: Warehouse) -> dict[str, list[tuple]]:
    return {t: warehouse.query(f"SELECT * FROM {t} ORDER BY ALL").rows()  # noqa: S608 - constant names
            for t in ("pacing_snapshots", "pacing_snapshot_digests")}


def test_the_historian_is_the_same_in_one_statement_or_one_per_hotel(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTEL_PIPELINE_DATA_DIR", str(tmp_path / "data"))
    built = {}
    for rows, name in ((recorder.ROWS_PER_STATEMENT, "one"), (1, "per_hotel")):
        monkeypatch.setattr(recorder, "ROWS_PER_STATEMENT", rows)
        warehouse = Warehouse(url=f"duckdb:///{tmp_path / name}.duckdb")
        import_full_dataset(warehouse, clock_at(NIGHT, 2))
        build_live(warehouse, clock_at(NIGHT))
        outcomes = take_snapshots(warehouse, load_portfolio(), clock_at(NIGHT), FIRST, NIGHT)
        assert sorted({o.status for o in outcomes}) == ["reconstructed", "recorded"]
        built[name] = _historian(warehouse)
    assert built["one"] == built["per_hotel"]
    frame = pl.DataFrame(built["one"]["pacing_snapshots"], orient="row")
    assert frame.height == 2 * 5 * 365 and frame.select(pl.first().n_unique()).item() == 2
