"""Every malformed file of the corpus gets its exact outcome, and nothing partial.

A rejected file: ``FileRejected`` with one message naming the file and the problem; no reservation, quarantine row or
raw copy of it; an ``import_ledger`` row 'rejected' with that message; the hotel its name belongs to (``H1_*``) is
marked failed in ``integration_status``. A loaded file: exactly the expected rows loaded and quarantined (location
``file:line``, readable reason), ``rows_read = rows_loaded + rows_quarantined`` in the report and in the ledger.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from hotel_pipeline.core import settings
from hotel_pipeline.core.clock import Clock
from hotel_pipeline.core.portfolio import Portfolio
from hotel_pipeline.core.warehouse import Tx, Warehouse
from hotel_pipeline.sources.csv.importer import import_file
from hotel_pipeline.sources.csv.parsing import FileRejected
from hotel_pipeline_tests.csv.corpus import BASE_ROWS, PLANTED_PII, Case, Loaded, Rejected, base_frame, corpus
from hotel_pipeline_tests.csv.helpers import deliver, digest, rows_of

#: Also run on PostgreSQL; the whole corpus runs on DuckDB.
REPRESENTATIVE = ["baseline", "bad_dates", "wrong_field_count", "latin1_byte", "unbalanced_quote", "header_only",
                  "nul_byte", "year_999999999", "year_zero", "adr_inf", "name_243_chars", "conflicting_duplicate",
                  "as_of_2099_in_name"]


def test_corpus_is_big_and_varied() -> None:
    from hotel_pipeline_tests.csv.corpus import _hostile_cases

    cases = corpus().values()
    assert len(cases) >= 60 and len(_hostile_cases()) >= 25
    assert sum(isinstance(c.expect, Rejected) for c in cases) >= 10
    assert sum(isinstance(c.expect, Loaded) and bool(c.expect.quarantined) for c in cases) >= 10
    assert len({c.payload for c in cases if c.id != "bad_as_of_in_name"}) == len(cases) - 1


def check_case(case: Case, warehouse: Warehouse, data_dir: Path, portfolio: Portfolio, clock: Clock) -> None:
    path = deliver(data_dir, case.file_name, case.payload)
    sha = digest(case.payload)
    if isinstance(case.expect, Rejected):
        check_rejected(case, path, sha, warehouse, data_dir, portfolio, clock)
    else:
        check_loaded(case, path, sha, warehouse, data_dir, portfolio, clock)


def check_rejected(case: Case, path: Path, sha: str, warehouse: Warehouse, data_dir: Path, portfolio: Portfolio,
                   clock: Clock) -> None:
    with pytest.raises(FileRejected) as info:
        import_file(warehouse, path, portfolio, clock)
    message = str(info.value)
    assert message.startswith(f"{case.file_name}: ")
    assert case.expect.message in message
    assert "\n" not in message
    with warehouse.transaction() as tx:
        check_rejected_tables(case, message, sha, tx, data_dir)


def check_rejected_tables(case: Case, message: str, sha: str, warehouse: Tx, data_dir: Path) -> None:
    # Nothing of the file is loaded, quarantined or landed.
    assert rows_of(warehouse, "reservation_versions").height == 0
    assert rows_of(warehouse, "quarantine").height == 0
    assert not (data_dir / "raw").exists()
    ledger = rows_of(warehouse, "import_ledger")
    assert ledger.select("file_sha256", "file_name", "outcome", "reason", "rows_read", "rows_loaded").rows() == [
        (sha, case.file_name, "rejected", message, 0, 0)
    ]
    assert ledger["raw_path"].to_list() == [None]
    status = rows_of(warehouse, "integration_status")
    assert status.select("hotel_id", "source", "last_status", "last_error", "errors").rows() == [
        ("H1", "csv", "failed", message, 1)
    ]
    assert status["last_success_at"].to_list() == [None]
    assert status["last_error_at"].to_list() == status["last_attempt_at"].to_list() != [None]  # when it happened


def check_loaded(case: Case, path: Path, sha: str, warehouse: Warehouse, data_dir: Path, portfolio: Portfolio,
                 clock: Clock) -> None:
    expect = case.expect
    report = import_file(warehouse, path, portfolio, clock)
    outcome = "partly_quarantined" if expect.quarantined else "loaded"
    assert (report.outcome, report.rows_read, report.rows_loaded, report.rows_quarantined) == (
        outcome, expect.read, expect.loaded, len(expect.quarantined)
    )
    assert report.rows_read == report.rows_loaded + report.rows_quarantined
    assert (report.new, report.changed, report.unchanged, report.stale) == (expect.loaded, 0, 0, 0)
    with warehouse.transaction() as tx:
        check_loaded_tables(case, sha, tx, data_dir)


def check_loaded_tables(case: Case, sha: str, warehouse: Tx, data_dir: Path) -> None:
    expect = case.expect

    versions = rows_of(warehouse, "reservation_versions")
    assert versions.height == expect.loaded
    if expect.loaded:
        assert set(versions["batch_id"]) == {sha}
        assert set(versions["hotel_id"]) == {"H1"}
        assert set(versions["version"]) == {1}
        refs = versions["external_id"].to_list()
        assert len(set(refs)) == len(refs)
        assert set(refs) <= set(base_frame()["booking_ref"])

    quarantine = rows_of(warehouse, "quarantine")
    got = sorted(
        ((int(loc.rsplit(":", 1)[1]), loc, reason) for loc, reason in quarantine.select("location", "reason").rows()),
    )
    assert [line for line, _, _ in got] == sorted(expect.quarantined)
    for line, location, reason in got:
        assert location == f"{case.file_name}:{line}"
        assert expect.quarantined[line] in reason, (line, reason)
    if quarantine.height:
        assert set(quarantine["batch_id"]) == {sha}
        assert set(quarantine["source"]) == {"csv"}
        payloads = "\n".join(quarantine["payload"])
        assert not [p for p in PLANTED_PII if p in payloads]  # names, e-mails and phones never leave the raw zone
        assert "\x00" not in payloads

    ledger = rows_of(warehouse, "import_ledger")
    outcome = "partly_quarantined" if expect.quarantined else "loaded"
    assert ledger.select("file_sha256", "outcome", "rows_read", "rows_loaded", "rows_quarantined").rows() == [
        (sha, outcome, expect.read, expect.loaded, len(expect.quarantined))
    ]
    raw = data_dir / ledger["raw_path"].item()
    assert raw.read_bytes() == case.payload  # the raw zone keeps the delivery byte for byte
    assert raw.is_relative_to(settings.raw_dir())

    status = rows_of(warehouse, "integration_status")
    # Every loaded file counts as a sync of its hotel, ``partial`` (with the count) when rows were held back, as a PMS
    # sync with quarantined records; a header-only file (no bookings) is charged to the hotel its name belongs to
    # (file_glob H1_*), so a quiet hotel is not skipped by the recorder.
    assert status.select("hotel_id", "source", "last_status", "records_fetched", "quarantined").rows() == [
        ("H1", "csv", "partial" if expect.quarantined else "ok", expect.loaded, len(expect.quarantined))
    ]


@pytest.mark.parametrize("case_id", list(corpus()))
def test_corpus_case(case_id: str, duckdb_warehouse: Warehouse, data_dir: Path, portfolio: Portfolio,
                     clock: Clock) -> None:
    check_case(corpus()[case_id], duckdb_warehouse, data_dir, portfolio, clock)


@pytest.mark.parametrize("case_id", REPRESENTATIVE)
def test_corpus_case_on_postgres(case_id: str, postgres_warehouse: Warehouse, data_dir: Path, portfolio: Portfolio,
                                 clock: Clock) -> None:
    """The same outcomes on the second engine (test_corpus_case runs every case, these included, on DuckDB)."""
    check_case(corpus()[case_id], postgres_warehouse, data_dir, portfolio, clock)


def test_loaded_values_of_special_rows(duckdb_warehouse: Warehouse, data_dir: Path, portfolio: Portfolio,
                                       clock: Clock) -> None:
    """NA children load as null (not 0, not a quarantine); a leap day loads as that date."""
    refs = base_frame()["booking_ref"].to_list()
    batches = {}
    for case_id in ("children_na", "leap_day"):
        case = corpus()[case_id]
        import_file(duckdb_warehouse, deliver(data_dir, case.file_name, case.payload), portfolio, clock)
        batches[case_id] = digest(case.payload)
    by_batch = lambda case_id: duckdb_warehouse.query(  # noqa: E731
        "SELECT external_id, version, children, arrival_date FROM reservation_versions WHERE batch_id = :b "
        "ORDER BY external_id", {"b": batches[case_id]},
    )
    na = by_batch("children_na")
    assert na.height == BASE_ROWS
    children = dict(zip(na["external_id"], na["children"], strict=True))
    assert children[refs[1]] is None and children[refs[2]] is None
    assert all(children[r] is not None for r in refs if r not in (refs[1], refs[2]))
    # The leap-day file differs from the first in ref 4's arrival and refs 1-2's children: three new versions.
    leap = by_batch("leap_day")
    assert sorted(leap["external_id"]) == sorted([refs[1], refs[2], refs[4]])
    assert set(leap["version"]) == {2}
    assert dict(zip(leap["external_id"], leap["arrival_date"], strict=True))[refs[4]] == date(2016, 2, 29)


def test_fast_and_careful_paths_agree_on_the_real_file() -> None:
    """The polars fast path and the csv-module path give the same rows, lines and record numbers."""
    from hotel_pipeline.core import settings
    from hotel_pipeline.core.portfolio import load_portfolio
    from hotel_pipeline.sources.csv import parsing

    mapping = parsing.CsvMapping.from_portfolio(load_portfolio())
    text = parsing.decode(settings.DATASET_PATH.read_bytes(), "hotel_bookings.csv.gz")
    header = text.split("\n", 1)[0].split(",")
    wanted = list(parsing._header(header, mapping, "x").items())
    fast = parsing._fast_split(text, header, wanted, mapping)
    assert fast is not None  # the real file takes the fast path
    short_row = text.replace("\n", "\nResort Hotel,0\n", 1)  # a ragged row must push the file onto the careful path
    assert parsing._fast_split(short_row, header, wanted, mapping) is None
    careful_rows, quarantined, read = parsing.split_rows(short_row, mapping, "x")
    assert read == 119391 and len(quarantined) == 1 and quarantined[0]["line"] == 2
    assert careful_rows.drop("_line", "_record").equals(fast[0].drop("_line", "_record"))
