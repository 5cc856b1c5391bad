"""Smoke test of ``make bench`` on a tiny scale: the functions run and return figures of the right shape.

No timing is ever asserted here (the bench's numbers depend on the machine and its load).
"""

from __future__ import annotations

import csv
import gzip
import math
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from hotel_pipeline.core import settings
from hotel_pipeline.workshop import bench
from hotel_pipeline.workshop.channel_bench import run_channel_bench
from hotel_pipeline.workshop.dining_bench import run_dining_bench
from hotel_pipeline.workshop.occupancy_bench import NIGHTS, T, run_occupancy_bench
from hotel_pipeline.workshop.webhooks_bench import measure_lag
from hotel_pipeline_tests.conftest import require_postgres


def _shape(figures: list[bench.Figure], section: str) -> None:
    assert figures and all(f.section == section for f in figures)
    for f in figures:
        assert f.name and isinstance(f.unit, str)
        assert f.value is None or math.isfinite(f.value)  # never its size: timings depend on the machine
        assert f.verdict in ("", "met", "MISSED")


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOTEL_PIPELINE_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def _head_of_dataset(dest: Path, rows: int) -> Path:
    """The header and first ``rows`` rows of the data set, as a file of its own."""
    with gzip.open(settings.DATASET_PATH, "rt", encoding="utf-8") as fh:
        head = [next(fh) for _ in range(rows + 1)]
    tiny = dest / "tiny_hotel_bookings.csv"
    tiny.write_text("".join(head), encoding="utf-8")
    return tiny


def test_import_figures_on_a_tiny_file(tmp_path: Path, data_dir: Path) -> None:
    tiny = _head_of_dataset(tmp_path, 40)
    figures, profile = bench.bench_import(tmp_path, tiny, postgres=False, profile_on_miss=False)
    _shape(figures, "1 import")
    assert len(figures) == 1 and figures[0].value is not None and figures[0].target == "< 2 s"
    assert "(40 rows)" in figures[0].name
    assert profile == []


@pytest.mark.postgres
def test_import_figures_on_postgres_too(tmp_path: Path, data_dir: Path) -> None:
    require_postgres()
    tiny = _head_of_dataset(tmp_path, 40)
    figures, _ = bench.bench_import(tmp_path, tiny, postgres=True, profile_on_miss=False)
    _shape(figures, "1 import")
    assert [f.name for f in figures] == ["tiny_hotel_bookings.csv -> DuckDB (40 rows)",
                                         "tiny_hotel_bookings.csv -> Postgres (40 rows)"]
    assert figures[1].value is not None, figures[1].note


@pytest.mark.postgres
def test_steady_import_figures_on_an_early_night(tmp_path: Path, data_dir: Path) -> None:
    """The steady-state import of both engines, on the small exports of a night before most bookings were made."""
    require_postgres()
    figures = bench.bench_steady_import(tmp_path, night=date(2015, 1, 5))
    _shape(figures, "1 import")
    assert [f.name for f in figures] == ["steady-state daily import -> DuckDB (808 rows)",
                                         "steady-state daily import -> Postgres (808 rows)"]
    assert all(f.value is not None for f in figures), [f.note for f in figures]


