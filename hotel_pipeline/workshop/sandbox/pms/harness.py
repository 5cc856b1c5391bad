"""Wiring a sandbox to connectors: credentials, portfolio sources, expected reservations (tests, bench, CLI).

Why here and not in tests: the CLI, the benchmark and every vendor's tests need the same wiring, and the naming
convention that ties the two sides together lives in one place: a vendor's sandbox ``credential_fields`` (e.g.
``api_key``) are what its connector reads from the environment variable named by the source option
``<field>_env`` (e.g. ``api_key_env: CLOUDBEDS_API_KEY_H2``).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import polars as pl

from hotel_pipeline.core.portfolio import Hotel, Portfolio, Source
from hotel_pipeline.workshop.sandbox.pms.faults import Faults
from hotel_pipeline.workshop.sandbox.pms.server import Sandbox, SandboxConfig, SandboxServer
from hotel_pipeline.workshop.sandbox.pms.vendors import vendor_classes
from hotel_pipeline.workshop.sandbox.pms.world import World
from hotel_pipeline.workshop.sandbox.spec import SpecViolation

#: Columns every vendor must reproduce exactly (the issue's "counts, statuses, dates, amounts").
CORE_COLUMNS = ["status", "booked_on", "cancelled_on", "checked_out_on", "arrival_date", "departure_date", "nights"]


def env_var(vendor: str, field_name: str, hotel_id: str) -> str:
    """The environment variable that holds one credential, e.g. MEWS_ACCESS_TOKEN_H1."""
    return f"{vendor}_{field_name}_{hotel_id}".upper().replace("-", "_")


def make_credentials(vendor: str, hotel_ids: list[str]) -> dict[str, dict[str, str]]:
    """Fresh random secrets per hotel for the vendor's credential fields."""
    fields = vendor_classes()[vendor].credential_fields
    return {h: {f: _secret(vendor, f) for f in fields} for h in hotel_ids}


def _secret(vendor: str, field_name: str) -> str:
    if (vendor, field_name) == ("opera", "app_key"):
        return str(uuid.uuid4())  # OHIP application keys are UUIDs (the spec's x-app-key pattern)
    return f"{vendor[:3]}-{field_name[:3]}-{secrets.token_hex(12)}"


def source_for(vendor: str, hotel_id: str, base_url: str, **options: Any) -> Source:
    """The portfolio source entry of a hotel served by the sandbox (credentials by env var name only)."""
    fields = vendor_classes()[vendor].credential_fields
    opts = {"base_url": base_url, **{f"{f}_env": env_var(vendor, f, hotel_id) for f in fields}, **options}
    return Source(type=vendor, options=opts)


def credential_env(vendor: str, creds: dict[str, dict[str, str]]) -> dict[str, str]:
    """env var -> secret for every hotel's credentials."""
    return {env_var(vendor, f, h): v for h, fields in creds.items() for f, v in fields.items()}


def demo_hotel(hotel_id: str, sources: tuple[Source, ...] = (), capacity: int = 250) -> Hotel:
    name = {"H1": "Resort Hotel", "H2": "City Hotel"}.get(hotel_id, hotel_id)
    return Hotel(id=hotel_id, name=name, timezone="Europe/Lisbon", currency="EUR", capacity=capacity, sources=sources)


class ServedSandbox(Protocol):
    """What a pipeline driven against a sandbox needs of it, in this process's threads (``RunningSandbox``) or in a
    process of its own (``process.SandboxProcess``): where it serves, what it accepts, how to move its clock."""

    credentials: dict[str, dict[str, dict[str, str]]]

    @property
    def url(self) -> str: ...

    def base_url(self, vendor: str) -> str: ...

    def set_now(self, instant: datetime) -> None: ...


@dataclass
class RunningSandbox:
    """A started sandbox, its credentials and the environment the connectors need."""

    server: SandboxServer
    world: World
    credentials: dict[str, dict[str, dict[str, str]]]
    env: dict[str, str] = field(default_factory=dict)

    @property
    def sandbox(self) -> Sandbox:
        return self.server.sandbox

    @property
    def url(self) -> str:
        return self.server.url

    def base_url(self, vendor: str) -> str:
        return self.server.base_url(vendor)

    def hotel(self, vendor: str, hotel_id: str, **options: Any) -> Hotel:
        """A portfolio hotel whose only source is ``vendor`` in this sandbox."""
        return demo_hotel(hotel_id, (source_for(vendor, hotel_id, self.base_url(vendor), **options),))

    def set_now(self, instant: datetime) -> None:
        self.world.set_now(instant)

    def set_faults(self, vendor: str, faults: Faults) -> None:
        self.sandbox.set_faults(vendor, faults)

    def secrets(self) -> list[str]:
        return [v for per_vendor in self.credentials.values() for fields in per_vendor.values() for v in fields.values()]


