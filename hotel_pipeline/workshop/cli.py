"""The workshop's commands of ``hotel-pipeline``: demo, legacy exports, vendor sandboxes, benchmarks.

They are plugins of the production CLI (``[project.entry-points."hotel_pipeline.cli"]`` in pyproject.toml), so
production code never imports the workshop. Each command imports its implementation only when it runs.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from hotel_pipeline.core import settings
from hotel_pipeline.core.cli_params import ISO_DATE, check_hotels, check_range, hotel_option
from hotel_pipeline.workshop.sandbox.cli import sandbox

__all__ = ["bench", "demo", "dev", "exports", "sandbox"]


@click.command()
@click.option("--reset", is_flag=True,
              help="Start over even if the warehouse holds tables the demo did not create (they are deleted).")
def demo(reset: bool) -> None:
    """Run the whole pipeline on the bundled data set, as a deployment would, and print pickup.

    Writes to its own warehouse, data/demo/warehouse.duckdb (or HOTEL_WAREHOUSE_URL when set), and its own data
    folder data/demo/; the runs go to the Dagster instance that `make dev` shows.
    """
    from hotel_pipeline.workshop.demo import DemoRefused
    from hotel_pipeline.workshop.demo import main as demo_main

    try:
        demo_main(reset=reset)
    except DemoRefused as exc:
        raise click.ClickException(str(exc)) from exc


@click.command()
@click.option("--from", "start", type=ISO_DATE, required=True, help="First business date to export (YYYY-MM-DD).")
@click.option("--to", "end", type=ISO_DATE, required=True, help="Last business date to export, inclusive (YYYY-MM-DD).")
@click.option("--dest", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to write to (default: the inbox, $HOTEL_PIPELINE_DATA_DIR/inbox).")
@hotel_option()
def exports(start: date, end: date, dest: Path | None, hotels: tuple[str, ...]) -> None:
    """Write the daily 'as of business date' CSV exports a legacy PMS would drop, one file per hotel and date."""
    from hotel_pipeline.workshop.legacy_exports import write_daily_exports

    check_range(start, end)
    hotel_ids = check_hotels(hotels)
    for path in write_daily_exports(dest or settings.inbox_dir(), start, end, hotel_ids):
        click.echo(path)


@click.command()
@click.option("--trivial", type=click.IntRange(min=2), default=20, show_default=True,
              help="Trivial SQL models for the runner-vs-dbt comparison.")
@click.option("--sample", type=click.IntRange(min=1), default=20, show_default=True,
              help="Snapshot dates run as one Dagster run each (extrapolated to the whole range).")
@click.option("--nights", type=click.IntRange(min=1), default=2, show_default=True,
              help="Steady-state nights to time.")
@click.option("--no-postgres", is_flag=True, help="Skip the Postgres import.")
@click.option("--no-dbt", is_flag=True, help="Skip the dbt-duckdb comparison.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the markdown record (default: docs/benchmarks.md).")
def bench(trivial: int, sample: int, nights: int, no_postgres: bool, no_dbt: bool, out: Path | None) -> None:
    """Measure import, reconstruction, the nightly cycle, the SQL runner and the other domains."""
    from hotel_pipeline.workshop import bench as bench_module

    bench_module.main(trivial=trivial, sample=sample, nights=nights, postgres=not no_postgres,
                      use_dbt=not no_dbt, out=out or bench_module.DOC_PATH)


@click.command()
@click.option("--port", type=click.IntRange(1, 65535), default=3000, show_default=True,
              help="Port of the Dagster UI; a free one is taken if it is in use.")
def dev(port: int) -> None:
    """The Dagster UI over the demo's warehouse and runs, with the PMS sandbox on a free port (Ctrl-C stops both)."""
    from hotel_pipeline.workshop.dev import main as dev_main

    raise SystemExit(dev_main(port=port))
