"""A CSV export with quarantined rows is a ``partial`` sync of the hotels those rows belong to, as on the PMS path.

Why: the 03:00 recorder photographs a hotel only when its data is complete; an export that held a booking back in
quarantine is not, so the hotel's ``partial_sync`` policy (default: skip and log the count) must see it. A hotel of the
same file whose rows all loaded stays ``ok``; a row too broken to name its hotel counts for every hotel of the file.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from hotel_pipeline.core.clock import Clock
from hotel_pipeline.core.portfolio import Portfolio
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.pacing.recorder import plan_snapshots
from hotel_pipeline.sources.csv.dataset import load_history
from hotel_pipeline.sources.csv.importer import import_file
from hotel_pipeline.workshop.legacy_exports import export_frame
from hotel_pipeline_tests.csv.helpers import deliver, rows_of

AS_OF = date(2015, 7, 3)


def _two_hotel_export(bad_h1_rows: int = 0, unattributed: bool = False) -> bytes:
    """Eight real rows of each hotel in one file; the first ``bad_h1_rows`` H1 rows get an infinite ADR."""
    history = load_history()
    h1 = export_frame(history, "H1", AS_OF).head(8)
    h2 = export_frame(history, "H2", AS_OF).head(8)
    frame = pl.concat([h1, h2]).with_row_index("_i")
    frame = frame.with_columns(
        pl.when(pl.col("_i") < bad_h1_rows).then(pl.lit("inf")).otherwise(pl.col("adr").cast(pl.String)).alias("adr"),
    ).drop("_i")
    text = frame.write_csv()
    if unattributed:
        text += "one,field,short\n"
    return text.encode()


def _status(warehouse: Warehouse) -> dict[str, tuple]:
    rows = rows_of(warehouse, "integration_status").select("hotel_id", "last_status", "quarantined", "last_error")
    return {h: (s, q, e) for h, s, q, e in rows.rows()}


def test_quarantined_rows_make_their_hotel_partial_and_leave_the_other_ok(duckdb_warehouse: Warehouse,
                                                                          data_dir: Path, portfolio: Portfolio,
                                                                          clock: Clock) -> None:
    payload = _two_hotel_export(bad_h1_rows=2)
    report = import_file(duckdb_warehouse, deliver(data_dir, f"H1_{AS_OF}.csv", payload), portfolio, clock)
    assert (report.outcome, report.rows_quarantined) == ("partly_quarantined", 2)
    quarantine = rows_of(duckdb_warehouse, "quarantine")
    assert set(quarantine["hotel_id"]) == {"H1"}
    status = _status(duckdb_warehouse)
    assert status["H1"][:2] == ("partial", 2) and "2 rows quarantined" in status["H1"][2]
    assert status["H2"] == ("ok", 0, None)
    # the recorder's default policy skips the partial hotel, naming the count, and records the complete one
    with duckdb_warehouse.transaction() as tx:
        outcomes = {o.hotel_id: o for o in plan_snapshots(tx, portfolio, clock, date(2015, 7, 4), date(2015, 7, 4))}
    assert outcomes["H1"].status == "skipped"
    assert "csv: partial sync, 2 records quarantined (policy partial_sync: skip)" in outcomes["H1"].reason
    assert "partial" not in (outcomes["H2"].reason or "")


def test_a_row_that_names_no_hotel_makes_every_hotel_of_the_file_partial(duckdb_warehouse: Warehouse,
                                                                         data_dir: Path, portfolio: Portfolio,
                                                                         clock: Clock) -> None:
    payload = _two_hotel_export(unattributed=True)
    report = import_file(duckdb_warehouse, deliver(data_dir, f"H1_{AS_OF}.csv", payload), portfolio, clock)
    assert (report.outcome, report.rows_quarantined, report.rows_loaded) == ("partly_quarantined", 1, 16)
    status = _status(duckdb_warehouse)
    assert {h: s[:2] for h, s in status.items()} == {"H1": ("partial", 1), "H2": ("partial", 1)}


def test_the_same_partial_content_under_a_later_date_stays_partial(duckdb_warehouse: Warehouse, data_dir: Path,
                                                                   portfolio: Portfolio, clock: Clock) -> None:
    """A byte-identical re-delivery advances the coverage date but is as incomplete as the first delivery."""
    payload = _two_hotel_export(bad_h1_rows=1)
    import_file(duckdb_warehouse, deliver(data_dir, f"H1_{AS_OF}.csv", payload), portfolio, clock)
    later = Clock(frozen_at="2015-07-05T02:00:00+00:00")
    again = import_file(duckdb_warehouse, deliver(data_dir, "H1_2015-07-04.csv", payload), portfolio, later)
    assert again.outcome == "duplicate"
    rows = rows_of(duckdb_warehouse, "integration_status").filter(pl.col("hotel_id") == "H1").row(0, named=True)
    assert (rows["last_status"], rows["covered_through"]) == ("partial", date(2015, 7, 4))
