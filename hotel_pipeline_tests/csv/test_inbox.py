"""The inbox: the sensor's planner (new files in name order, a cursor that survives restarts), the sensor itself, and
the import asset's run report (counts reconcile; a rejected file fails the run loudly, the good ones still load)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg

from hotel_pipeline.core.clock import Clock
from hotel_pipeline.core.portfolio import Portfolio, load_portfolio
from hotel_pipeline.core.portfolio_resource import PortfolioResource
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.defs.sources.csv.assets import csv_inbox_sensor, legacy_csv_import
from hotel_pipeline.sources.csv.importer import import_file
from hotel_pipeline.sources.csv.inbox import plan_inbox_run
from hotel_pipeline_tests.csv.corpus import corpus
from hotel_pipeline_tests.csv.helpers import deliver, rows_of, snapshot


def settled(path: Path) -> Path:
    """A delivery whose writer finished a minute ago (the sensor reads only files that stopped changing)."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns - 60_000_000_000))
    return path


def _fill_inbox(data_dir: Path) -> Path:
    inbox = data_dir / "inbox"
    for name, case_id in [("H2_c.csv", "baseline"), ("H1_b.csv", "bad_dates"), ("H1_a.csv.gz", "gzip_valid")]:
        settled(deliver(data_dir, name, corpus()[case_id].payload))
    (inbox / "README.txt").write_text("not an export")
    (inbox / "H1_d.csv.part").write_text("half-written")
    (inbox / "H1_e.csv").mkdir()  # a directory named like an export is not a file
    return inbox


def test_planner_returns_new_files_in_name_order_then_nothing(data_dir: Path) -> None:
    inbox = _fill_inbox(data_dir)
    files, cursor = plan_inbox_run(inbox, None)
    assert files == ["H1_a.csv.gz", "H1_b.csv", "H2_c.csv"]
    assert sorted(json.loads(cursor)) == files
    # A restarted daemon gets the stored cursor string back: nothing is planned twice.
    again, cursor2 = plan_inbox_run(inbox, str(cursor))
    assert again == [] and cursor2 == cursor
    # A new arrival, alone.
    deliver(data_dir, "H1_0_first_by_name.csv", corpus()["crlf_line_endings"].payload)
    newer, cursor3 = plan_inbox_run(inbox, cursor2)
    assert newer == ["H1_0_first_by_name.csv"]
    assert plan_inbox_run(inbox, cursor3)[0] == []


def test_a_file_touched_later_is_planned_again_and_the_ledger_makes_it_a_no_op(
    duckdb_warehouse: Warehouse, data_dir: Path, portfolio: Portfolio, clock: Clock
) -> None:
    inbox = _fill_inbox(data_dir)
    files, cursor = plan_inbox_run(inbox, None)
    first = [import_file(duckdb_warehouse, inbox / f, portfolio, clock) for f in files]
    assert [r.outcome for r in first] == ["loaded", "partly_quarantined", "loaded"]
    before = snapshot(duckdb_warehouse)

    path = inbox / "H1_b.csv"
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))  # re-copied: same bytes, new mtime
    replanned, _ = plan_inbox_run(inbox, cursor)
    assert replanned == ["H1_b.csv"]
    report = import_file(duckdb_warehouse, inbox / "H1_b.csv", portfolio, clock)
    assert report.outcome == "duplicate"
    assert snapshot(duckdb_warehouse) == before


def _tick(cursor: str | None, warehouse: Warehouse) -> dg.SensorResult:
    with dg.build_sensor_context(cursor=cursor, resources={
            "warehouse": warehouse, "portfolio": PortfolioResource.of(load_portfolio())}) as context:
        return csv_inbox_sensor(context)