@contextmanager
def running_sandbox(
    world: World,
    vendors: list[str],
    *,
    faults: dict[str, Faults] | None = None,
    throttle: bool = False,
    options: dict[str, dict] | None = None,
    port: int = 0,
    validate_specs: bool = True,
) -> Iterator[RunningSandbox]:
    """Start a sandbox on a free loopback port for ``vendors`` over all of ``world``'s hotels.

    ``validate_specs`` (on by default: this is what the tests run): hold every request and response of the vendors
    with a bundled spec to it; leaving the block raises ``SpecViolation`` listing every breach seen. The bench turns
    it off (validation is not what it measures).
    """
    creds = {v: make_credentials(v, world.hotel_ids) for v in vendors}
    config = SandboxConfig(credentials=creds, faults=dict(faults or {}), throttle=throttle, options=options or {},
                           validate_specs=validate_specs)
    server = SandboxServer(Sandbox(world, config), port=port)
    env = {k: v for vendor in vendors for k, v in credential_env(vendor, creds[vendor]).items()}
    with server:
        yield RunningSandbox(server=server, world=world, credentials=creds, env=env)
    server.sandbox.settle()
    violations = server.sandbox.spec_violations
    if violations:
        shown = "\n".join(list(dict.fromkeys(violations))[:40])
        raise SpecViolation(f"{len(violations)} spec violation(s) in the sandbox's traffic:\n{shown}")


def expected_reservations(world: World, vendor: str, hotel_id: str, now: datetime | None = None) -> pl.DataFrame:
    """What the PMS knows at ``now`` in unified terms, keyed by the vendor's external_id (for comparisons)."""
    cls = vendor_classes()[vendor]
    state = world.state(hotel_id, now)
    ids = {r: cls.reservation_id(hotel_id, r) for r in state["booking_ref"].to_list()}
    return state.with_columns(
        pl.col("booking_ref").replace_strict(ids, return_dtype=pl.String).alias("external_id")
    ).select("external_id", "booking_ref", "status", "booked_on", "cancelled_on", "checked_out_on", "arrival_date",
             "departure_date", "nights", "room_type", "room_number", "adults", "children", "babies", "meal_plan",
             "net_amount", "currency", "channel")


def portfolio_credentials(portfolio: Portfolio) -> tuple[dict[str, dict[str, dict[str, str]]], list[str], int]:
    """What a sandbox must serve for the portfolio: vendor -> hotel -> {field: secret}, the hotels, the port.

    A source's ``<field>_env`` variable that is unset gets a fresh random secret, set in ``os.environ`` of this
    process (so connectors started here find it). The port comes from the sources' ``base_url`` (they must agree),
    else 0 (a free one).
    """
    import os
    from urllib.parse import urlsplit

    known = vendor_classes()
    creds: dict[str, dict[str, dict[str, str]]] = {}
    ports = set()
    hotel_ids = []
    for hotel in portfolio.hotels:
        for source in hotel.sources:
            if source.type not in known:
                continue
            hotel_ids.append(hotel.id)
            if source.option("base_url"):
                ports.add(urlsplit(str(source.option("base_url"))).port)
            for field_name in known[source.type].credential_fields:
                var = str(source.option(f"{field_name}_env") or env_var(source.type, field_name, hotel.id))
                if not os.environ.get(var):
                    os.environ[var] = secrets.token_hex(16)
                creds.setdefault(source.type, {}).setdefault(hotel.id, {})[field_name] = os.environ[var]
    if len(ports) > 1:
        raise ValueError(f"the portfolio's sandbox sources use several ports {sorted(ports)}; use one")
    return creds, sorted(set(hotel_ids)), (ports.pop() if ports else 0) or 0


@contextmanager
def sandbox_for_portfolio(
    portfolio: Portfolio,
    now: datetime,
    *,
    world: World | None = None,
    port: int | None = None,
    faults: dict[str, Faults] | None = None,
    throttle: bool = False,
) -> Iterator[RunningSandbox]:
    """In this process's threads, serve every sandbox vendor the portfolio's hotels use, accepting the credentials
    its sources name (see ``portfolio_credentials``), on ``port`` if given, else the sources' one.

    For tests that reach into the world or the handlers; the demo and ``make dev`` serve the same world in a process
    of its own (``sandbox.pms.process``), whose request handling then does not compete with theirs for the GIL.
    """
    creds, hotel_ids, portfolio_port = portfolio_credentials(portfolio)
    world = world or World(hotel_ids=hotel_ids)
    world.set_now(now)
    config = SandboxConfig(credentials=creds, faults=dict(faults or {}), throttle=throttle)
    server = SandboxServer(Sandbox(world, config), port=port or portfolio_port)
    with server:
        yield RunningSandbox(server=server, world=world, credentials=creds, env={})
