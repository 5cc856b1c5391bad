"""``hotel-pipeline channel ...``: plan, drain, re-push, retry and reconcile the Beds24 push by hand.

The schedule and sensor of the code location do the same every few minutes; these commands are for recovery
(docs/channel.md, "When a push failed").
"""

from __future__ import annotations

import click

from hotel_pipeline.channel import outbox
from hotel_pipeline.channel.calendar import full_repush
from hotel_pipeline.channel.client import Beds24Client
from hotel_pipeline.channel.config import ChannelConfigError, HotelChannel, load_channel_config
from hotel_pipeline.channel.drain import drain_hotel
from hotel_pipeline.channel.push import plan_hotel
from hotel_pipeline.channel.reconcile import reconcile_hotel
from hotel_pipeline.core.cli_params import hotel_option, portfolio_or_fail
from hotel_pipeline.core.clock import Clock
from hotel_pipeline.core.warehouse import Warehouse


def _hotels(hotel_ids: tuple[str, ...]) -> list[HotelChannel]:
    try:
        config = load_channel_config()
    except ChannelConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    unknown = [h for h in hotel_ids if h not in config.hotels]
    if unknown:
        raise click.BadParameter(f"{', '.join(unknown)} not in the channel configuration {config.path}; "
                                 f"configured: {', '.join(config.hotels) or 'none'}", param_hint="'--hotel'")
    return [config.hotels[h] for h in (hotel_ids or tuple(config.hotels))]


def _as_of(clock: Clock, hotel: HotelChannel):  # noqa: ANN202 - a date
    return clock.business_date(portfolio_or_fail().hotel(hotel.hotel_id).timezone)


@click.group()
def channel() -> None:
    """Push availability, rates and reservations to Beds24 (HOTEL_CHANNEL_CONFIG names the mapping)."""


@channel.command()
@hotel_option()
def plan(hotels: tuple[str, ...]) -> None:
    """Recompute availability and queue what changed since the last push (no request is sent)."""
    warehouse, clock = Warehouse(), Clock()
    for hotel in _hotels(hotels):
        report = plan_hotel(warehouse, hotel, _as_of(clock, hotel), clock.now())
        for message in report.messages(hotel.hotel_id):
            click.echo(f"warning: {message}", err=True)
        click.echo(f"{hotel.hotel_id}: queued {report.calendar.rooms} calendar rows ({report.calendar.nights} "
                   f"nights), {report.bookings.creates} creates, {report.bookings.updates} updates, "
                   f"{report.bookings.cancels} cancellations")


@channel.command()
@hotel_option()
def drain(hotels: tuple[str, ...]) -> None:
    """Send every queued change to Beds24 (resumes whatever a killed drain left)."""
    warehouse, clock = Warehouse(), Clock()
    for hotel in _hotels(hotels):
        report, stats = drain_hotel(warehouse, hotel, clock.now)
        click.echo(f"{hotel.hotel_id}: acknowledged {report.acknowledged} ({report.read_back_acknowledged} by "
                   f"read-back), failed {report.failed}; {stats.requests} requests, {stats.credits} credits")


@channel.command()
@hotel_option()
def push(hotels: tuple[str, ...]) -> None:
    """Plan, then drain."""
    ctx = click.get_current_context()
    ctx.invoke(plan, hotels=hotels)
    ctx.invoke(drain, hotels=hotels)


@channel.command()
@hotel_option()
def repush(hotels: tuple[str, ...]) -> None:
    """Send every night of the horizon again (not only the changed ones), then drain."""
    warehouse = Warehouse()
    for hotel in _hotels(hotels):
        click.echo(f"{hotel.hotel_id}: {full_repush(warehouse, hotel.hotel_id)} nights will be sent again")
    click.get_current_context().invoke(push, hotels=hotels)


@channel.command("retry-failed")
@hotel_option()
def retry_failed(hotels: tuple[str, ...]) -> None:
    """Put failed outbox rows back to pending (after fixing their cause), then drain."""
    warehouse = Warehouse()
    for hotel in _hotels(hotels):
        click.echo(f"{hotel.hotel_id}: {outbox.retry_failed(warehouse, hotel.hotel_id)} rows back to pending")
    click.get_current_context().invoke(drain, hotels=hotels)


@channel.command()
@hotel_option()
def reconcile(hotels: tuple[str, ...]) -> None:
    """Read Beds24 back and record drift in channel_drift (drifted nights are queued again)."""
    warehouse, clock = Warehouse(), Clock()
    for hotel in _hotels(hotels):
        with Beds24Client(hotel.base_url, hotel.refresh_token()) as client:
            r = reconcile_hotel(warehouse, hotel, client, _as_of(clock, hotel), clock.now(), trigger="command")
        click.echo(f"{hotel.hotel_id}: {r.nights_checked} nights and {r.bookings_checked} bookings checked; "
                   f"drift: {r.calendar_drift} calendar values, {r.booking_drift} booking fields")


@channel.command()
@hotel_option()
def status(hotels: tuple[str, ...]) -> None:
    """Outbox rows per state."""
    warehouse = Warehouse()
    for hotel in _hotels(hotels):
        counts = outbox.counts(warehouse, hotel.hotel_id)
        click.echo(f"{hotel.hotel_id}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
