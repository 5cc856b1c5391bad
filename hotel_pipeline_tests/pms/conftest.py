"""Fixtures of the PMS tests: the worlds of the vendors' scopes (helpers.SCOPES), and clean environment variables."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from hotel_pipeline.workshop.sandbox.pms.world import World
from hotel_pipeline_tests.pms.helpers import SCOPES


@pytest.fixture(scope="session")
def scope_world() -> Callable[[str], World]:
    """``scope_world(vendor)``: the world of H1's arrivals in the vendor's scope, built once per session and shared by
    the modules that read it (vendors/test_extract_path.py and the vendor's own module)."""
    built: dict[tuple, World] = {}

    def get(vendor: str) -> World:
        scope = SCOPES[vendor]
        key = (scope.arrival_from, scope.arrival_to)
        if key not in built:
            built[key] = World(hotel_ids=["H1"], arrival_from=scope.arrival_from, arrival_to=scope.arrival_to)
        return built[key]

    return get


@pytest.fixture(autouse=True)
def _restore_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Credentials set by a test (os.environ.update in helpers.extract) do not leak into the next test."""
    import os

    saved = dict(os.environ)
    yield
    for key in set(os.environ) - set(saved):
        monkeypatch.delenv(key, raising=False)
