"""Shared fixtures: a fresh warehouse per test on DuckDB (temp file) and on a real PostgreSQL (own schema).

PostgreSQL comes from ``HOTEL_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``). Under
``CI=true`` a missing server fails the run loudly; elsewhere the Postgres tests skip with the reason.
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from hotel_pipeline.core.clock import Clock
from hotel_pipeline.core.warehouse import Warehouse

POSTGRES_URL = os.environ.get("HOTEL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")

# Tests run against the legacy-CSV portfolio (same hotels as the demo's sandbox-PMS one): hermetic, no server needed.
# Tests of the PMS path build their own portfolios with a sandbox on a free port.
os.environ["HOTEL_PIPELINE_CONFIG"] = str(Path(__file__).resolve().parents[1] / "data" / "portfolio_csv.yaml")
# A session's own guest-store key, so no test ever creates the default key file in the checkout's data/keys/.
os.environ.setdefault("HOTEL_PIPELINE_VAULT_KEY", Fernet.generate_key().decode())


def _postgres_available() -> str | None:
    """None when the server answers, else why not."""
    try:
        engine = sa.create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.connect() as con:
            con.execute(sa.text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not available", with its reason
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"


_PG_PROBLEM = _postgres_available()


def require_postgres() -> None:
    if _PG_PROBLEM is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but PostgreSQL at {POSTGRES_URL} is not usable: {_PG_PROBLEM}", pytrace=False)
    pytest.skip(f"PostgreSQL at {POSTGRES_URL} not usable ({_PG_PROBLEM}); set CI=true to make this a failure")


@pytest.fixture
def duckdb_warehouse(tmp_path: Path) -> Warehouse:
    return Warehouse(url=f"duckdb:///{tmp_path / 'warehouse.duckdb'}", busy_timeout_seconds=30)


def postgres_schema_url(schema: str) -> str:
    sep = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture
def postgres_warehouse() -> Iterator[Warehouse]:
    """A Postgres warehouse in a schema of its own, dropped afterwards."""
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as con:
        con.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        yield Warehouse(url=postgres_schema_url(schema))
    finally:
        from hotel_pipeline.core.warehouse.postgres_backend import _engines

        for url in [u for u in _engines if schema in u]:
            _engines.pop(url).dispose()
        with admin.begin() as con:
            con.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request: pytest.FixtureRequest) -> Warehouse:
    """The same test on both engines."""
    return request.getfixturevalue(f"{request.param}_warehouse")


@pytest.fixture
def frozen_clock() -> Clock:
    """2016-07-31 03:00 Lisbon (02:00 UTC): the demo's clock."""
    return Clock(frozen_at="2016-07-31T02:00:00+00:00")


@dataclass(frozen=True)
class ShortRun:
    """What the demo's short run (test_pipeline_engines.run_short_pipeline) left on a fresh DuckDB warehouse."""

    warehouse: Warehouse
    data_dir: Path  #: its HOTEL_PIPELINE_DATA_DIR (inbox, raw zone, exports)
    checked: Counter  #: how often each contract ran, by (check name, passed)
    evaluated: set  #: the names of every check evaluated
    backfills: list
    runs: list
    materialized: set  #: the asset keys the instance holds a materialisation of
    backfill_materialized: Counter  #: materialisation events of the backfill's run, by asset key


@pytest.fixture(scope="session")
def short_run_on_duckdb(tmp_path_factory: pytest.TempPathFactory) -> ShortRun:
    """The demo's short run over the CSV portfolio on a fresh DuckDB warehouse, once per session (per xdist worker):
    the tests that compare with it, re-run it or list its tables only read it (a test that writes takes a copy).
    Why: it is minutes of work on two cores, and four tests used to repeat it identically."""
    from hotel_pipeline_tests.test_pipeline_engines import run_short_pipeline

    root = tmp_path_factory.mktemp("short_run")
    warehouse = Warehouse(url=f"duckdb:///{root / 'warehouse.duckdb'}", busy_timeout_seconds=30)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOTEL_PIPELINE_DATA_DIR", str(root / "data"))
        checked = run_short_pipeline(warehouse, root)
    return ShortRun(warehouse, root / "data", checked, set(run_short_pipeline.evaluated),
                    list(run_short_pipeline.backfills), list(run_short_pipeline.runs),
                    set(run_short_pipeline.materialized), run_short_pipeline.backfill_materialized)


#: Idle seconds assumed for a test marked ``slow`` without a figure of its own (``@pytest.mark.slow(seconds)``).
SLOW_DEFAULT_SECONDS = 5.0


