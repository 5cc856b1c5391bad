"""PMS connector benchmark: per vendor, requests used vs the minimum, records/s through the sandbox (throttle off),
and how long the same full extract would take at the vendor's documented rate limit.

Why these three figures: the number of requests is what a vendor's budget charges for (and what a bad paging or
chunking strategy wastes); records/s with throttling off measures our own overhead (HTTP core, raw zone,
normalisation, warehouse commit); the documented-limit time is what a first full sync really costs in production.
``run_pms_bench()`` returns plain dicts; ``make bench`` prints them (see docs/benchmarks.md).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from hotel_pipeline.core.clock import local_instant
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.sources.csv.dataset import load_history
from hotel_pipeline.sources.pms import connector_classes
from hotel_pipeline.sources.pms.base import PmsConnector
from hotel_pipeline.sources.pms.extract import run_extract
from hotel_pipeline.sources.pms.http import RetryPolicy
from hotel_pipeline.workshop.sandbox.pms.harness import running_sandbox
from hotel_pipeline.workshop.sandbox.pms.vendors import vendor_classes
from hotel_pipeline.workshop.sandbox.pms.world import World

#: Largest page each vendor documents, per raw page label (used for the minimum request count).
PAGE_CAPS: dict[str, int] = {"mews": 1000, "cloudbeds": 100, "opera": 200, "rms": 500, "stayntouch": 100,
                             "newbook": 1000, "beds24": 100}

#: Budgets that are not a request rate, as (description, seconds for one extract's requests by label).
#: Beds24 charges credits per five minutes per account (the sandbox's account: 1,200 credits, ``/bookings`` 2 per
#: call, everything else 1); Stayntouch publishes no limit, the sandbox assumes 300 requests per minute.
CREDIT_BUDGETS: dict[str, tuple[str, int, float, dict[str, int]]] = {
    "beds24": ("1200 credits per 300 s (per account)", 1200, 300.0, {"bookings": 2}),
}
ASSUMED_LIMITS = {"stayntouch": "assumed; none published"}


def _records(body: Any) -> list[Any]:
    """The records of one response body: its first list, looked for one level down too (OPERA nests it)."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        for value in body.values():
            if isinstance(value, list):
                return value
        for value in body.values():
            if isinstance(value, dict):
                found = _records(value)
                if found:
                    return found
        return [body]
    return []


def minimum_requests(pages: list[dict[str, Any]], cap: int, logins: int = 0) -> int:
    """Per page label, ceil(distinct records / cap), plus the token calls: what a perfect client with the vendor's
    largest page would need. (Re-read pages repeat records, so records are counted once.)"""
    per_label: dict[str, set[str]] = {}
    for page in pages:
        seen = per_label.setdefault(page.get("label", ""), set())
        seen.update(json.dumps(r, sort_keys=True, default=str) for r in _records(page["body"]))
    return logins + sum(max(1, math.ceil(len(n) / cap)) for n in per_label.values())


def bench_vendor(world: World, vendor: str, hotel_id: str, now: datetime, workdir: Path) -> dict[str, Any]:
    """One full extract of ``hotel_id`` through the sandbox with throttling off."""
    connector_cls = connector_classes()[vendor]
    with running_sandbox(world, [vendor], validate_specs=False) as sb:
        os.environ.update(sb.env)
        hotel = sb.hotel(vendor, hotel_id)
        connector = connector_cls(hotel, hotel.sources[0], throttle=False, retry=RetryPolicy(timeout_seconds=60))
        warehouse = Warehouse(url=f"duckdb:///{workdir / f'{vendor}.duckdb'}")
        started = time.perf_counter()
        try:
            result = run_extract(warehouse, connector, now=now, mode="full", raw_root=workdir / "raw")
        finally:
            connector.close()
        seconds = time.perf_counter() - started
        pages = [p.as_dict() for p in connector.http.pages]
    limit = connector_cls.rate_limit
    requests = result.stats.requests
    logins = 1 if connector_cls.login is not PmsConnector.login else 0
    if vendor in CREDIT_BUDGETS:
        described, credits, per_seconds, costs = CREDIT_BUDGETS[vendor]
        recorded = len(pages)
        spent = (requests - recorded) + sum(costs.get(p.get("label", ""), 1) for p in pages)
        at_limit: float | None = spent * per_seconds / credits
    elif limit:
        described = f"{limit.requests} per {limit.per_seconds:g} s"
        at_limit = requests * limit.per_seconds / limit.requests
    else:
        described, at_limit = "none documented", None
    if vendor in ASSUMED_LIMITS:
        described += f" ({ASSUMED_LIMITS[vendor]})"
    return {
        "vendor": vendor,
        "records": result.records,
        "requests": requests,
        "minimum_requests": minimum_requests(pages, PAGE_CAPS.get(vendor, 100), logins),
        "seconds": round(seconds, 2),
        "records_per_second": round(result.records / seconds, 1) if seconds else None,
        "documented_limit": described,
        "seconds_at_documented_limit": round(at_limit, 1) if at_limit is not None else None,
    }


