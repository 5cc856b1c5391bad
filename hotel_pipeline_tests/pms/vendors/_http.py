"""Shared scaffolding of the five vendor HTTP tests: a bounded world, the sandbox on loopback, a connector, and the
data set's expected reservations for the same scope.

Why bounded: every vendor test reads one hotel's arrivals over one quarter (a few thousand bookings) so the five
modules stay fast on two cores; the scope still holds every status, meal plan, early check-outs and cancellations.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

import polars as pl

from hotel_pipeline.core.portfolio import Hotel, Source
from hotel_pipeline.sources.pms.base import Normalised, PmsConnector, Window
from hotel_pipeline.sources.pms.http import RetryPolicy
from hotel_pipeline.workshop.sandbox.pms.faults import Faults
from hotel_pipeline.workshop.sandbox.pms.server import Sandbox, SandboxConfig, SandboxServer
from hotel_pipeline.workshop.sandbox.pms.world import World

HOTEL = Hotel(id="H1", name="Resort", timezone="Europe/Lisbon", currency="EUR", capacity=200)
ARRIVAL_FROM = date(2016, 1, 1)
ARRIVAL_TO = date(2016, 3, 31)
#: Two clock positions: mid-quarter (mixed statuses) and after it (every final status known).
T1 = datetime(2016, 2, 15, 3, 0, tzinfo=UTC)
T2 = datetime(2016, 3, 20, 3, 0, tzinfo=UTC)

#: The issue's fault mix: 10% 5xx, 5% 429, 2% timeouts, 2% truncated bodies.
FAULTS = Faults(error_rate=0.10, throttle_rate=0.05, timeout_rate=0.02, truncate_rate=0.02, timeout_seconds=0.6,
                retry_after_seconds=1, seed=11)
FAST_RETRY = RetryPolicy(max_attempts=12, backoff_base_seconds=0.005, backoff_cap_seconds=0.02, timeout_seconds=0.4,
                         max_retry_after_seconds=0.01)

COMPARED = ["external_id", "status", "booked_on", "cancelled_on", "checked_out_on", "arrival_date", "departure_date",
            "nights", "room_type", "room_number", "adults", "children", "babies", "meal_plan", "is_dbb", "currency",
            "channel"]


@cache
def world() -> World:
    return World(hotel_ids=["H1"], arrival_from=ARRIVAL_FROM, arrival_to=ARRIVAL_TO)


#: Vendors whose API carries no infant count: their expected ``babies`` is null.
NO_INFANT_COUNT = frozenset({"beds24", "cloudbeds"})


def expected(now: datetime, vendor: str = "") -> pl.DataFrame:
    """The data set's reservations of the scope as of ``now``, in unified fields (what every vendor must yield)."""
    state = world().state("H1", now)
    if vendor in NO_INFANT_COUNT:
        state = state.with_columns(pl.lit(None, dtype=state.schema["babies"]).alias("babies"))
    return state.select(
        *[pl.col(c) for c in COMPARED if c not in ("is_dbb",)],
        pl.col("meal_plan").is_in(["HB", "FB"]).alias("is_dbb"),
        pl.col("net_amount"),
    ).select(*COMPARED, "net_amount").sort("external_id")


def comparable(norm: Normalised) -> pl.DataFrame:
    return norm.reservations.select(*COMPARED, "net_amount").sort("external_id")


def assert_same(got: pl.DataFrame, want: pl.DataFrame) -> None:
    """Same reservations, same fields; amounts to the cent."""
    assert got.height == want.height, f"{got.height} reservations, expected {want.height}"
    assert got["external_id"].n_unique() == got.height, "duplicated reservations"
    assert got["external_id"].to_list() == want["external_id"].to_list()
    cast = {c: want.schema[c] for c in COMPARED}
    left = got.select(COMPARED).cast(cast)
    right = want.select(COMPARED)
    diff = left.join(right, on=COMPARED, how="anti", nulls_equal=True)
    assert diff.height == 0, f"{diff.height} reservations differ, e.g. {diff.head(3).to_dicts()} vs " \
        f"{right.filter(pl.col('external_id').is_in(diff['external_id'].head(3).to_list())).to_dicts()}"
    amounts = got.select("external_id", "net_amount").join(want.select("external_id", pl.col("net_amount")
                                                                       .alias("want")), on="external_id")
    assert amounts.filter((pl.col("net_amount") - pl.col("want")).abs() > 0.011).height == 0


