"""The code location is built from a portfolio, and its runs use that portfolio, not the process environment.

``build_defs(portfolio)`` binds the portfolio as the ``portfolio`` resource and builds the hotel partitions from it;
only the top-level load (``hotel_pipeline.definitions``) and the CLI entry points read ``HOTEL_PIPELINE_CONFIG``.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import dagster as dg

from hotel_pipeline.core import settings
from hotel_pipeline.core.clock import Clock, local_instant
from hotel_pipeline.core.portfolio import load_portfolio, parse_portfolio
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.definitions import build_defs

#: A portfolio whose hotels are not the environment's (the tests' HOTEL_PIPELINE_CONFIG holds H1 and H2).
OTHER = parse_portfolio({"hotels": [
    {"id": "X1", "name": "Harbour", "timezone": "Europe/Lisbon", "currency": "EUR", "capacity": 40},
    {"id": "X2", "name": "Summit", "timezone": "America/New_York", "currency": "USD", "capacity": 75},
]})

#: Where the environment may be read for the portfolio: the code location's top-level load and the CLI commands.
ENTRY_POINTS = re.compile(r"(^|/)(definitions|cli|cli_params)\.py$|^core/(portfolio|settings)\.py$")
READS_THE_ENVIRONMENT = re.compile(r"\bcurrent_portfolio\(|\bload_portfolio\(\)|\bportfolio_path\(\)")


def test_the_environment_holds_other_hotels() -> None:
    assert set(load_portfolio().hotel_ids).isdisjoint(OTHER.hotel_ids)


def test_build_defs_of_another_portfolio_reaches_the_assets(tmp_path: Path) -> None:
    """Run in-process, the ``hotels`` asset of ``build_defs(OTHER)`` writes OTHER's hotels, not the environment's."""
    defs = build_defs(OTHER)
    warehouse = Warehouse(url=f"duckdb:///{tmp_path / 'w.duckdb'}")
    clock = Clock(frozen_at=local_instant(date(2016, 7, 20), "Europe/Lisbon").isoformat())
    result = dg.materialize(defs.assets, selection=["hotels"],
                            resources={**defs.resources, "warehouse": warehouse, "clock": clock})
    assert result.success
    rows = warehouse.query("SELECT hotel_id, capacity FROM hotels ORDER BY hotel_id").rows()
    assert rows == [("X1", 40), ("X2", 75)]


def test_the_hotel_partitions_are_the_portfolios_hotels() -> None:
    """One place makes them (``hotel_partitions(portfolio)`` at build time); nothing adds them at run time."""
    assert build_defs(OTHER).resolve_assets_def("pms_extract").partitions_def.get_partition_keys() == ["X1", "X2"]
    env = load_portfolio()
    assert build_defs(env).resolve_assets_def("pms_extract").partitions_def.get_partition_keys() == list(env.hotel_ids)


def production_hits(pattern: re.Pattern[str], allowed: re.Pattern[str] | None = None) -> list[str]:
    package = settings.REPO_ROOT / "hotel_pipeline"
    hits = []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package).as_posix()
        if rel.startswith("workshop/") or (allowed and allowed.search(rel)):
            continue
        hits += [f"{rel}:{n}" for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if pattern.search(line)]
    return hits


def test_no_run_time_path_reads_the_portfolio_from_the_environment() -> None:
    assert production_hits(READS_THE_ENVIRONMENT, ENTRY_POINTS) == []
    assert production_hits(READS_THE_ENVIRONMENT)  # the pattern does find the entry points' reads


def test_no_module_adds_hotel_partitions_at_run_time() -> None:
    assert production_hits(re.compile(r"add_dynamic_partitions|DynamicPartitionsDefinition")) == []
