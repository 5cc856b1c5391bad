"""Shared command-line parameters: ISO dates, date ranges and portfolio hotels, with errors a user can act on.

Every command group of the ``hotel-pipeline`` CLI (production domains and workshop alike) takes dates and hotels the
same way, so these live in the core: a domain's ``cli.py`` imports them without importing the CLI itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import click

from hotel_pipeline.core.portfolio import Portfolio, PortfolioError, load_portfolio


class IsoDate(click.ParamType):
    """A calendar date written ``YYYY-MM-DD`` (ISO 8601)."""

    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx) -> date:  # noqa: ANN001 - click's signature
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value).strip())
        except ValueError:
            self.fail(f"{value!r} is not a date; write it as YYYY-MM-DD, e.g. 2024-07-31", param, ctx)


ISO_DATE = IsoDate()


def check_range(start: date, end: date, *, start_flag: str = "--from", end_flag: str = "--to") -> None:
    """Refuse a reversed range (``--from`` after ``--to``) instead of silently doing nothing."""
    if start > end:
        raise click.BadParameter(f"{start_flag} {start} is after {end_flag} {end}; the range is inclusive, "
                                 f"so {start_flag} must be on or before {end_flag}", param_hint=f"'{start_flag}'")


def portfolio_or_fail() -> Portfolio:
    """The configured portfolio, or a usage error naming the file (``HOTEL_PIPELINE_CONFIG``)."""
    try:
        return load_portfolio()
    except PortfolioError as exc:
        raise click.UsageError(str(exc)) from exc


def check_hotels(hotel_ids: Sequence[str], portfolio: Portfolio | None = None, *, flag: str = "--hotel") -> list[str]:
    """The given hotel ids (default: every hotel of the portfolio); an unknown id is a usage error listing the known."""
    portfolio = portfolio or portfolio_or_fail()
    unknown = [h for h in hotel_ids if h not in portfolio.hotel_ids]
    if unknown:
        raise click.BadParameter(
            f"{', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not in the portfolio {portfolio.path}; "
            f"known hotels: {', '.join(portfolio.hotel_ids)}", param_hint=f"'{flag}'")
    return list(hotel_ids) or portfolio.hotel_ids


def hotel_option(help_text: str = "Hotel id of the portfolio (repeatable; default: every hotel).") -> callable:
    """``--hotel H1 --hotel H2``: a repeatable hotel option, checked with ``check_hotels`` by the command."""
    return click.option("--hotel", "hotels", multiple=True, metavar="HOTEL_ID", help=help_text)