@contextmanager
def sandbox(vendor: str, credentials: dict[str, str], faults: Faults | None = None,
            throttle: bool = True, options: dict[str, Any] | None = None) -> Iterator[SandboxServer]:
    """The sandbox serving ``vendor`` for H1 with ``credentials`` on a free loopback port."""
    config = SandboxConfig(credentials={vendor: {"H1": credentials}}, faults={vendor: faults or Faults()},
                           throttle=throttle, options={vendor: options or {}}, validate_specs=True)
    with SandboxServer(Sandbox(world(), config)) as server:
        yield server
    server.sandbox.settle()
    violations = server.sandbox.spec_violations
    assert not violations, f"{len(violations)} spec violations, e.g. {list(dict.fromkeys(violations))[:10]}"


def make_connector(cls: type[PmsConnector], base_url: str, env: dict[str, str], options: dict[str, Any],
                   monkeypatch: Any, seed: int = 3) -> PmsConnector:
    """A connector for H1 whose credentials come from environment variables (names in the source options)."""
    source_options: dict[str, Any] = {"base_url": base_url, **options}
    for field, value in env.items():
        var = f"TEST_{cls.source.upper()}_{field.upper()}"
        monkeypatch.setenv(var, value)
        source_options[cls.credential_options[field]] = var
    return cls(HOTEL, Source(type=cls.source, options=source_options), retry=FAST_RETRY, seed=seed)


def extract(connector: PmsConnector, server: SandboxServer, window: Window) -> Normalised:
    """Set the sandbox clock to the window's end, fetch, and normalise the raw pages (as the raw zone holds them)."""
    server.sandbox.world.set_now(window.until)
    connector.http.pages.clear()
    connector.fetch(window)
    pages = [p.as_dict() for p in connector.http.pages]
    return type(connector).normalise(pages, connector.context())


def merge(older: pl.DataFrame, newer: pl.DataFrame) -> pl.DataFrame:
    """Apply an incremental extract on top of an earlier one (newer record per id wins)."""
    return pl.concat([older, newer]).unique("external_id", keep="last", maintain_order=True).sort("external_id")


def secrets_absent(connector: PmsConnector, secrets: list[str], extra: str = "") -> None:
    """No credential (nor a token derived from one) appears in the raw pages or the given text."""
    text = repr([p.as_dict() for p in connector.http.pages]) + extra + repr(connector.http.stats)
    token = connector.auth.token if connector.auth else None
    for secret in [*secrets, *([token] if token else [])]:
        if secret in ("", "-"):
            continue
        assert secret not in text, "a credential leaked into the raw pages or the stats"


def full_then_incremental(cls: type[PmsConnector], creds: dict[str, str], options: dict[str, Any], monkeypatch: Any,
                          secrets: list[str] | None = None) -> tuple[PmsConnector, Normalised]:
    """A full extract at T1 equals the data set; an incremental T1..T2 reads only the changes (cancellations and
    check-outs among them) and, merged, equals the data set at T2; no credential or token in the raw pages.
    Returns the connector and the incremental, for the vendor's own checks."""
    with sandbox(cls.source, creds) as server:
        conn = make_connector(cls, server.base_url(cls.source), creds, options, monkeypatch)
        first = extract(conn, server, Window("full", until=T1))
        assert_same(comparable(first), expected(T1, cls.source))
        later = extract(conn, server, Window("incremental", until=T2, since=T1))
        assert later.reservations.height < expected(T2, cls.source).height  # only the changes were read
        assert_same(merge(comparable(first), comparable(later)), expected(T2, cls.source))
        assert set(comparable(later)["status"]) >= {"cancelled", "checked_out"}
        secrets_absent(conn, list(creds.values()) if secrets is None else secrets)
        return conn, later


def faults_change_nothing(cls: type[PmsConnector], creds: dict[str, str], options: dict[str, Any], monkeypatch: Any,
                          secrets: list[str] | None = None) -> PmsConnector:
    """With the issue's fault mix a full extract at T2 still equals the data set, the faults were really met (and
    retried), and no credential appears in the pages or the last error."""
    with sandbox(cls.source, creds, faults=FAULTS) as server:
        conn = make_connector(cls, server.base_url(cls.source), creds, options, monkeypatch)
        got = extract(conn, server, Window("full", until=T2))
        assert_same(comparable(got), expected(T2, cls.source))
        assert conn.http.stats.retries > 0
        secrets_absent(conn, list(creds.values()) if secrets is None else secrets, conn.http.stats.last_error or "")
        return conn
