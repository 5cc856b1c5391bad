"""Helpers shared by every vendor's sandbox tests (this folder and vendors/): extract, compare, scan for secrets.

Why: each of the seven vendors must pass the same checks (exact reservations, faults, incremental, secrets); the
checks live here once, so a vendor test module is a few lines of wiring.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from hotel_pipeline.core.clock import local_instant
from hotel_pipeline.core.sql_models import run_model
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.defs.pacing.checks import check_reservations
from hotel_pipeline.sources.pms import connector_classes
from hotel_pipeline.sources.pms.errors import AuthError
from hotel_pipeline.sources.pms.extract import ExtractResult, current_status, run_extract
from hotel_pipeline.sources.pms.http import RetryPolicy
from hotel_pipeline.workshop.sandbox.pms.harness import (
    CORE_COLUMNS,
    RunningSandbox,
    expected_reservations,
    running_sandbox,
)
from hotel_pipeline.workshop.sandbox.pms.world import World

#: Fast retries for tests: the sandbox's faults are real, the waits need not be. The read timeout leaves a clean page
#: room on a loaded machine (the in-process sandbox shares the GIL with two requests in flight): a page that merely
#: took over a second counted as an error in tests that assert a clean extract has none.
FAST_RETRY = RetryPolicy(max_attempts=10, backoff_base_seconds=0.005, backoff_cap_seconds=0.05,
                         timeout_seconds=2.0, max_retry_after_seconds=0.01)
#: The issue's fault mix.
FAULT_MIX = {"error_rate": 0.10, "throttle_rate": 0.05, "timeout_rate": 0.02, "truncate_rate": 0.02, "invalid_json_rate": 0.01,
             "timeout_seconds": 2.5, "retry_after_seconds": 1}

#: Page sizes small enough that every vendor pages (so page faults have pages to hit and a run has a middle), and a
#: bounded OPERA arrival calendar (its extracts walk arrival windows, not modification times).
SMALL_PAGES: dict[str, dict] = {
    "mews": {},
    "cloudbeds": {},
    "opera": {"arrival_from": "2016-06-01", "horizon_days": 60, "window_days": 31, "page_size": 100},
    "rms": {"page_size": 200},
    "stayntouch": {"per_page": 100},
    "newbook": {"data_limit": 200},
    "beds24": {},
}


def extract(sb: RunningSandbox, warehouse: Warehouse, vendor: str, hotel_id: str, now: datetime, raw_root: Path,
            mode: str = "auto", retry: RetryPolicy = FAST_RETRY, **options) -> ExtractResult:
    """One extract of one hotel through the sandbox (credentials through the environment, as in production)."""
    os.environ.update(sb.env)
    hotel = sb.hotel(vendor, hotel_id, **options)
    connector = connector_classes()[vendor](hotel, hotel.sources[0], retry=retry, throttle=False, seed=1)
    try:
        return run_extract(warehouse, connector, now=now, mode=mode, raw_root=raw_root)
    finally:
        connector.close()


def current_reservations(warehouse: Warehouse, source: str, hotel_id: str) -> pl.DataFrame:
    """Newest version per reservation (what the ``reservations`` model shows), from reservation_versions."""
    return warehouse.query(
        """SELECT v.* FROM reservation_versions v
           JOIN (SELECT external_id, MAX(version) AS version FROM reservation_versions
                 WHERE source = :s AND hotel_id = :h GROUP BY external_id) m
             ON m.external_id = v.external_id AND m.version = v.version
           WHERE v.source = :s AND v.hotel_id = :h ORDER BY v.external_id""",
        {"s": source, "h": hotel_id},
    )


def mismatches(sb: RunningSandbox, warehouse: Warehouse, vendor: str, hotel_id: str, now: datetime,
               columns: tuple[str, ...] | list[str] | None = None, amount_tolerance: float = 1e-9) -> dict[str, int]:
    """Per column, how many reservations differ from the world at ``now`` ('missing'/'extra' for keys).

    An empty dict means: exactly the data set's reservations (counts, statuses, dates, amounts).
    """
    expected = expected_reservations(sb.world, vendor, hotel_id, now)
    got = current_reservations(warehouse, vendor, hotel_id)
    joined = expected.join(got, on="external_id", how="full", suffix="_got", coalesce=False)
    out: dict[str, int] = {}
    missing = joined.filter(pl.col("external_id_got").is_null()).height
    extra = joined.filter(pl.col("external_id").is_null()).height
    if missing:
        out["missing"] = missing
    if extra:
        out["extra"] = extra
    both = joined.filter(pl.col("external_id").is_not_null() & pl.col("external_id_got").is_not_null())
    for column in columns or CORE_COLUMNS:
        bad = both.filter(pl.col(column).ne_missing(pl.col(f"{column}_got"))).height
        if bad:
            out[column] = bad
    if "net_amount_got" in both.columns:
        bad = both.filter(((pl.col("net_amount") - pl.col("net_amount_got")).abs() > amount_tolerance)
                          | pl.col("net_amount_got").is_null()).height
        if bad:
            out["net_amount"] = bad
    return out


def unified_state(warehouse: Warehouse, source: str, hotel_id: str) -> pl.DataFrame:
    """The unified model of one hotel without bookkeeping columns (for run-vs-run comparisons)."""
    return current_reservations(warehouse, source, hotel_id).drop("version", "synced_at", "batch_id", "source_as_of")


def scan_for_secrets(secrets: list[str], *roots: Path, texts: list[str] = ()) -> list[str]:
    """Where any secret appears: files under ``roots`` (gz files decompressed) and extra texts."""
    hits = []
    for root in roots:
        for path in Path(root).rglob("*"):
            if not path.is_file():
                continue
            data = path.read_bytes()
            if path.suffix == ".gz":
                data = gzip.decompress(data)
            for secret in secrets:
                if secret.encode() in data:
                    hits.append(f"{path}: {secret[:6]}...")
    for i, text in enumerate(texts):
        for secret in secrets:
            if secret in text:
                hits.append(f"text #{i}: {secret[:6]}...")
    return hits


def at(day: date) -> datetime:
    """03:00 in Lisbon (the sandbox hotels' zone) on ``day``."""
    return local_instant(day, "Europe/Lisbon", 3)


#: Every unified column the data set's reservations carry (``mismatches`` compares them exactly, amounts aside).
ALL_COLUMNS = ("status", "booked_on", "cancelled_on", "checked_out_on", "arrival_date", "departure_date", "nights",
               "room_type", "room_number", "adults", "children", "babies", "meal_plan", "channel")


@dataclass(frozen=True)
class Scope:
    """What the extract-path tests (vendors/test_extract_path.py and the vendor modules) read of one vendor: H1's
    arrivals from ``arrival_from`` to ``arrival_to``; a full extract at :data:`NOW` gives more than ``min_records``
    reservations; ``columns`` are the unified columns the vendor's API carries (compared exactly)."""

    arrival_from: date
    arrival_to: date
    min_records: int
    columns: tuple[str, ...] = ALL_COLUMNS


#: The clock of the extract-path tests' full extracts.
NOW = at(date(2016, 7, 20))
_JULY = Scope(date(2016, 7, 1), date(2016, 7, 31), 1000)
#: Per vendor. July (~1,400 reservations at NOW) holds every status, meal plan, early check-outs and cancellations.
#: Mews reads six weeks (its nightly order items make it the heaviest to serve; enough to page 1000 per page and to
#: chunk); Cloudbeds reads four months (~5,000 reservations, 50 pages of 100); Cloudbeds and Beds24 carry no
#: infant count (babies is not compared).
SCOPES: dict[str, Scope] = {
    "mews": Scope(date(2016, 7, 1), date(2016, 8, 15), 1500),
    "cloudbeds": Scope(date(2016, 6, 1), date(2016, 9, 30), 3000, tuple(c for c in ALL_COLUMNS if c != "babies")),
    "opera": _JULY,
    "rms": _JULY,
    "stayntouch": _JULY,
    "newbook": _JULY,
    "beds24": Scope(_JULY.arrival_from, _JULY.arrival_to, _JULY.min_records,
                    tuple(c for c in ALL_COLUMNS if c != "babies")),
}


@contextmanager
def serving(world: World, vendor: str) -> Iterator[RunningSandbox]:
    """The sandbox serving ``vendor`` on a free loopback port over ``world``, its clock at :data:`NOW`; for the
    vendors with a bundled spec, every request and response is held to it (any breach fails the test)."""
    world.set_now(NOW)
    with running_sandbox(world, [vendor], validate_specs=True) as running:
        yield running


def check_full_extract(sb: RunningSandbox, warehouse: Warehouse, vendor: str, now: datetime, raw_root: Path,
                       scope: Scope, **options) -> ExtractResult:
    """A first extract of H1 at ``now`` is a full one of more than ``scope.min_records`` reservations, nothing
    quarantined, exactly the data set's in ``scope.columns``, with every status and the common meal plans; it commits
    the cursor ``now``, one guest (with an e-mail token) per reservation, and the hotel's rooms."""
    sb.set_now(now)
    result = extract(sb, warehouse, vendor, "H1", now, raw_root, **options)
    assert result.mode == "full" and result.records > scope.min_records and result.quarantined == 0
    assert mismatches(sb, warehouse, vendor, "H1", now, scope.columns) == {}
    got = current_reservations(warehouse, vendor, "H1")
    assert set(got["status"]) == {"confirmed", "checked_in", "checked_out", "cancelled", "no_show"}
    assert set(got["meal_plan"]) >= {"RO", "BB", "HB"}
    status = current_status(warehouse, "H1", vendor)
    assert status["last_status"] == "ok" and status["cursor"] == now.isoformat()
    guests = warehouse.query("SELECT * FROM guests WHERE source = :s", {"s": vendor})
    assert guests.height == result.records and guests["email_token"].null_count() == 0
    assert warehouse.query("SELECT COUNT(*) AS n FROM rooms WHERE source = :s", {"s": vendor})["n"][0] > 100
    with warehouse.transaction() as tx:  # the unified model the vendor fed meets the blocking contract downstream
        run_model(tx, "reservations", {"run_at": now.astimezone(UTC).replace(tzinfo=None)})
    contract = check_reservations(warehouse)
    assert contract.passed, (contract.description, contract.metadata.get("failing_rows_table"))
    return result


def check_bad_credentials_keep_the_cursor(sb: RunningSandbox, warehouse: Warehouse, vendor: str, tmp_path: Path,
                                          env_var: str) -> None:
    """A wrong credential in ``env_var``: a typed AuthError that says "refused" without the value; cursor kept."""
    now = NOW
    extract(sb, warehouse, vendor, "H1", now, tmp_path / "raw")
    before = current_status(warehouse, "H1", vendor)["cursor"]
    real = sb.env[env_var]
    sb.env[env_var] = "wrong-token-0123456789"
    try:
        with pytest.raises(AuthError) as info:
            extract(sb, warehouse, vendor, "H1", now + timedelta(hours=1), tmp_path / "raw")
    finally:
        sb.env[env_var] = real
    status = current_status(warehouse, "H1", vendor)
    assert status["last_status"] == "failed" and status["cursor"] == before
    assert "refused" in str(info.value) and "wrong-token" not in str(info.value)
    assert "wrong-token" not in (status["last_error"] or "")
