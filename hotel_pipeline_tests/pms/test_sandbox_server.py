"""The PMS sandbox's HTTP server itself."""

from __future__ import annotations

from datetime import date

import pytest

from hotel_pipeline.workshop.sandbox.pms.server import Sandbox, SandboxConfig, SandboxServer
from hotel_pipeline.workshop.sandbox.pms.world import World
from hotel_pipeline_tests.sockets import server_nodelay


def test_answers_leave_without_waiting_for_delayed_acks(monkeypatch: pytest.MonkeyPatch) -> None:
    world = World(hotel_ids=["H1"], arrival_from=date(2016, 7, 1), arrival_to=date(2016, 7, 3))
    with SandboxServer(Sandbox(world, SandboxConfig(credentials={}))) as server:
        assert server_nodelay(server.httpd, server.base_url("mews") + "/nothing", monkeypatch) == [True]