def test_sensor_requests_one_run_per_batch_and_skips_with_the_cursor(data_dir: Path,
                                                                     duckdb_warehouse: Warehouse) -> None:
    _fill_inbox(data_dir)
    result = _tick(None, duckdb_warehouse)
    assert isinstance(result, dg.SensorResult)
    [request] = result.run_requests
    assert request.run_config == {"ops": {"legacy_csv_import": {"config": {
        "files": ["H1_a.csv.gz", "H1_b.csv", "H2_c.csv"]}}}}
    assert request.run_key.startswith("csv-")
    # The next evaluation (after a restart, the cursor comes back from the instance) finds nothing new.
    again = _tick(result.cursor, duckdb_warehouse)
    assert not again.run_requests
    assert again.skip_reason is not None and "no new files" in again.skip_reason.skip_message
    # The same batch yields the same run key: a replayed evaluation cannot start a second run.
    replay = _tick(None, duckdb_warehouse)
    assert replay.run_requests[0].run_key == request.run_key


def _run(files: list[str], warehouse: Warehouse, clock: Clock) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [legacy_csv_import],
        resources={"warehouse": warehouse, "clock": clock, "portfolio": PortfolioResource.of(load_portfolio())},
        run_config={"ops": {"legacy_csv_import": {"config": {"files": files}}}},
        raise_on_error=False,
    )


def test_import_run_reports_reconciled_counts_and_names_a_rejected_file_without_stopping(
    duckdb_warehouse: Warehouse, data_dir: Path, clock: Clock
) -> None:
    for case_id in ("bad_dates", "wrong_field_count", "semicolon_delimiter"):
        case = corpus()[case_id]
        deliver(data_dir, case.file_name, case.payload)
    good = [corpus()["bad_dates"].file_name, corpus()["wrong_field_count"].file_name]

    ok = _run(good, duckdb_warehouse, clock)
    assert ok.success
    meta = ok.asset_materializations_for_node("legacy_csv_import")[0].metadata
    counts = {k: meta[k].value for k in ("rows_read", "rows_loaded", "rows_quarantined", "duplicates_skipped")}
    assert counts == {"rows_read": 24, "rows_loaded": 7 + 10, "rows_quarantined": 5 + 2, "duplicates_skipped": 0}

    bad = corpus()["semicolon_delimiter"].file_name
    mixed = _run([bad, *good], duckdb_warehouse, clock)  # the good ones are now duplicates
    # The run goes on (the other files and hotels reach the live layer); the file check names the rejected one.
    assert mixed.success
    [check] = mixed.get_asset_check_evaluations()
    assert check.check_name == "csv_files_accounted" and not check.passed
    assert check.description == f"{bad}: wrong delimiter: expected ',' but the header is ';'-separated"
    ledger = rows_of(duckdb_warehouse, "import_ledger")
    assert sorted(ledger.select("file_name", "outcome").rows()) == sorted(
        [(good[0], "partly_quarantined"), (good[1], "partly_quarantined"), (bad, "rejected")]
    )


