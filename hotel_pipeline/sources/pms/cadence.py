"""When each hotel's PMS is pulled: the sources a connector exists for, and which hotels are due at a schedule tick."""

from hotel_pipeline.core.portfolio import Hotel, Portfolio, Source
from hotel_pipeline.sources.pms import connector_classes


def pms_sources(hotel: Hotel) -> list[Source]:
    """The hotel's sources that a PMS connector exists for (a CSV or restaurant source is someone else's)."""
    known = connector_classes()
    return [s for s in hotel.sources if s.type in known]


def due_hotels(portfolio: Portfolio, kind: str, minute_of_day: int) -> list[tuple[str, str]]:
    """(hotel_id, mode) pairs due at this tick, from each source's ``incremental_every_minutes`` /
    ``reconcile_every_hours`` (a tick matches when the minute of the UTC day is a multiple of the period)."""
    due = []
    for hotel in portfolio.hotels:
        for source in pms_sources(hotel):
            if kind == "incremental":
                every = int(source.option("incremental_every_minutes", 15))
            else:
                every = int(source.option("reconcile_every_hours", 6)) * 60
            if every > 0 and minute_of_day % every == 0:
                due.append((hotel.id, "auto" if kind == "incremental" else "reconcile"))
                break
    return due