def run_pms_bench(hotel_id: str = "H1", arrival_from: date | None = date(2016, 1, 1),
                  arrival_to: date | None = date(2016, 12, 31), vendors: list[str] | None = None,
                  now: datetime | None = None) -> dict[str, dict[str, Any]]:
    """Per vendor (every vendor with both a sandbox and a connector): the figures of one full extract.

    Default volume: the bookings of ``hotel_id`` arriving in 2016 as of 2017-01-01 (pass ``arrival_from=None,
    arrival_to=None`` for the whole hotel).
    """
    history = load_history().filter(pl.col("hotel_id") == hotel_id)
    world = World(history, arrival_from=arrival_from, arrival_to=arrival_to)
    now = now or local_instant(date(2017, 1, 1), world.timezones[hotel_id], 3)
    world.set_now(now)
    names = vendors or sorted(set(vendor_classes()) & set(connector_classes()))
    out: dict[str, dict[str, Any]] = {}
    saved = dict(os.environ)
    try:
        with tempfile.TemporaryDirectory(prefix="pms-bench-") as tmp:
            for vendor in names:
                out[vendor] = bench_vendor(world, vendor, hotel_id, now, Path(tmp))
    finally:
        for key in set(os.environ) - set(saved):
            del os.environ[key]
    return out


def format_bench(results: dict[str, dict[str, Any]]) -> str:
    """A Markdown table of ``run_pms_bench()`` (what ``make bench`` prints and docs/benchmarks.md records)."""
    lines = ["| vendor | records | requests | minimum | records/s (throttle off) | documented limit | full extract at limit |",
             "|---|---|---|---|---|---|---|"]
    for r in results.values():
        at = r["seconds_at_documented_limit"]
        lines.append(f"| {r['vendor']} | {r['records']} | {r['requests']} | {r['minimum_requests']} | "
                     f"{r['records_per_second']} | {r['documented_limit']} | "
                     f"{'n/a' if at is None else f'{at:g} s'} |")
    return "\n".join(lines)


def _cpu_of(pid: int) -> float:
    """User + system CPU seconds of a process of this machine (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def first_night_extracts(portfolio_file: Path | None = None) -> list[dict[str, Any]]:
    """The full extracts of the demo's first night, as the demo runs them: every PMS hotel of the portfolio (the
    whole data set's bookings), the sandbox in its own process (``sandbox_process``), throttling off, one at a time.

    Per extract: wall seconds, this process's CPU and the sandbox process's CPU over it. Why both CPUs: with
    requests in flight while pages are decoded, client and sandbox work at once, so wall < the sum of the two.
    """
    import dataclasses

    from hotel_pipeline.core.portfolio import load_portfolio
    from hotel_pipeline.workshop.sandbox.pms.process import sandbox_process

    configured = load_portfolio(portfolio_file or Path("data/portfolio.yaml"))
    # free port: drop the configured base URLs (the sandbox process takes a free port, as the demo's does)
    portfolio = dataclasses.replace(configured, hotels=[dataclasses.replace(h, sources=[
        dataclasses.replace(s, options={k: v for k, v in s.options.items() if k != "base_url"}) for s in h.sources])
        for h in configured.hotels])
    now = local_instant(date(2016, 7, 18), portfolio.hotels[0].timezone, 2)
    out = []
    with tempfile.TemporaryDirectory(prefix="pms-first-night-") as tmp, sandbox_process(portfolio, now) as sb:
        for hotel in portfolio.hotels:
            for source in hotel.sources:
                if source.type not in sb.credentials:
                    continue
                source = dataclasses.replace(source, options={**source.options, "base_url": sb.base_url(source.type)})
                connector = connector_classes()[source.type](hotel, source, throttle=False,
                                                             retry=RetryPolicy(timeout_seconds=60))
                warehouse = Warehouse(url=f"duckdb:///{Path(tmp) / f'{source.type}.duckdb'}")
                sandbox_cpu, cpu, started = _cpu_of(sb.process.pid), time.process_time(), time.perf_counter()
                try:
                    result = run_extract(warehouse, connector, now=now, mode="full", raw_root=Path(tmp) / "raw")
                finally:
                    connector.close()
                out.append({"vendor": source.type, "hotel": hotel.id, "records": result.records,
                            "pages": result.pages, "wall_s": round(time.perf_counter() - started, 1),
                            "client_cpu_s": round(time.process_time() - cpu, 1),
                            "sandbox_cpu_s": round(_cpu_of(sb.process.pid) - sandbox_cpu, 1),
                            "raw_mb": round(Path(result.raw_file).stat().st_size / 1e6, 1)})
    return out


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--first-night"]:
        print(f"load average at the start: {os.getloadavg()}")
        for row in first_night_extracts():
            print(row)
        print(f"load average at the end: {os.getloadavg()}")
    else:
        print(format_bench(run_pms_bench()))