def _rows_around_the_residents_week(dest: Path) -> Path:
    """The data set's rows of H1 (Resort Hotel) arriving in the fortnight around the occupancy bench's week."""
    months = {"July": 7, "August": 8}
    first, last = T - timedelta(days=7), T + timedelta(days=NIGHTS)
    with gzip.open(settings.DATASET_PATH, "rt", encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        rows = [r for r in reader if r["hotel"] == "Resort Hotel" and r["arrival_date_month"] in months
                and first <= date(int(r["arrival_date_year"]), months[r["arrival_date_month"]],
                                  int(r["arrival_date_day_of_month"])) < last]
    path = dest / "week_hotel_bookings.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=reader.fieldnames or [])
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.mark.postgres
def test_occupancy_figures_whatever_portfolio_the_process_was_started_with(
        tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The residents list on both engines. The section imports the legacy CSV data set, so it must do so under the
    CSV portfolio even in a process configured otherwise (here the demo's PMS-fed one, the default)."""
    require_postgres()
    monkeypatch.setenv("HOTEL_PIPELINE_CONFIG", str(settings.REPO_ROOT / "data" / "portfolio.yaml"))
    figures = run_occupancy_bench(dataset=_rows_around_the_residents_week(tmp_path))
    _shape(figures, "7 occupancy")
    assert [("DuckDB" in f.name, "Postgres" in f.name) for f in figures] == [(True, False), (False, True)]
    for f in figures:
        assert f.value is not None, f.note
        listed = re.search(r"\((\d+) room nights, (\d+) names decrypted\)", f.name)
        assert listed, f.name
        assert int(listed[1]) > 0 and listed[2] == listed[1]  # policy full: every room night shows its guest


def test_dining_figures_on_a_quarter_day(data_dir: Path) -> None:
    result = run_dining_bench(days=0.25)
    figures = bench.figures_from("6 dining", result)
    _shape(figures, "6 dining")
    assert {f.name for f in figures} >= {"polls", "events", "transition_s", "aggregates_rebuild_s"}
    assert result["polls"] > 0 and result["events"] > 0


@pytest.mark.slow
def test_channel_figures(data_dir: Path) -> None:
    figures = run_channel_bench()
    _shape(figures, "8 channel")
    assert len(figures) == 6 and all(f.value is not None for f in figures)
    assert "3650 room-nights changed" in figures[0].name and figures[0].target.startswith("minimum ")


@pytest.mark.slow(11)
def test_webhook_lag_of_one_day(tmp_path: Path, data_dir: Path) -> None:
    """The lag figure of the webhooks section (its load scenario is the load test's, webhooks/test_load.py)."""
    assert math.isfinite(measure_lag(tmp_path))


@pytest.mark.slow(9)
def test_reconstruction_nightly_and_runner_on_a_short_range(tmp_path: Path, data_dir: Path) -> None:
    figures = bench.bench_reconstruction(tmp_path, date(2016, 7, 14), date(2016, 7, 17), sample=2)
    _shape(figures, "2 reconstruction")
    assert [f.unit for f in figures] == ["s", "s", "s", "s", "x"]
    assert "4 dates" in figures[0].name and "2,920 rows written (expected 2,920)" in figures[0].note

    source = tmp_path / "recon_one_run.duckdb"
    runner = bench.bench_runner_vs_dbt(tmp_path, source, trivial=2, use_dbt=False)
    _shape(runner, "4 SQL runner vs dbt")
    names = [f.name for f in runner]
    assert any("runner: 2 trivial models" in n for n in names)
    assert [n.strip() for n in names if n.strip().startswith("runner: ") and "trivial" not in n] == [
        f"runner: {m}" for m in bench.REAL_MODELS]
    assert runner[-1].value is None and "not run" in runner[-1].note

    warehouse = bench.copy_duckdb(source, tmp_path / "night.duckdb")
    with dg.DagsterInstance.ephemeral() as instance:
        steps = bench.nightly_cycle(warehouse, instance, settings.inbox_dir(), date(2016, 7, 18))
    assert list(steps) == ["export", "import", "live", "recorder", "pickup"]
    assert all(math.isfinite(v) for v in steps.values())
    recorded = warehouse.query("SELECT COUNT(*) AS n FROM pacing_snapshots WHERE origin = 'recorded'")["n"][0]
    assert recorded == 2 * 365


def test_dbt_project_is_the_same_sql(tmp_path: Path) -> None:
    project = tmp_path / "dbt"
    bench.write_dbt_project(project, tmp_path / "w.duckdb", 3, ("reservations", "reservation_nights", "daily_metrics"),
                            {"run_at": "2016-07-18 02:00:00"})
    assert sorted(p.name for p in (project / "models" / "trivial").iterdir()) == [
        "trivial_001.sql", "trivial_002.sql", "trivial_003.sql"]
    daily = (project / "models" / "real" / "daily_metrics.sql").read_text()
    assert not daily.startswith("--") and "column hotel_id" not in daily
    assert ":run_at" not in daily and "cast('2016-07-18 02:00:00' as timestamp)" in daily
    assert "{{ ref('reservation_nights') }}" in daily  # a model of the project stays a ref
    assert "from hotels h" in daily  # a table the project does not build becomes its plain name
    assert "path:" in (project / "profiles.yml").read_text()


def test_report_shapes() -> None:
    figures = [bench.Figure("1 import", "x", 1.5, "s", "< 2 s", "met", "n"),
               bench.Figure("4 SQL runner vs dbt", "  y", None, "s", note="not available")]
    text = bench.table(figures)
    assert len(text.splitlines()) == 3 and "1.50 s" in text and "n/a" in text
    info = {**bench.machine(), "load_start": "0.0 0.0 0.0"}
    assert info["nproc"].isdigit() and info["python"]
    md = bench.markdown(figures, info, ["a: 1 s"], 12.0)
    assert "| 1 import | x | 1.50 s | < 2 s | met | n |" in md and "nproc" in md and "- a: 1 s" in md
    other = bench.figures_from("5 PMS", {"rows": 3, "status": "ok"})
    assert [(f.name, f.value, f.note) for f in other] == [("rows", 3.0, ""), ("status", None, "ok")]
    picked = bench.sample_dates(date(2016, 1, 1), date(2016, 1, 10), 3)
    assert len(picked) == 3 and picked[0] == date(2016, 1, 1) and picked[-1] == date(2016, 1, 10)
    assert isinstance(bench.demo_clock(date(2016, 7, 18), 3).now(), datetime)


def test_marginal_cost_lost_in_noise_is_not_a_negative_figure() -> None:
    assert bench.marginal(3.0, 1.0, 5) == pytest.approx(0.5)
    assert bench.marginal(0.98, 1.0, 2) is None  # the CI run that once reported -2.38 ms per model
    assert bench.marginal(1.0, 1.0, 2) is None
