"""The pacing numbers on the real data set, checked against an independent plain-Python reading of the raw CSV."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest

from hotel_pipeline.core.portfolio import load_portfolio
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.pacing.recorder import take_snapshots
from hotel_pipeline.sources.csv.importer import import_file
from hotel_pipeline.workshop.legacy_exports import write_daily_exports
from hotel_pipeline_tests.pipeline_helpers import (
    build_live,
    by_key,
    clock_at,
    import_full_dataset,
    independent_occupancy,
    on_books,
)

# (hotel, snapshot_date, stay_date) cells spread over both hotels, seasons, lead times and the horizon's ends.
CELLS = [
    ("H1", date(2015, 8, 15), date(2015, 8, 15)),
    ("H1", date(2016, 1, 10), date(2016, 2, 14)),
    ("H1", date(2016, 7, 17), date(2016, 12, 31)),
    ("H2", date(2015, 7, 1), date(2015, 7, 1)),
    ("H2", date(2015, 12, 1), date(2016, 11, 29)),  # last night of the horizon (S + 363)
    ("H2", date(2016, 5, 20), date(2016, 6, 3)),
    ("H2", date(2016, 7, 17), date(2016, 7, 20)),
    ("H2", date(2016, 3, 3), date(2017, 3, 2)),  # S + 364
]


@pytest.fixture(scope="module")
def raw_bookings() -> list[dict]:
    return independent_occupancy()["bookings"]


@pytest.fixture(scope="module")
def full_history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    """The whole data set imported (final statuses) and the historian reconstructed for the cells' dates."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOTEL_PIPELINE_DATA_DIR", str(tmp_path_factory.mktemp("data")))
        warehouse = Warehouse(url=f"duckdb:///{tmp_path_factory.mktemp('wh') / 'w.duckdb'}")
        clock = clock_at(date(2017, 9, 16))
        import_full_dataset(warehouse, clock)
        build_live(warehouse, clock)
        for _, snapshot, _ in CELLS:
            take_snapshots(warehouse, load_portfolio(), clock, snapshot, snapshot)
        yield warehouse


def test_full_import_counts(full_history: Warehouse) -> None:
    counts = dict(full_history.query(
        "SELECT hotel_id, COUNT(*) AS n FROM reservations GROUP BY hotel_id").iter_rows())
    assert counts == {"H1": 40060, "H2": 79330}
    assert sum(counts.values()) == 119390
    cancelled = dict(full_history.query(
        "SELECT hotel_id, COUNT(*) AS n FROM reservations WHERE status IN ('cancelled', 'no_show') "
        "GROUP BY hotel_id").iter_rows())
    assert cancelled == {"H1": 11122, "H2": 33102}


@pytest.mark.parametrize(("hotel", "snapshot", "stay"), CELLS)
def test_historian_matches_raw_csv(full_history: Warehouse, raw_bookings: list[dict], hotel: str, snapshot: date,
                                   stay: date) -> None:
    rooms, revenue = on_books(raw_bookings, hotel, snapshot - timedelta(days=1), stay)
    got = full_history.query(
        "SELECT rooms_sold, net_revenue, origin FROM pacing_snapshots "
        "WHERE hotel_id = :h AND snapshot_date = :s AND stay_date = :d",
        {"h": hotel, "s": snapshot, "d": stay},
    )
    assert got.height == 1
    assert got["rooms_sold"][0] == rooms
    assert got["net_revenue"][0] == pytest.approx(round(revenue, 2), abs=0.011)
    assert got["origin"][0] == "reconstructed"
    assert rooms > 0 or stay >= date(2016, 11, 1)  # the cells are chosen where something is on the books


def test_snapshots_are_dense(full_history: Warehouse) -> None:
    per = full_history.query(
        "SELECT hotel_id, snapshot_date, COUNT(*) AS n, MIN(stay_date) AS lo, MAX(stay_date) AS hi "
        "FROM pacing_snapshots GROUP BY hotel_id, snapshot_date")
    assert per.height == 2 * len({c[1] for c in CELLS})
    for row in per.iter_rows(named=True):
        assert row["n"] == 365
        assert row["lo"] == row["snapshot_date"] and row["hi"] == row["snapshot_date"] + timedelta(days=364)


def test_recorded_equals_reconstructed(full_history: Warehouse, tmp_path, monkeypatch) -> None:
    """Record S from the daily export of S-1 (what the PMS knew then) and compare with the reconstruction of S
    from the final data set: two data paths, two code paths, one answer."""
    monkeypatch.setenv("HOTEL_PIPELINE_DATA_DIR", str(tmp_path / "data"))
    snapshot = date(2016, 7, 17)
    live = Warehouse(url=f"duckdb:///{tmp_path / 'live.duckdb'}")
    clock = clock_at(snapshot, hour=2)
    for path in write_daily_exports(tmp_path / "inbox", snapshot - timedelta(days=1), snapshot - timedelta(days=1)):
        import_file(live, path, load_portfolio(), clock)
    build_live(live, clock_at(snapshot))
    outcomes = take_snapshots(live, load_portfolio(), clock_at(snapshot), snapshot, snapshot)
    assert {o.status for o in outcomes} == {"recorded"}
    recorded = by_key(live.query("SELECT * FROM pacing_snapshots WHERE snapshot_date = :s", {"s": snapshot}),
                      ["hotel_id", "stay_date"])
    reconstructed = by_key(full_history.query(
        "SELECT * FROM pacing_snapshots WHERE snapshot_date = :s", {"s": snapshot}), ["hotel_id", "stay_date"])
    assert len(recorded) == len(reconstructed) == 730
    for key, row in recorded.items():
        other = reconstructed[key]
        assert row["origin"] == "recorded" and other["origin"] == "reconstructed"
        assert (row["rooms_sold"], row["net_revenue"]) == (other["rooms_sold"], other["net_revenue"]), key
