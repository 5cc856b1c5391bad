"""Running the receiver on loopback for tests and the bench: in a thread (uvicorn.Server) or as a real subprocess
(``hotel-pipeline webhooks serve``) that can be killed with SIGKILL and started again."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn

from hotel_pipeline.webhooks.receiver import build_app
from hotel_pipeline.webhooks.spool import Spool
from hotel_pipeline.webhooks.vendors import Endpoint


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"the receiver at {url} did not come up in {timeout} s")


@contextmanager
def receiver_thread(endpoints: list[Endpoint], spool: Spool, **kwargs: object) -> Iterator[str]:
    """The receiver app under uvicorn in a background thread; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(build_app(endpoints, spool, **kwargs), host="127.0.0.1", port=port, log_level="warning",
                            access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="webhook-receiver", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class ReceiverProcess:
    """``hotel-pipeline webhooks serve`` as a child process (its environment: the portfolio and secrets)."""

    def __init__(self, env: dict[str, str], spool_root: Path, port: int | None = None) -> None:
        self.env = {**os.environ, **env}
        self.spool_root = spool_root
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ReceiverProcess:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hotel_pipeline.cli", "webhooks", "serve", "--port", str(self.port),
             "--spool", str(self.spool_root)],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_ready(self.url, timeout=60)
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs (what a crash or an OOM kill does)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