def test_a_crash_is_recorded_the_batch_goes_on_and_the_sensor_retries_it(
    duckdb_warehouse: Warehouse, data_dir: Path, clock: Clock, monkeypatch
) -> None:
    """An error that is no rejection (here: the raw zone cannot be written) records the file as failed with the
    error, marks its hotel failed, lets the files behind it load, and the next sensor tick asks for it again."""
    from hotel_pipeline.sources.csv import importer

    names = ["H1_a.csv", "H1_b.csv", "H2_c.csv"]
    for name, case_id in zip(names, ["baseline", "crlf_line_endings", "all_fields_quoted"], strict=True):
        settled(deliver(data_dir, name, corpus()[case_id].payload))
    real_land = importer.land_raw

    def land(payload, digest, file_name, hotel, day):
        if file_name == "H1_a.csv":
            raise OSError(28, "No space left on device")
        return real_land(payload, digest, file_name, hotel, day)

    monkeypatch.setattr(importer, "land_raw", land)
    first = _tick(None, duckdb_warehouse)
    [request] = first.run_requests
    run = _run(request.run_config["ops"]["legacy_csv_import"]["config"]["files"], duckdb_warehouse, clock)
    assert run.success
    [check] = run.get_asset_check_evaluations()
    assert not check.passed and "H1_a.csv: import failed: OSError" in check.description
    ledger = dict(rows_of(duckdb_warehouse, "import_ledger").select("file_name", "outcome").iter_rows())
    assert ledger == {"H1_a.csv": "failed", "H1_b.csv": "loaded", "H2_c.csv": "loaded"}
    reason = rows_of(duckdb_warehouse, "import_ledger", "WHERE file_name = 'H1_a.csv'")["reason"].item()
    assert "No space left on device" in reason
    # The cursor has moved past H1_a.csv, yet the next tick asks for it again, once per failure.
    second = _tick(first.cursor, duckdb_warehouse)
    [retry] = second.run_requests
    assert retry.run_config["ops"]["legacy_csv_import"]["config"]["files"] == ["H1_a.csv"]
    assert retry.run_key != request.run_key and retry.tags["retry"] == "true"
    monkeypatch.setattr(importer, "land_raw", real_land)  # the disk was cleaned up
    assert _run(["H1_a.csv"], duckdb_warehouse, clock).success
    ledger = dict(rows_of(duckdb_warehouse, "import_ledger").select("file_name", "outcome").iter_rows())
    assert ledger["H1_a.csv"] == "loaded"
    assert not _tick(second.cursor, duckdb_warehouse).run_requests


def test_a_killed_import_leaves_a_failed_entry_that_is_retried(duckdb_warehouse: Warehouse, data_dir: Path,
                                                               portfolio: Portfolio, clock: Clock, monkeypatch) -> None:
    """A process that dies between the claim and the commit (no except clause runs) still leaves the file retryable."""
    from hotel_pipeline.sources.csv import importer

    deliver(data_dir, "H1_a.csv", corpus()["baseline"].payload)

    def die(*args, **kwargs):
        raise KeyboardInterrupt  # what a kill looks like to the code after the claim: nothing else runs

    monkeypatch.setattr(importer, "_import", die)
    try:
        import_file(duckdb_warehouse, data_dir / "inbox" / "H1_a.csv", portfolio, clock)
    except KeyboardInterrupt:
        pass
    row = rows_of(duckdb_warehouse, "import_ledger").row(0, named=True)
    assert (row["outcome"], row["attempts"]) == ("failed", 1) and "did not finish" in row["reason"]
    assert [n for n, _ in importer_retries(duckdb_warehouse, data_dir)] == ["H1_a.csv"]


def importer_retries(warehouse: Warehouse, data_dir: Path) -> list[tuple[str, str]]:
    from hotel_pipeline.sources.csv.inbox import plan_retries

    return plan_retries(warehouse, data_dir / "inbox", max_attempts=3)


def test_upper_case_extensions_are_exports_and_unsettled_files_wait(data_dir: Path) -> None:
    inbox = data_dir / "inbox"
    for name in ("H1_EXPORT.CSV", "H2_EXPORT.CSV.GZ", "H1_mixed.Csv", "H1_notes.txt", "H1_export.csv.bak"):
        (inbox / name).write_bytes(b"x")
    files, _ = plan_inbox_run(inbox, None)
    assert files == ["H1_EXPORT.CSV", "H1_mixed.Csv", "H2_EXPORT.CSV.GZ"]
    # A file modified 5 s ago is still being written for a 30 s stability window: it waits, outside the cursor.
    now = (inbox / "H1_EXPORT.CSV").stat().st_mtime + 5
    waiting, cursor = plan_inbox_run(inbox, None, stable_seconds=30, now=now)
    assert waiting == [] and json.loads(cursor) == {}
    later, _ = plan_inbox_run(inbox, cursor, stable_seconds=30, now=now + 30)
    assert later == files
