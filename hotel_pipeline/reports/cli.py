"""``hotel-pipeline report``: write the pace report from the warehouse."""

from __future__ import annotations

from pathlib import Path

import click

from hotel_pipeline.core import settings
from hotel_pipeline.core.cli_params import check_hotels, hotel_option


@click.command()
@hotel_option("Hotel id of the portfolio (repeatable; default: every hotel with pickup).")
@click.option("--dest", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to write into (default: $HOTEL_PIPELINE_DATA_DIR/exports).")
def report(hotels: tuple[str, ...], dest: Path | None) -> None:
    """Write the pace report: booking curves vs last year, pickup, pace vs STLY, occupancy, ADR, health.

    One self-contained HTML page (pace_report.html) and one PNG per hotel.
    """
    from hotel_pipeline.core.warehouse import Warehouse
    from hotel_pipeline.reports.publish import publish_reports

    hotel_ids = check_hotels(hotels) if hotels else None
    try:
        published = publish_reports(Warehouse(), dest or settings.exports_dir(), hotel_ids)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(published.page)
    for path in published.pngs.values():
        click.echo(path)