def _slow_seconds(item: pytest.Item) -> float | None:
    marker = item.get_closest_marker("slow")
    if marker is None:
        return None
    return float(marker.args[0]) if marker.args else SLOW_DEFAULT_SECONDS


def _shared_fixtures(item: pytest.Item) -> set[str]:
    """The project's module- and session-scoped fixtures ``item`` uses (built once per worker process); a module
    fixture by its module's name, since the fixtures of one module may share a cache beside them."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return set()
    return {d.baseid if d.scope == "module" else f"{d.baseid}::{name}"
            for name, defs in info.name2fixturedefs.items() for d in defs[-1:]
            if d.scope != "function" and d.baseid.startswith("hotel_pipeline_tests")}


def _slow_units(slow: list[pytest.Item]) -> list[list[pytest.Item]]:
    """Slow tests joined when they share a module or session fixture: a unit runs on one worker, which builds the
    fixture once (split across two workers it is built twice)."""
    parent = list(range(len(slow)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for i, item in enumerate(slow):
        for fixture in _shared_fixtures(item):
            if fixture in owner:
                parent[root(i)] = root(owner[fixture])
            else:
                owner[fixture] = i
    units: dict[int, list[pytest.Item]] = {}
    for i, item in enumerate(slow):
        units.setdefault(root(i), []).append(item)
    return list(units.values())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The slow tests first, and split evenly between the xdist workers' first batches.

    Why: ``make test`` runs ``-n 2 --dist load``, whose scheduler hands each worker a first batch of consecutive
    tests (a quarter of its share: 121 each of 974) before it balances the rest in smaller batches. With the slow
    tests simply sorted first they all fell in the first worker's batch: minutes of work queued on one core while the
    other took the quick tests, and the whole suite waited for that batch at the end. Here the slow tests, in units
    that share a fixture, are dealt largest first to whichever worker has the least slow work so far (by the idle
    seconds their ``slow`` marker gives), and each worker's share is placed at the start of its first batch; the
    quick tests keep their collection order in between and after. Without xdist the slow tests just come first."""
    slow = [item for item in items if _slow_seconds(item) is not None]
    if not slow:
        return
    rest = [item for item in items if _slow_seconds(item) is None]
    workers = int(getattr(config, "workerinput", {}).get("workercount", 1))
    units = sorted(_slow_units(slow), key=lambda unit: -sum(_slow_seconds(i) or 0.0 for i in unit))
    shares: list[list[pytest.Item]] = [[] for _ in range(workers)]
    loads = [0.0] * workers
    for unit in units:
        lightest = loads.index(min(loads))
        shares[lightest].extend(unit)
        loads[lightest] += sum(_slow_seconds(i) or 0.0 for i in unit)
    # xdist's LoadScheduling.schedule: each worker's first batch is max(2, len(items) // workers // 4) tests.
    batch = max(2, len(items) // workers // 4)
    ordered: list[pytest.Item] = []
    for worker, share in enumerate(shares):
        while len(ordered) < worker * batch and rest:
            ordered.append(rest.pop(0))
        ordered.extend(share)
    items[:] = ordered + rest


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The adversarial CSV corpus as a figure: inputs tried, and how many got exactly the outcome owed to them."""
    outcomes: dict[str, dict[str, str]] = {"test_corpus_case[": {}, "test_corpus_case_on_postgres[": {}}
    for status in ("passed", "failed", "error", "skipped"):
        for report in terminalreporter.stats.get(status, []):
            nodeid = getattr(report, "nodeid", "")
            for prefix, seen in outcomes.items():
                if f"::{prefix}" in nodeid and (report.when == "call" or status in ("error", "skipped")):
                    seen[nodeid] = status
    lines = []
    for prefix, engine in (("test_corpus_case[", "DuckDB"), ("test_corpus_case_on_postgres[", "PostgreSQL")):
        seen = outcomes[prefix]
        if seen:
            ok = sum(s == "passed" for s in seen.values())
            skipped = sum(s == "skipped" for s in seen.values())
            lines.append(f"{engine}: {len(seen)} inputs tried, {ok} handled as expected"
                         + (f", {skipped} skipped" if skipped else "")
                         + (f", {len(seen) - ok - skipped} NOT" if len(seen) - ok - skipped else ""))
    if lines:
        terminalreporter.write_sep("-", "adversarial CSV corpus")
        for line in lines:
            terminalreporter.write_line(line)
