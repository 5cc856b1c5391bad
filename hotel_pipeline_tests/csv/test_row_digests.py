"""Unchanged rows of a full-state export skip the parse; changed and new rows are imported exactly as before.

On real daily exports of the bundled data set: a night's export is last night's book plus a handful of changes, so
the digest of each raw row (``csv_row_digests``) lets almost every row be counted unchanged without being parsed.
Whatever the skip does, the warehouse must end up exactly as the full comparison of every row leaves it.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from hotel_pipeline.core.clock import Clock, local_instant
from hotel_pipeline.core.portfolio import Portfolio
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.sources.csv import importer
from hotel_pipeline.sources.csv.dataset import load_history
from hotel_pipeline.sources.csv.importer import import_file
from hotel_pipeline.sources.csv.parsing import CsvMapping, parse_file
from hotel_pipeline.workshop.legacy_exports import export_frame, export_name
from hotel_pipeline_tests.csv.helpers import deliver, rows_of, snapshot

DAY = date(2015, 7, 3)


def night_after(day: date) -> Clock:
    return Clock(frozen_at=local_instant(day + timedelta(days=1), "Europe/Lisbon", 3).isoformat())


def export(day: date) -> pl.DataFrame:
    return export_frame(load_history(), "H1", day)


def payload(frame: pl.DataFrame) -> bytes:
    return frame.write_csv().encode()


def with_adr(frame: pl.DataFrame, ref: str, adr: float) -> pl.DataFrame:
    return frame.with_columns(pl.when(pl.col("booking_ref") == ref).then(pl.lit(str(adr))).otherwise(
        pl.col("adr").cast(pl.String)).alias("adr"))


def test_a_changed_row_is_imported_and_unchanged_ones_are_neither_parsed_nor_versioned(
        warehouse: Warehouse, data_dir: Path, portfolio: Portfolio) -> None:
    first = export(DAY)
    import_file(warehouse, deliver(data_dir, export_name("H1", DAY), payload(first)), portfolio, night_after(DAY))
    versions = rows_of(warehouse, "reservation_versions").height
    assert versions == first.height

    ref = first["booking_ref"][first.height // 2]
    nxt = DAY + timedelta(days=1)
    changed = with_adr(first, ref, 123.45)
    name, body = export_name("H1", nxt), payload(changed)
    clock = night_after(nxt)

    # The parse itself: only the changed row reaches the typed frame; the others are only counted.
    with warehouse.transaction() as tx:
        parsed = parse_file(body, name, CsvMapping.from_portfolio(portfolio), portfolio.import_limits,
                            clock.business_date("Europe/Lisbon"), clock.now_naive_utc(),
                            unchanged=importer._vouched_by_digest(tx, portfolio, nxt))
    assert parsed.valid["external_id"].to_list() == [ref]
    assert parsed.unchanged.height == first.height - 1 and parsed.rows_read == first.height

    report = import_file(warehouse, deliver(data_dir, name, body), portfolio, clock)
    assert (report.new, report.changed, report.unchanged, report.stale) == (0, 1, first.height - 1, 0)
    assert (report.rows_loaded, report.rows_quarantined) == (first.height, 0)
    after = rows_of(warehouse, "reservation_versions")
    assert after.height == versions + 1
    mine = after.filter(pl.col("external_id") == ref).sort("version")
    assert mine["version"].to_list() == [1, 2] and mine["net_amount"][1] == pytest.approx(round(123.45 * mine["nights"][1], 2))
    assert after.filter(pl.col("external_id") != ref)["version"].max() == 1

    # The row changes back the night after (the real export of that day): its digest now is the changed row's, so
    # it is compared, and versioned again, like every booking that day's export really changed.
    back = nxt + timedelta(days=1)
    real = export(back)
    again = import_file(warehouse, deliver(data_dir, export_name("H1", back), payload(real)), portfolio,
                        night_after(back))
    mine = rows_of(warehouse, "reservation_versions").filter(pl.col("external_id") == ref).sort("version")
    assert mine["version"].to_list() == [1, 2, 3] and mine["net_amount"][2] == mine["net_amount"][0]
    moved = real.join(first, on=real.columns, how="anti").height  # rows of that day that differ from DAY's
    assert (again.new + again.changed, again.unchanged) == (moved + 1, real.height - moved - 1)


def _nights(day: date) -> list[tuple[str, bytes, Clock]]:
    """A week of real exports, each with the hard cases the skip must not change: a row that fails validation, a
    booking id on two lines with different content (one of them last night's row), an exact repeat, a booking that
    changes and changes back, and a late export (older than the current version of rows equal to it: stale)."""
    out = []
    first, last = export(day), export(day + timedelta(days=5))
    stays = pl.sum_horizontal(pl.col("stays_in_weekend_nights", "stays_in_week_nights").cast(pl.Int32)) > 0  # adr counts
    still = first.filter(stays).join(last, on=first.columns, how="semi")["booking_ref"][0]  # the same row all week
    for i in range(6):
        d = day + timedelta(days=i)
        frame = export(d)
        refs = frame["booking_ref"]
        if i in (2, 3):
            frame = with_adr(frame, still, 55.5)
            frame = frame.with_columns(pl.when(pl.col("booking_ref") == refs[5]).then(pl.lit("many"))
                                       .otherwise(pl.col("adults").cast(pl.String)).alias("adults"))
        if i == 3:
            frame = pl.concat([frame.cast(pl.String), with_adr(frame.filter(pl.col("booking_ref") == refs[7]), refs[7], 9.5)
                               .cast(pl.String), frame.filter(pl.col("booking_ref") == refs[9]).cast(pl.String)])
        out.append((export_name("H1", d), payload(frame), night_after(d)))
    late = day + timedelta(days=1)
    out.append((export_name("H1", late).replace(".csv", "_resent.csv"), payload(with_adr(export(late), export(late)["booking_ref"][3], 77.0)),
                night_after(day + timedelta(days=6))))
    return out


def test_the_warehouse_is_the_same_with_and_without_the_skip(tmp_path: Path, data_dir: Path, portfolio: Portfolio,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    nights = _nights(DAY)
    skipping = Warehouse(url=f"duckdb:///{tmp_path / 'skipping.duckdb'}")
    reports = [import_file(skipping, deliver(data_dir, n, b), portfolio, c) for n, b, c in nights]
    assert sum(r.unchanged for r in reports[1:]) > 0.9 * sum(r.rows_read for r in reports[1:])
    assert reports[3].rows_quarantined == 4  # the bad row, both lines of the conflicting id, the repeat
    assert reports[-1].stale > 0  # the late export: what moved on since is stale, its one edit a change

    monkeypatch.setattr(importer, "_vouched_by_digest",
                        lambda tx, p, d: lambda c: pl.DataFrame(schema={"hotel_id": pl.String, "external_id": pl.String}))
    full = Warehouse(url=f"duckdb:///{tmp_path / 'full.duckdb'}")
    compared = [import_file(full, deliver(data_dir, n, b), portfolio, c) for n, b, c in nights]
    assert [r.__dict__ for r in reports] == [r.__dict__ for r in compared]
    assert snapshot(skipping) == snapshot(full)


def test_a_version_written_without_a_digest_is_never_vouched_for(duckdb_warehouse: Warehouse, data_dir: Path,
                                                                 portfolio: Portfolio) -> None:
    """An export without an as-of date in its name is imported in full and stores no digest; a booking it changed
    must not be skipped the night after on the strength of the digest of its older version."""
    first = export(DAY)
    stays = pl.sum_horizontal(pl.col("stays_in_weekend_nights", "stays_in_week_nights").cast(pl.Int32)) > 0
    ref = first.filter(stays)["booking_ref"][0]
    import_file(duckdb_warehouse, deliver(data_dir, export_name("H1", DAY), payload(first)), portfolio, night_after(DAY))
    nxt = DAY + timedelta(days=1)
    correction = with_adr(export(nxt), ref, 321.0)
    import_file(duckdb_warehouse, deliver(data_dir, "H1_correction.csv", payload(correction)), portfolio,
                night_after(nxt))
    versions = lambda: rows_of(duckdb_warehouse, "reservation_versions").filter(  # noqa: E731
        pl.col("external_id") == ref).sort("version")
    assert versions()["version"].to_list() == [1, 2]
    back = nxt + timedelta(days=1)
    row = export(back).filter(pl.col("booking_ref") == ref)
    assert row.equals(first.filter(pl.col("booking_ref") == ref))  # the raw row the first digest was taken of
    import_file(duckdb_warehouse, deliver(data_dir, export_name("H1", back), payload(export(back))), portfolio,
                night_after(back))
    assert versions()["version"].to_list() == [1, 2, 3]
    assert versions()["net_amount"][2] == versions()["net_amount"][0]
