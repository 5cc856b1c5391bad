"""The pace report and the BI exports on the real data set: a real headless Chromium renders the page, and the charts'
points, the Parquet files and the asset metadata are checked against the warehouse."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from click.testing import CliRunner

from hotel_pipeline.core.clock import Clock
from hotel_pipeline.core.portfolio import load_portfolio
from hotel_pipeline.core.sql_models import run_model
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.exports.parquet import export_marts, read_export
from hotel_pipeline.pacing.recorder import take_snapshots
from hotel_pipeline.reports.publish import publish_reports
from hotel_pipeline_tests.pipeline_helpers import build_live, clock_at, import_full_dataset

AS_OF = date(2016, 7, 31)
CHROMIUM = os.environ.get("HOTEL_TEST_CHROMIUM", "/usr/bin/chromium")
pytestmark = pytest.mark.slow(6)  # one real-data warehouse for the module (about 10 s on an idle machine)

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def pace_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    """The data set as known on 2016-07-30, the historian reconstructed 2015-07-01 .. 2016-07-31, pickup as of T."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOTEL_PIPELINE_DATA_DIR", str(tmp_path_factory.mktemp("data")))
        warehouse = Warehouse(url=f"duckdb:///{tmp_path_factory.mktemp('wh') / 'w.duckdb'}")
        clock = clock_at(AS_OF)
        import_full_dataset(warehouse, clock)
        build_live(warehouse, clock)
        take_snapshots(warehouse, load_portfolio(), clock, date(2015, 7, 1), AS_OF)
        with warehouse.transaction() as tx:
            run_model(tx, "pickup", {"run_at": clock.now_naive_utc()})
        yield warehouse


def _chromium() -> str:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing (apt-get install -y chromium; .ci/run installs it)")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    return CHROMIUM


def test_page_renders_in_chromium_with_the_warehouse_figures(pace_warehouse: Warehouse, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    executable = _chromium()
    published = publish_reports(pace_warehouse, tmp_path)
    expected = pace_warehouse.query(
        "SELECT hotel_id, stay_date, pickup_7d, pace_vs_stly FROM pickup WHERE stay_date < as_of_date + 90 "
        "ORDER BY hotel_id, stay_date")
    assert expected.height == 2 * 90
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page()
            page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto(published.page.as_uri())
            page.wait_for_load_state("load")
            for hotel_id in ("H1", "H2"):
                section = page.locator(f'section[data-hotel-id="{hotel_id}"]')
                assert section.locator("img").evaluate("img => img.complete && img.naturalWidth > 400")
                for series in ("pickup_7d", "pace_vs_stly"):
                    points = section.locator(f'svg[data-series="{series}"] circle').evaluate_all(
                        "cs => cs.map(c => [c.dataset.stayDate, Number(c.dataset.value)])")
                    want = expected.filter((pl.col("hotel_id") == hotel_id) & pl.col(series).is_not_null())
                    assert points == [[d.isoformat(), v] for d, v in want.select("stay_date", series).iter_rows()]
                    assert len(points) > 80, (hotel_id, series)
            embedded = page.evaluate("JSON.parse(document.getElementById('pace-data').textContent)")
        finally:
            browser.close()
    assert problems == []
    assert embedded["H2"]["as_of"] == AS_OF.isoformat()
    # H2's pace vs STLY is far above zero: the data set's City Hotel sold few rooms a night in July 2015 (README).
    assert min(n["pace_vs_stly"] for n in embedded["H2"]["nights"][:14]) > 50


def test_booking_curves_come_from_the_historian(pace_warehouse: Warehouse, tmp_path: Path) -> None:
    data = publish_reports(pace_warehouse, tmp_path, ["H1"]).data["H1"]
    curve = data["curves"][0]
    stay = date.fromisoformat(curve["stay_date"])
    point = curve["this_year"][-1]
    got = pace_warehouse.query(
        "SELECT rooms_sold FROM pacing_snapshots WHERE hotel_id = 'H1' AND stay_date = :d AND snapshot_date = :s",
        {"d": stay, "s": date.fromordinal(stay.toordinal() - point["days_before"])})["rooms_sold"][0]
    assert point["rooms_sold"] == got and point["days_before"] == (stay - AS_OF).days
    assert curve["last_year"] and curve["last_year_stay_date"] == date(2015, 8, 9).isoformat()  # 364 days back


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_parquet_exports_are_idempotent_and_readable_everywhere(pace_warehouse: Warehouse, tmp_path: Path) -> None:
    import duckdb
    import pyarrow.dataset as ds

    written = export_marts(pace_warehouse, tmp_path)
    first = _tree(tmp_path)
    assert (tmp_path / "pacing_snapshots" / "hotel_id=H1" / f"snapshot_date={AS_OF}" / "part-0.parquet").exists()
    export_marts(pace_warehouse, tmp_path)
    assert _tree(tmp_path) == first  # same warehouse, same files; no staging folder left behind
    rows = int(pace_warehouse.query("SELECT COUNT(*) AS n FROM pacing_snapshots")["n"][0])
    assert written["pacing_snapshots"]["rows"] == rows
    glob = str(tmp_path / "pacing_snapshots" / "**" / "*.parquet")
    con = duckdb.connect()
    n, h2 = con.execute(
        "SELECT COUNT(*), SUM(CASE WHEN hotel_id = 'H2' THEN rooms_sold END) "
        "FROM read_parquet(?, hive_partitioning = true)", [glob]).fetchone()
    want_h2 = pace_warehouse.query("SELECT SUM(rooms_sold) AS s FROM pacing_snapshots WHERE hotel_id = 'H2'")["s"][0]
    assert n == rows and h2 == want_h2
    assert ds.dataset(tmp_path / "pacing_snapshots", format="parquet", partitioning="hive").count_rows() == rows
    pickup = read_export(tmp_path, "pickup").sort("hotel_id", "stay_date")
    want = pace_warehouse.query("SELECT * FROM pickup ORDER BY hotel_id, stay_date")
    assert pickup.select(want.columns).with_columns(pl.col("hotel_id").cast(pl.String)).equals(want)


def test_assets_show_the_png_in_their_metadata(pace_warehouse: Warehouse, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from hotel_pipeline.defs.exports.definitions import bi_exports
    from hotel_pipeline.defs.reports.definitions import pace_report

    monkeypatch.setenv("HOTEL_PIPELINE_DATA_DIR", str(tmp_path))
    result = dg.materialize([pace_report, bi_exports], resources={"warehouse": pace_warehouse,
                                                                  "clock": Clock(frozen_at="2016-07-31T02:00:00Z")})
    assert result.success
    meta = result.asset_materializations_for_node("pace_report")[0].metadata
    assert meta["H1 pace report"].value.count("](data:image/png;base64,iVBOR") == 1
    assert (tmp_path / "exports" / "pace_report.html").exists()
    assert (tmp_path / "exports" / "pickup" / "hotel_id=H2" / "part-0.parquet").exists()


def test_report_command(pace_warehouse: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hotel_pipeline.cli import main

    monkeypatch.setenv("HOTEL_WAREHOUSE_URL", pace_warehouse.url)
    result = CliRunner().invoke(main, ["report", "--hotel", "H2", "--dest", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pace_report.html", "pace_report_H2.png"]
    shutil.rmtree(tmp_path)
    refused = CliRunner().invoke(main, ["report", "--hotel", "H7", "--dest", str(tmp_path)])
    assert refused.exit_code == 2 and "H7 is not in the portfolio" in refused.output
