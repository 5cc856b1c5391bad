"""The inbox: the sensor's planner (new files in name order, a cursor that survives restarts), the sensor itself, and
the import asset's run report (counts reconcile; a rejected file fails the run loudly, the good ones still load)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg

from hotel_pipeline.core.clock import Clock
from hotel_pipeline.core.portfolio import Portfolio
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.defs.sources.csv.assets import csv_inbox_sensor, legacy_csv_import, plan_inbox_run
from hotel_pipeline.sources.csv.importer import import_file
from hotel_pipeline_tests.csv.corpus import corpus
from hotel_pipeline_tests.csv.helpers import deliver, rows_of, snapshot


def _fill_inbox(data_dir: Path) -> Path:
    inbox = data_dir / "inbox"
    for name, case_id in [("H2_c.csv", "baseline"), ("H1_b.csv", "bad_dates"), ("H1_a.csv.gz", "gzip_valid")]:
        deliver(data_dir, name, corpus()[case_id].payload)
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
    assert [r.outcome for r in first] == ["loaded", "loaded", "loaded"]
    before = snapshot(duckdb_warehouse)

    path = inbox / "H1_b.csv"
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))  # re-copied: same bytes, new mtime
    replanned, _ = plan_inbox_run(inbox, cursor)
    assert replanned == ["H1_b.csv"]
    report = import_file(duckdb_warehouse, inbox / "H1_b.csv", portfolio, clock)
    assert report.outcome == "duplicate"
    assert snapshot(duckdb_warehouse) == before


def test_sensor_requests_one_run_per_batch_and_skips_with_the_cursor(data_dir: Path) -> None:
    _fill_inbox(data_dir)
    result = csv_inbox_sensor(dg.build_sensor_context(cursor=None))
    assert isinstance(result, dg.SensorResult)
    [request] = result.run_requests
    assert request.run_config == {"ops": {"legacy_csv_import": {"config": {
        "files": ["H1_a.csv.gz", "H1_b.csv", "H2_c.csv"]}}}}
    assert request.run_key.startswith("csv-")
    # The next evaluation (after a restart, the cursor comes back from the instance) finds nothing new.
    again = csv_inbox_sensor(dg.build_sensor_context(cursor=result.cursor))
    assert not again.run_requests
    assert again.skip_reason is not None and "no new files" in again.skip_reason.skip_message
    # The same batch yields the same run key: a replayed evaluation cannot start a second run.
    replay = csv_inbox_sensor(dg.build_sensor_context(cursor=None))
    assert replay.run_requests[0].run_key == request.run_key


def _run(files: list[str], warehouse: Warehouse, clock: Clock) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [legacy_csv_import],
        resources={"warehouse": warehouse, "clock": clock},
        run_config={"ops": {"legacy_csv_import": {"config": {"files": files}}}},
        raise_on_error=False,
    )


def test_import_run_reports_reconciled_counts_and_fails_loudly_on_a_rejected_file(
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
    failed = _run([bad, *good], duckdb_warehouse, clock)  # the good ones are now duplicates
    assert not failed.success
    [failure] = failed.get_step_failure_events()
    description = failure.step_failure_data.user_failure_data.description
    assert description == f"{bad}: wrong delimiter: expected ',' but the header is ';'-separated"
    ledger = rows_of(duckdb_warehouse, "import_ledger")
    assert sorted(ledger.select("file_name", "outcome").rows()) == sorted(
        [(good[0], "loaded"), (good[1], "loaded"), (bad, "rejected")]
    )
