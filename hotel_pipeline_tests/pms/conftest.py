"""Fixtures of the PMS tests: a small world (one hotel, a season of arrivals) and a sandbox on a free port."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from hotel_pipeline.sandbox.pms.world import World

#: H1 arrivals of summer 2016: ~6,000 bookings, every status, enough to page and chunk.
SMALL_WORLD = {"hotel_ids": ["H1"], "arrival_from": date(2016, 6, 1), "arrival_to": date(2016, 9, 30)}


@pytest.fixture(scope="session")
def small_world() -> World:
    return World(**SMALL_WORLD)


@pytest.fixture(autouse=True)
def _restore_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Credentials set by a test (os.environ.update in helpers.extract) do not leak into the next test."""
    import os

    saved = dict(os.environ)
    yield
    for key in set(os.environ) - set(saved):
        monkeypatch.delenv(key, raising=False)
