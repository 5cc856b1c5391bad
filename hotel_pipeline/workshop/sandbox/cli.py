"""``hotel-pipeline sandbox serve``: the vendor sandbox on loopback, for the demo, ``make dev`` and manual poking.

Credentials: for every served vendor and hotel the sandbox accepts the secret held by the environment variable the
portfolio names (``<field>_env`` of the hotel's source of that vendor; else ``<VENDOR>_<FIELD>_<HOTEL>``). A variable
that is not set gets a fresh random value, printed once as an ``export`` line so the pipeline can be started with it.
The clock is settable at start (``--clock``) and while running (``POST /_sandbox/clock {"now": ...}``).

A program that starts it as its child (``sandbox.pms.process``, for ``make demo`` and ``make dev``) hands it the exact
credentials in one environment variable (``--credentials-from``; never arguments, which ``ps`` shows), waits for the
``# serving <url>`` line (and reads its CPU from the ``# stopped after`` line) and ties its life to the child's standard input (``--stop-when-stdin-closes``): when the
parent ends, however it ends, the pipe closes and the sandbox stops.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import sys
import threading
import time
from datetime import UTC

import click

from hotel_pipeline.core.portfolio import PortfolioError, load_portfolio

#: The vendors the sandbox speaks (kept here so ``--help`` needs no import of the sandbox itself).
VENDORS = ("beds24", "cloudbeds", "mews", "newbook", "opera", "rms", "stayntouch")


def _fault(text: str, faults: dict[str, dict]) -> None:
    """``vendor:knob=value`` (e.g. ``mews:error_rate=0.1``)."""
    try:
        vendor, rest = text.split(":", 1)
        knob, value = rest.split("=", 1)
    except ValueError as exc:
        raise click.BadParameter(f"expected vendor:knob=value, got {text!r}", param_hint="'--fault'") from exc
    faults.setdefault(vendor, {})[knob] = float(value) if "." in value or "e" in value else int(value)


def resolve_credentials(vendors: list[str], hotel_ids: list[str]) -> tuple[dict, list[str]]:
    """vendor -> hotel -> {field: secret}, and the export lines of secrets generated now."""
    from hotel_pipeline.workshop.sandbox.pms.harness import env_var
    from hotel_pipeline.workshop.sandbox.pms.vendors import vendor_classes

    names: dict[tuple[str, str, str], str] = {}
    try:
        portfolio = load_portfolio()
        for hotel in portfolio.hotels:
            for source in hotel.sources:
                for key, value in source.options.items():
                    if key.endswith("_env"):
                        names[(source.type, hotel.id, key.removesuffix("_env"))] = str(value)
    except PortfolioError:
        pass
    creds: dict[str, dict[str, dict[str, str]]] = {}
    exports = []
    for vendor in vendors:
        for hotel_id in hotel_ids:
            for field in vendor_classes()[vendor].credential_fields:
                var = names.get((vendor, hotel_id, field), env_var(vendor, field, hotel_id))
                value = os.environ.get(var)
                if not value:
                    value = secrets.token_hex(16)
                    exports.append(f"export {var}={value}")
                creds.setdefault(vendor, {}).setdefault(hotel_id, {})[field] = value
    return creds, exports


def _given_credentials(var: str) -> dict[str, dict[str, dict[str, str]]]:
    """The credentials a parent process put in ``var`` (see ``--credentials-from``)."""
    try:
        creds = json.loads(os.environ[var])
    except KeyError as exc:
        raise click.BadParameter(f"the environment variable {var} is not set", param_hint="'--credentials-from'") from exc
    except ValueError as exc:
        raise click.BadParameter(f"{var} does not hold JSON", param_hint="'--credentials-from'") from exc
    if not isinstance(creds, dict) or not creds:
        raise click.BadParameter(f"{var} holds no vendor -> hotel -> credentials mapping",
                                 param_hint="'--credentials-from'")
    return creds


def _csv(value: str) -> list[str]:
    return [v for v in value.split(",") if v]


@click.group()
def sandbox() -> None:
    """Vendor sandboxes on loopback: the data set served as PMS APIs."""


@sandbox.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (keep it loopback).")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port to listen on; 0 takes a free one (the base URLs are printed).")
@click.option("--vendors", default=",".join(VENDORS), show_default=True,
              help="Comma-separated vendors to serve.")
@click.option("--hotels", default="H1,H2", show_default=True, help="Comma-separated data-set hotels to serve.")
@click.option("--clock", "clock_at", default=None, metavar="ISO_INSTANT",
              help="Sandbox clock, an ISO-8601 instant (default: the clock resource's, HOTEL_PIPELINE_CLOCK).")
@click.option("--no-throttle", is_flag=True, help="Do not enforce the vendors' request budgets.")
@click.option("--fault", "fault_texts", multiple=True, metavar="VENDOR:KNOB=VALUE",
              help="Inject a fault, e.g. mews:error_rate=0.1 (repeatable).")
@click.option("--seed", type=int, default=7, show_default=True, help="Seed of the simulated world.")
@click.option("--credentials-from", "credentials_var", default=None, metavar="ENV_VAR",
              help="Serve exactly the credentials in this environment variable (JSON: vendor -> hotel -> field -> "
                   "secret) instead of --vendors and the portfolio's variables.")
@click.option("--stop-when-stdin-closes", is_flag=True,
              help="Also stop when standard input reaches its end (the program that started it has ended).")
def serve(host: str, port: int, vendors: str, hotels: str, clock_at: str | None, no_throttle: bool,
          fault_texts: tuple[str, ...], seed: int, credentials_var: str | None, stop_when_stdin_closes: bool) -> None:
    """Serve the data set as PMS APIs until Ctrl-C or SIGTERM."""
    from hotel_pipeline.core.clock import Clock, parse_instant
    from hotel_pipeline.workshop.sandbox.pms.faults import Faults
    from hotel_pipeline.workshop.sandbox.pms.server import Sandbox, SandboxConfig, SandboxServer
    from hotel_pipeline.workshop.sandbox.pms.vendors import vendor_classes
    from hotel_pipeline.workshop.sandbox.pms.world import World

    given = _given_credentials(credentials_var) if credentials_var else None
    vendor_list = list(given) if given is not None else _csv(vendors)
    unknown = set(vendor_list) - set(vendor_classes())
    if unknown:
        raise click.BadParameter(f"unknown vendors {sorted(unknown)}; known: {sorted(vendor_classes())}",
                                 param_hint="'--vendors'")
    hotel_ids = _csv(hotels)
    raw_faults: dict[str, dict] = {}
    for text in fault_texts:
        _fault(text, raw_faults)
    try:
        now = parse_instant(clock_at) if clock_at else Clock().now()
    except ValueError as exc:
        raise click.BadParameter(f"{clock_at!r} is not an ISO-8601 instant", param_hint="'--clock'") from exc
    creds, exports = (given, []) if given is not None else resolve_credentials(vendor_list, hotel_ids)
    world = World(hotel_ids=hotel_ids, seed=seed)
    world.set_now(now)
    config = SandboxConfig(credentials=creds, faults={v: Faults.from_dict(f) for v, f in raw_faults.items()},
                           throttle=not no_throttle)
    server = SandboxServer(Sandbox(world, config), host=host, port=port).start()
    for line in exports:
        click.echo(line)
    click.echo(f"# sandbox clock {world.now.astimezone(UTC).isoformat()}; vendors:")
    for vendor in vendor_list:
        click.echo(f"#   {vendor}: {server.base_url(vendor)}")
    click.echo(f"# serving {server.url}")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if stop_when_stdin_closes:
        threading.Thread(target=lambda: (sys.stdin.buffer.read(), stop.set()), name="stdin-watch", daemon=True).start()
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        click.echo(f"# stopped after {time.process_time():.1f} s of CPU")


__all__ = ["sandbox", "serve"]
