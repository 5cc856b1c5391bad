"""Exactly once: the content ledger makes any re-delivery a no-op; later exports version, older ones never roll back."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from hotel_pipeline.core.clock import Clock
from hotel_pipeline.core.portfolio import Portfolio
from hotel_pipeline.core.sql_models import run_model
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.sources.csv.dataset import CSV_STATUSES, load_history
from hotel_pipeline.sources.csv.importer import import_file
from hotel_pipeline.sources.csv.parsing import FileRejected
from hotel_pipeline.workshop.legacy_exports import export_frame, export_name
from hotel_pipeline_tests.csv.corpus import corpus
from hotel_pipeline_tests.csv.helpers import deliver, digest, rows_of, snapshot

LATER = Clock(frozen_at="2015-07-20T02:00:00+00:00")


def test_reimporting_the_same_file_is_a_no_op(warehouse: Warehouse, data_dir: Path, portfolio: Portfolio,
                                              clock: Clock) -> None:
    case = corpus()["bad_dates"]  # rows loaded and rows quarantined: both must stay as they are
    path = deliver(data_dir, case.file_name, case.payload)
    first = import_file(warehouse, path, portfolio, clock)
    assert (first.outcome, first.rows_loaded, first.rows_quarantined) == ("partly_quarantined", 7, 5)
    before = snapshot(warehouse)
    again = import_file(warehouse, path, portfolio, LATER)  # a later clock: any write would show
    assert (again.outcome, again.rows_read, again.rows_loaded, again.new) == ("duplicate", 0, 0, 0)
    assert again.file_sha256 == first.file_sha256 == digest(case.payload)
    assert snapshot(warehouse) == before


def test_redelivery_under_another_name_is_a_no_op(duckdb_warehouse: Warehouse, data_dir: Path, portfolio: Portfolio,
                                                  clock: Clock) -> None:
    case = corpus()["baseline"]
    import_file(duckdb_warehouse, deliver(data_dir, case.file_name, case.payload), portfolio, clock)
    before = snapshot(duckdb_warehouse)
    copy = deliver(data_dir, "H1_baseline (copy).csv", case.payload)
    report = import_file(duckdb_warehouse, copy, portfolio, LATER)
    assert (report.outcome, report.file_name) == ("duplicate", "H1_baseline (copy).csv")
    assert snapshot(duckdb_warehouse) == before
    assert rows_of(duckdb_warehouse, "import_ledger")["file_name"].to_list() == [case.file_name]
    assert len(list((data_dir / "raw").rglob("*.csv"))) == 1


def test_an_unchanged_export_of_a_later_day_still_advances_the_sync(duckdb_warehouse: Warehouse, data_dir: Path,
                                                                    portfolio: Portfolio, clock: Clock) -> None:
    """A quiet hotel's export can be byte-identical to yesterday's: nothing loads, but the hotel is synced through
    the new date, so the 03:00 recorder does not skip it as incomplete."""
    frame = export_frame(load_history(), "H1", date(2015, 7, 3))
    payload = frame.write_csv().encode()
    import_file(duckdb_warehouse, deliver(data_dir, export_name("H1", date(2015, 7, 3)), payload), portfolio, clock)
    versions = rows_of(duckdb_warehouse, "reservation_versions").height
    report = import_file(duckdb_warehouse, deliver(data_dir, export_name("H1", date(2015, 7, 4)), payload), portfolio,
                         LATER)
    assert (report.outcome, report.as_of, report.hotel_ids) == ("duplicate", "2015-07-04", ["H1"])
    status = rows_of(duckdb_warehouse, "integration_status").row(0, named=True)
    assert (status["covered_through"], status["last_status"]) == (date(2015, 7, 4), "ok")
    assert rows_of(duckdb_warehouse, "reservation_versions").height == versions
    # ... and an identical copy of an *older* day never moves it back.
    import_file(duckdb_warehouse, deliver(data_dir, export_name("H1", date(2015, 7, 2)), payload), portfolio, LATER)
    assert rows_of(duckdb_warehouse, "integration_status")["covered_through"].to_list() == [date(2015, 7, 4)]


def test_a_rejected_file_is_rejected_again_and_its_fix_loads(duckdb_warehouse: Warehouse, data_dir: Path,
                                                             portfolio: Portfolio, clock: Clock) -> None:
    """The ledger only short-circuits files that loaded: a rejected one is refused again, not skipped as seen."""
    bad = corpus()["semicolon_delimiter"]
    path = deliver(data_dir, bad.file_name, bad.payload)
    for _ in range(2):
        with pytest.raises(FileRejected, match="wrong delimiter"):
            import_file(duckdb_warehouse, path, portfolio, clock)
    ledger = rows_of(duckdb_warehouse, "import_ledger")
    assert ledger.select("outcome", "file_name").rows() == [("rejected", bad.file_name)]
    good = corpus()["baseline"]
    report = import_file(duckdb_warehouse, deliver(data_dir, bad.file_name, good.payload), portfolio, LATER)
    assert (report.outcome, report.rows_loaded) == ("loaded", 12)
    status = rows_of(duckdb_warehouse, "integration_status")
    # Healthy again, and still saying what the last error was and when (the rejection, before the fix).
    assert status.select("hotel_id", "last_status", "errors").rows() == [("H1", "ok", 0)]
    assert "wrong delimiter" in status["last_error"][0]
    assert status["last_error_at"][0] < status["last_success_at"][0]
    assert sorted(rows_of(duckdb_warehouse, "import_ledger")["outcome"]) == ["loaded", "rejected"]


D1, D_MID, D2 = date(2015, 7, 3), date(2015, 7, 6), date(2015, 7, 10)


def _bookings() -> tuple[list[str], list[str]]:
    """H1 booking refs whose exported status changes between D1, D_MID and D2 (3), and refs that never change (2)."""
    history = load_history()
    status = {
        d: export_frame(history, "H1", d).select("booking_ref", pl.col("reservation_status").alias(str(d)))
        for d in (D1, D_MID, D2)
    }
    joined = status[D1].join(status[D_MID], on="booking_ref").join(status[D2], on="booking_ref")
    moving = joined.filter((pl.col(str(D1)) != pl.col(str(D_MID))) & (pl.col(str(D_MID)) != pl.col(str(D2))))
    still = joined.filter((pl.col(str(D1)) == pl.col(str(D2))) & (pl.col(str(D1)) == pl.col(str(D_MID))))
    return moving["booking_ref"].head(3).to_list(), still["booking_ref"].head(2).to_list()


def _export(data_dir: Path, refs: list[str], as_of: date) -> tuple[Path, pl.DataFrame]:
    frame = export_frame(load_history(), "H1", as_of).filter(pl.col("booking_ref").is_in(refs)).sort("booking_ref")
    path = data_dir / "inbox" / export_name("H1", as_of)
    frame.write_csv(path)
    return path, frame


def _reservations(warehouse: Warehouse) -> pl.DataFrame:
    with warehouse.transaction() as tx:
        run_model(tx, "reservations")
    return warehouse.query("SELECT * FROM reservations ORDER BY external_id")


def test_later_export_versions_and_older_export_never_rolls_back(warehouse: Warehouse, data_dir: Path,
                                                                 portfolio: Portfolio) -> None:
    moving, still = _bookings()
    assert len(moving) == 3 and len(still) == 2
    refs = moving + still

    path1, _ = _export(data_dir, refs, D1)
    first = import_file(warehouse, path1, portfolio, Clock(frozen_at="2015-07-04T02:00:00+00:00"))
    assert (first.new, first.changed, first.unchanged, first.stale, first.as_of) == (5, 0, 0, 0, "2015-07-03")

    path2, frame2 = _export(data_dir, refs, D2)
    second = import_file(warehouse, path2, portfolio, Clock(frozen_at="2015-07-11T02:00:00+00:00"))
    assert (second.new, second.changed, second.unchanged, second.stale) == (0, 3, 2, 0)

    current = _reservations(warehouse)
    want = {r: CSV_STATUSES[s] for r, s in frame2.select("booking_ref", "reservation_status").rows()}
    assert dict(zip(current["external_id"], current["status"], strict=True)) == want
    assert dict(zip(current["external_id"], current["version"], strict=True)) == {
        **{r: 2 for r in moving}, **{r: 1 for r in still}
    }

    # The export of D_MID arrives late, after D2's: different bytes (not a ledger duplicate), older as-of: stale.
    late_path, _ = _export(data_dir, refs, D_MID)
    late = import_file(warehouse, late_path, portfolio, Clock(frozen_at="2015-07-12T02:00:00+00:00"))
    assert late.outcome == "loaded" and late.file_sha256 not in {first.file_sha256, second.file_sha256}
    # The three that moved are stale (their current version is as of D2); the two that never changed equal their
    # current version (as of D1, which D_MID does not predate): unchanged. Nothing is written either way.
    assert (late.new, late.changed, late.unchanged, late.stale) == (0, 0, 2, 3)
    assert _reservations(warehouse).equals(current)
    assert rows_of(warehouse, "reservation_versions").height == 5 + 3
    status = rows_of(warehouse, "integration_status")
    assert status.select("hotel_id", "last_status", "covered_through").rows() == [("H1", "ok", D2)]
