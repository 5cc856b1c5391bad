"""The production wing carries nothing of the sample data set or the simulators.

The bundled data set (hotel stays of 2015-2017) and the simulated markets belong to the workshop and to
configuration (``data/*.yaml``); a date of the sample data or an import of a simulator in production code means a
deployment would silently inherit them.
"""

from __future__ import annotations

import re
from pathlib import Path

from hotel_pipeline.core import settings

SAMPLE_DATE = re.compile(r"\b201[5-7]-\d\d")
#: An import of the workshop (statement or importlib string) or a call into a simulator.
SIMULATOR = re.compile(r"^\s*(from|import)\s+hotel_pipeline\.workshop|import_module\(\s*['\"]hotel_pipeline\.workshop"
                       r"|generate_market|\bsimulate\(|\bMarketConfig\(|\bWorld\(")


def production_files() -> list[Path]:
    package = settings.REPO_ROOT / "hotel_pipeline"
    files = [p for p in package.rglob("*.py") if "workshop" not in p.relative_to(package).parts]
    return sorted(files + list(settings.SQL_MODELS_DIR.glob("*.sql")))


def offending(pattern: re.Pattern[str]) -> list[str]:
    hits = []
    for path in production_files():
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                hits.append(f"{path.relative_to(settings.REPO_ROOT)}:{n}: {line.strip()}")
    return hits


def test_the_production_wing_is_a_real_set_of_files() -> None:
    names = {p.name for p in production_files()}
    assert {"definitions.py", "partitions.py", "pacing_snapshots.sql", "opera.py"} <= names
    assert not any("workshop" in p.parts for p in production_files())


def test_no_production_module_names_a_date_of_the_sample_data() -> None:
    assert offending(SAMPLE_DATE) == []


def test_no_production_module_names_a_simulator() -> None:
    assert offending(SIMULATOR) == []


def test_the_pattern_catches_what_it_is_for() -> None:
    assert SAMPLE_DATE.search('HISTORY_START = "2015-07-01"') and not SAMPLE_DATE.search("2013-01-01")
    assert SIMULATOR.search("    from hotel_pipeline.workshop.dining import serve")
    assert SIMULATOR.search('importlib.import_module("hotel_pipeline.workshop.demo")')
    assert not SIMULATOR.search("the workshop (demo, sandboxes) is never imported")
