"""The demo's PMS sandbox in a process of its own: the same world as the in-thread one, never an orphan, a clear
error when it cannot start."""

from __future__ import annotations

import copy
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from hotel_pipeline.core import settings
from hotel_pipeline.core.clock import local_instant
from hotel_pipeline.core.portfolio import load_portfolio
from hotel_pipeline.sources.pms.base import Window
from hotel_pipeline.sources.pms.cadence import pms_sources
from hotel_pipeline.sources.pms.resource import PmsConnectors
from hotel_pipeline.workshop.demo import (
    DEMO_PII_KEY,
    FIRST_NIGHT,
    _sandbox_portfolio,
    _write_portfolio,
)
from hotel_pipeline.workshop.sandbox.pms.harness import sandbox_for_portfolio
from hotel_pipeline.workshop.sandbox.pms.process import SandboxStartError, sandbox_process

DEMO_PORTFOLIO = settings.REPO_ROOT / "data" / "portfolio.yaml"
#: The credential variables the demo portfolio names, fixed so that both runs see the same secrets.
CREDENTIALS = {"HOTEL_MEWS_CLIENT_TOKEN": "client-token", "HOTEL_MEWS_ACCESS_TOKEN_H1": "access-token-h1",
               "HOTEL_CLOUDBEDS_API_KEY_H2": "cloudbeds-key-h2"}
AT = local_instant(FIRST_NIGHT, "Europe/Lisbon", 2, 0)


@pytest.fixture
def demo_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HOTEL_PIPELINE_PII_KEY", DEMO_PII_KEY)
    monkeypatch.setenv("HOTEL_PIPELINE_CONFIG", str(DEMO_PORTFOLIO))


def _answers(start: Callable, root: Path) -> dict[str, list[tuple[str, Any]]]:
    """What every PMS source of the demo portfolio answers, through its own connector, for the last week's
    reconciliation window at the demo's first night, from the sandbox ``start`` serves (as ``demo.main`` wires it):
    (request path, body) of every page, by hotel and vendor."""
    portfolio, raw = _sandbox_portfolio(DEMO_PORTFOLIO)
    answers: dict[str, list[tuple[str, Any]]] = {}
    with start(portfolio, AT) as sandbox:
        served = load_portfolio(_write_portfolio(copy.deepcopy(raw), sandbox, root / "portfolio.yaml"))
        for hotel in served.hotels:
            for source in pms_sources(hotel):
                connector = PmsConnectors(throttle=False).connector(hotel, source)
                try:
                    connector.login()
                    connector.fetch(Window("reconcile", until=AT, since=AT - timedelta(days=7),
                                           start_date=FIRST_NIGHT - timedelta(days=7), end_date=FIRST_NIGHT))
                    answers[f"{hotel.id} {source.type}"] = [(p.path, p.body) for p in connector.http.pages]
                finally:
                    connector.close()
    return answers


def test_the_process_sandbox_answers_as_the_thread_one(demo_env: None, tmp_path: Path) -> None:
    """The child serves the same world as the in-thread sandbox (hotels, data, seed, clock, credentials): every
    page of a week's reconciliation of both demo hotels is the same from either."""
    threads = _answers(sandbox_for_portfolio, tmp_path / "thread")
    process = _answers(sandbox_process, tmp_path / "process")
    assert sorted(threads) == ["H1 mews", "H2 cloudbeds"]
    assert all(len(pages) > 1 for pages in threads.values()), {k: len(v) for k, v in threads.items()}
    assert sum(len(json.dumps(body)) for pages in threads.values() for _path, body in pages) > 100_000
    for key, pages in threads.items():
        assert process[key] == pages, f"{key}: the process sandbox answered otherwise"


def test_the_sandbox_process_ends_with_its_block(demo_env: None) -> None:
    portfolio, _raw = _sandbox_portfolio(DEMO_PORTFOLIO)
    with pytest.raises(RuntimeError, match="a failing demo"), sandbox_process(portfolio, AT) as sandbox:
        assert datetime.fromisoformat(httpx.get(f"{sandbox.url}/_sandbox/clock").json()["now"]) == AT
        sandbox.set_now(AT + timedelta(days=1))  # raises unless the sandbox's clock now says so
        raise RuntimeError("a failing demo")
    assert sandbox.process.returncode == 0  # it stopped by itself when its standard input closed
    assert sandbox.cpu_seconds is not None and sandbox.cpu_seconds > 0  # what it said as it stopped
    # Its credentials came by environment, never on its command line (which `ps` shows).
    assert not set(CREDENTIALS.values()) & set(sandbox.process.args)


def test_a_sandbox_that_cannot_start_is_a_clear_error(demo_env: None, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        portfolio, raw = _sandbox_portfolio(DEMO_PORTFOLIO)
        for hotel in raw["hotels"]:
            hotel["sources"][0]["base_url"] = f"http://127.0.0.1:{port}/{hotel['sources'][0]['type']}"
        on_taken_port = load_portfolio(_write_portfolio(raw, None, tmp_path / "portfolio.yaml"))
        with pytest.raises(SandboxStartError, match=r"exited with code 1 before it served: .*Address already in use"):
            with sandbox_process(on_taken_port, AT):
                pass


PARENT = """
import sys, time
from datetime import datetime
from pathlib import Path
from hotel_pipeline.workshop.demo import _sandbox_portfolio
from hotel_pipeline.workshop.sandbox.pms.process import sandbox_process

portfolio, _raw = _sandbox_portfolio(Path(sys.argv[1]))
with sandbox_process(portfolio, datetime.fromisoformat(sys.argv[2])) as sandbox:
    print(sandbox.process.pid, flush=True)
    time.sleep(600)
"""


def _gone(pid: int, within: float) -> bool:
    """Whether process ``pid`` ends (or is a zombie no one reaps) within ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state == "Z":
            return True
        time.sleep(0.1)
    return False


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=lambda s: s.name)
def test_no_sandbox_outlives_the_demo(demo_env: None, sig: signal.Signals) -> None:
    """Ctrl-C, SIGTERM (which ends Python without running its ``finally``) and SIGKILL of the process that started
    the sandbox: the sandbox process ends too."""
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(DEMO_PORTFOLIO), AT.isoformat()],  # noqa: S603
                              stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    try:
        child = int(parent.stdout.readline())  # type: ignore[union-attr]
        assert not _gone(child, within=0.5)
        parent.send_signal(sig)
        parent.wait(timeout=60)
        assert _gone(child, within=30), f"the sandbox process {child} outlived its parent ({sig.name})"
    finally:
        parent.kill()
        parent.wait()
        parent.stdout.close()  # type: ignore[union-attr]
