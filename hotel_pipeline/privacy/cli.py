"""``hotel-pipeline privacy``: erase a guest, produce a residents list, purge expired detail."""

from __future__ import annotations

import getpass
from datetime import date

import click

from hotel_pipeline.core import settings
from hotel_pipeline.core.cli_params import ISO_DATE, check_hotels, portfolio_or_fail


def _who() -> str:
    return f"cli:{getpass.getuser()}"


@click.group(name="privacy")
def privacy() -> None:
    """Guest privacy: erasure (right to be forgotten), residents lists by policy, retention."""


@privacy.command()
@click.option("--hotel", required=True, metavar="HOTEL_ID", help="Hotel of the guest.")
@click.option("--external-id", default=None, help="The guest's booking number at the source.")
@click.option("--email", default=None, help="The guest's e-mail (finds every record of that guest at the hotel).")
def erase(hotel: str, external_id: str | None, email: str | None) -> None:
    """Erase one guest: destroy their key, redact the raw zone, log it; aggregates stay unchanged."""
    from hotel_pipeline.core.clock import Clock
    from hotel_pipeline.core.warehouse import Warehouse
    from hotel_pipeline.privacy.erasure import erase_guest

    check_hotels([hotel], flag="--hotel")
    if not external_id and not email:
        raise click.UsageError("name the guest with --external-id or --email")
    result = erase_guest(Warehouse(), hotel, external_id=external_id, email=email, requested_by=_who(),
                         now=Clock().now_naive_utc(), raw_root=settings.raw_dir())
    click.echo(f"{result.status}: {result.guests_erased} guest record(s) shredded, "
               f"{result.fields_redacted} field(s) redacted in {result.raw_files_redacted} raw file(s)")


@privacy.command()
@click.option("--hotel", required=True, metavar="HOTEL_ID", help="Hotel whose residents to list.")
@click.option("--from", "start", type=ISO_DATE, default=None, help="First night (default: the hotel's business date).")
@click.option("--nights", type=click.IntRange(1, 366), default=7, show_default=True, help="Nights to list.")
def residents(hotel: str, start: date | None, nights: int) -> None:
    """Print the residents list (names only as the hotel's guest_display policy allows; logged)."""
    from hotel_pipeline.core.clock import Clock
    from hotel_pipeline.core.warehouse import Warehouse
    from hotel_pipeline.occupancy.residents import residents_list

    portfolio = portfolio_or_fail()
    check_hotels([hotel], portfolio, flag="--hotel")
    clock = Clock()
    h = portfolio.hotel(hotel)
    frame = residents_list(Warehouse(), h, start or clock.business_date(h.timezone), nights, requested_by=_who(),
                           now=clock.now_naive_utc())
    for row in frame.iter_rows(named=True):
        board = "DBB" if row["dinner_included"] else row["meal_plan"]
        click.echo(f"{row['stay_date']}  {row['room']:<14} {row['guest']:<28} {board:<4} "
                   f"{row['adults']}+{row['children'] or 0}  booking {row['booking']}")


@privacy.command()
def retention() -> None:
    """Purge room-level detail and names older than each hotel's retention_days after departure."""
    from hotel_pipeline.core.clock import Clock
    from hotel_pipeline.core.warehouse import Warehouse
    from hotel_pipeline.privacy.retention import purge_expired

    log = purge_expired(Warehouse(), portfolio_or_fail(), Clock(), _who())
    for row in log.iter_rows(named=True):
        click.echo(f"{row['hotel_id']} {row['table_name']}: {row['rows_purged']} purged (before {row['cutoff_date']})")
