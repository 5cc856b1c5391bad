"""Fixtures of the CSV importer tests: a private data dir (inbox + raw zone in tmp), the demo portfolio, a frozen clock.

The legacy-CSV portfolio (data/portfolio_csv.yaml): the same two hotels as the demo, fed by CSV exports."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from hotel_pipeline.core import settings
from hotel_pipeline.core.clock import Clock
from hotel_pipeline.core.portfolio import Portfolio, load_portfolio


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOTEL_PIPELINE_DATA_DIR in tmp: the raw zone and the inbox never touch the repository's data/."""
    root = tmp_path / "data"
    (root / "inbox").mkdir(parents=True)
    monkeypatch.setenv("HOTEL_PIPELINE_DATA_DIR", str(root))
    assert settings.inbox_dir() == root / "inbox"
    return root


@pytest.fixture(scope="session")
def portfolio() -> Portfolio:
    """The CSV portfolio with a small decompressed-size cap (so the corpus's gzip bomb stays cheap)."""
    from hotel_pipeline_tests.csv.corpus import CORPUS_MAX_FILE_BYTES

    loaded = load_portfolio(settings.REPO_ROOT / "data" / "portfolio_csv.yaml")
    return replace(loaded, import_limits=replace(loaded.import_limits, max_file_bytes=CORPUS_MAX_FILE_BYTES))


@pytest.fixture
def clock() -> Clock:
    """The night after the base export's business date (2015-07-03): 03:00 Lisbon on 2015-07-04."""
    return Clock(frozen_at="2015-07-04T02:00:00+00:00")

