"""``hotel-pipeline privacy``: erase a guest, purge expired detail (the residents list is the occupancy domain's own
command, ``hotel_pipeline.occupancy.cli``, listed under this group by ``hotel_pipeline.cli``)."""

from __future__ import annotations

import getpass

import click

from hotel_pipeline.core import settings
from hotel_pipeline.core.cli_params import check_hotels, portfolio_or_fail


def who() -> str:
    """Who ran a privacy command, as the logs record it."""
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
    result = erase_guest(Warehouse(), hotel, external_id=external_id, email=email, requested_by=who(),
                         now=Clock().now_naive_utc(), raw_root=settings.raw_dir())
    click.echo(f"{result.status}: {result.guests_erased} guest record(s) shredded, "
               f"{result.fields_redacted} field(s) redacted in {result.raw_files_redacted} raw file(s)")


@privacy.command()
def retention() -> None:
    """Purge room-level detail and names older than each hotel's retention_days after departure."""
    from hotel_pipeline.core.clock import Clock
    from hotel_pipeline.core.warehouse import Warehouse
    from hotel_pipeline.privacy.retention import purge_expired

    log = purge_expired(Warehouse(), portfolio_or_fail(), Clock(), who())
    for row in log.iter_rows(named=True):
        click.echo(f"{row['hotel_id']} {row['table_name']}: {row['rows_purged']} purged (before {row['cutoff_date']})")
