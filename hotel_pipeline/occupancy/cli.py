"""The occupancy domain's command: ``hotel-pipeline privacy residents`` prints the residents list.

It is listed under the ``privacy`` group (``hotel_pipeline.cli`` attaches it) because that is where a user looks for
what shows guest names; it lives here because the list is built from ``room_nights``, which privacy must not import.
"""

from __future__ import annotations

from datetime import date

import click

from hotel_pipeline.core.cli_params import ISO_DATE, check_hotels, portfolio_or_fail
from hotel_pipeline.privacy.cli import who


@click.command()
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
    frame = residents_list(Warehouse(), h, start or clock.business_date(h.timezone), nights, requested_by=who(),
                           now=clock.now_naive_utc())
    for row in frame.iter_rows(named=True):
        board = "DBB" if row["dinner_included"] else row["meal_plan"]
        click.echo(f"{row['stay_date']}  {row['room']:<14} {row['guest']:<28} {board:<4} "
                   f"{row['adults']}+{row['children'] or 0}  booking {row['booking']}")
