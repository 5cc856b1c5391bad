"""``hotel-pipeline sandbox serve``: the vendor sandbox on loopback, for the demo, ``make dev`` and manual poking.

Credentials: for every served vendor and hotel the sandbox accepts the secret held by the environment variable the
portfolio names (``<field>_env`` of the hotel's source of that vendor; else ``<VENDOR>_<FIELD>_<HOTEL>``). A variable
that is not set gets a fresh random value, printed once as an ``export`` line so the pipeline can be started with it.
The clock is settable at start (``--clock``) and while running (``POST /_sandbox/clock {"now": ...}``).
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from datetime import UTC

from hotel_pipeline.core.clock import Clock, parse_instant
from hotel_pipeline.core.portfolio import PortfolioError, load_portfolio
from hotel_pipeline.workshop.sandbox.pms.faults import Faults
from hotel_pipeline.workshop.sandbox.pms.harness import env_var
from hotel_pipeline.workshop.sandbox.pms.server import Sandbox, SandboxConfig, SandboxServer
from hotel_pipeline.workshop.sandbox.pms.vendors import vendor_classes
from hotel_pipeline.workshop.sandbox.pms.world import World


def _fault(text: str, faults: dict[str, dict]) -> None:
    """``vendor:knob=value`` (e.g. ``mews:error_rate=0.1``)."""
    try:
        vendor, rest = text.split(":", 1)
        knob, value = rest.split("=", 1)
    except ValueError as exc:
        raise SystemExit(f"--fault expects vendor:knob=value, got {text!r}") from exc
    faults.setdefault(vendor, {})[knob] = float(value) if "." in value or "e" in value else int(value)


def resolve_credentials(vendors: list[str], hotel_ids: list[str]) -> tuple[dict, list[str]]:
    """vendor -> hotel -> {field: secret}, and the export lines of secrets generated now."""
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


def serve_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="hotel-pipeline sandbox", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the data set as PMS APIs on loopback")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--vendors", default=",".join(sorted(vendor_classes())),
                       help=f"comma-separated (default all: {','.join(sorted(vendor_classes()))})")
    serve.add_argument("--hotels", default="H1,H2", help="data set hotels to serve (default H1,H2)")
    serve.add_argument("--clock", default=None, help="ISO instant of the sandbox clock (default: the Clock resource's)")
    serve.add_argument("--no-throttle", action="store_true", help="do not enforce the vendors' request budgets")
    serve.add_argument("--fault", action="append", default=[], help="vendor:knob=value, e.g. mews:error_rate=0.1")
    serve.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    vendors = [v for v in args.vendors.split(",") if v]
    unknown = set(vendors) - set(vendor_classes())
    if unknown:
        parser.error(f"unknown vendors {sorted(unknown)}; known: {sorted(vendor_classes())}")
    hotel_ids = [h for h in args.hotels.split(",") if h]
    raw_faults: dict[str, dict] = {}
    for text in args.fault:
        _fault(text, raw_faults)
    creds, exports = resolve_credentials(vendors, hotel_ids)
    world = World(hotel_ids=hotel_ids, seed=args.seed)
    world.set_now(parse_instant(args.clock) if args.clock else Clock().now())
    config = SandboxConfig(credentials=creds, faults={v: Faults.from_dict(f) for v, f in raw_faults.items()},
                           throttle=not args.no_throttle)
    server = SandboxServer(Sandbox(world, config), host=args.host, port=args.port).start()
    for line in exports:
        print(line)
    print(f"# sandbox clock {world.now.astimezone(UTC).isoformat()}; vendors:", flush=True)
    for vendor in vendors:
        print(f"#   {vendor}: {server.base_url(vendor)}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(serve_main(sys.argv[1:]))


__all__ = ["serve_main"]
