"""The PMS sandbox of a portfolio in a process of its own, for ``make demo`` and ``make dev``.

Why a process: in the demo's own process the sandbox's request handling (vendor handlers, JSON encoding) runs under
the same GIL as the connectors and Dagster, so client and server take turns on one core; a child process serves
on the other. The child is ``hotel-pipeline sandbox serve`` over the same world as ``harness.sandbox_for_portfolio``
(the data set's hotels the portfolio serves, seed 7, the clock given), accepting exactly the credentials the
portfolio names (handed over in one environment variable, never on the command line, which ``ps`` shows). Its clock
moves through the control endpoint ``POST /_sandbox/clock``.

Lifetime: ``sandbox_process`` returns once the child says it serves (no sleeps) and stops it on leaving the block,
however the block ends. The child also stops by itself when its standard input, a pipe from this process, closes:
so it never outlives this process, even one killed by SIGTERM or SIGKILL.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from hotel_pipeline.core.portfolio import Portfolio
from hotel_pipeline.workshop.sandbox.pms.harness import portfolio_credentials

#: The variable through which the child receives its credentials (``sandbox serve --credentials-from``).
CREDENTIALS_VAR = "HOTEL_PIPELINE_SANDBOX_CREDENTIALS"
#: How long the child may take to load the data set and listen (about 3 s of CPU; far more on a loaded machine).
START_TIMEOUT = 180.0
#: How long the child may take to stop once told; then it is killed.
STOP_TIMEOUT = 10.0
READY_PREFIX = "# serving "
STOPPED_PREFIX = "# stopped after "


class SandboxStartError(RuntimeError):
    """The sandbox process ended, or stayed silent, before it served."""


@dataclass
class SandboxProcess:
    """A running ``hotel-pipeline sandbox serve`` child: its URL, the credentials it accepts, its clock."""

    process: subprocess.Popen[str]
    url: str
    credentials: dict[str, dict[str, dict[str, str]]]
    #: CPU seconds the child used, as it said when it stopped (None until then): the demo reports it, since the
    #: sandbox's work no longer shows in the demo process's own CPU.
    cpu_seconds: float | None = None

    def base_url(self, vendor: str) -> str:
        return f"{self.url}/{vendor}"

    def set_now(self, instant: datetime) -> None:
        """Move the sandbox's clock (aware instant; naive means UTC)."""
        instant = instant if instant.tzinfo else instant.replace(tzinfo=UTC)
        response = httpx.post(f"{self.url}/_sandbox/clock", json={"now": instant.isoformat()}, timeout=30.0)
        response.raise_for_status()
        if datetime.fromisoformat(response.json()["now"]) != instant:
            raise RuntimeError(f"the sandbox's clock is {response.json()['now']}, not {instant.isoformat()}")


def _pump(stream: object, lines: queue.Queue[str | None]) -> None:
    """Every line of the child's output to ``lines`` until it is ready, then to this process's stderr (after
    ``# serving`` it writes only errors) but for its ``# stopped after`` line; a final None when its output ends.
    Draining it for good means the child never blocks on a full pipe."""
    ready = False
    for line in stream:  # type: ignore[attr-defined]
        if ready and not line.startswith(STOPPED_PREFIX):
            sys.stderr.write(line)
            continue
        lines.put(line)
        ready = ready or line.startswith(READY_PREFIX)
    lines.put(None)


def _cpu_said(lines: queue.Queue[str | None]) -> float | None:
    """The CPU seconds of the child's ``# stopped after <s> s of CPU`` line, once its output has ended."""
    try:
        while (line := lines.get(timeout=STOP_TIMEOUT)) is not None:
            if line.startswith(STOPPED_PREFIX):
                return float(line.removeprefix(STOPPED_PREFIX).split()[0])
    except queue.Empty:
        pass
    return None


def _stop(process: subprocess.Popen[str]) -> None:
    """Close the child's standard input (it stops on that), kill it if it has not ended in time."""
    try:
        process.stdin.close()  # type: ignore[union-attr]
    except OSError:
        pass
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def sandbox_process(portfolio: Portfolio, now: datetime, *, throttle: bool = False,
                    start_timeout: float = START_TIMEOUT) -> Iterator[SandboxProcess]:
    """Serve every sandbox vendor the portfolio's hotels use from a child process, clock at ``now``.

    The credentials and port are ``harness.portfolio_credentials``'s (unset credential variables get a fresh
    secret in ``os.environ``, so connectors of this process find them). Raises ``SandboxStartError`` with the
    child's last words if it does not serve within ``start_timeout`` seconds.
    """
    creds, hotel_ids, port = portfolio_credentials(portfolio)
    command = [sys.executable, "-m", "hotel_pipeline.cli", "sandbox", "serve", "--port", str(port),
               "--hotels", ",".join(hotel_ids), "--clock", now.astimezone(UTC).isoformat(),
               "--credentials-from", CREDENTIALS_VAR, "--stop-when-stdin-closes",
               *([] if throttle else ["--no-throttle"])]
    process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
        env={**os.environ, CREDENTIALS_VAR: json.dumps(creds)},
        # Its own session: a Ctrl-C at the terminal reaches this process only, which then stops the child itself.
        start_new_session=True)
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_pump, args=(process.stdout, lines), name="pms-sandbox-output", daemon=True).start()
    try:
        sandbox = SandboxProcess(process=process, url=_await_ready(process, lines, start_timeout), credentials=creds)
    except BaseException:
        _stop(process)
        raise
    try:
        yield sandbox
    finally:
        _stop(process)
        sandbox.cpu_seconds = _cpu_said(lines)


def _await_ready(process: subprocess.Popen[str], lines: queue.Queue[str | None], timeout: float) -> str:
    """The URL the child serves on, once it says so."""
    said: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        try:
            line = lines.get(timeout=max(deadline - time.monotonic(), 0.0))
        except queue.Empty:
            raise SandboxStartError(
                f"the PMS sandbox process (pid {process.pid}) did not start serving within {timeout:.0f} s") from None
        if line is None:
            code = process.wait()
            last = "; ".join(s.strip() for s in said[-3:] if s.strip()) or "no output"
            raise SandboxStartError(f"the PMS sandbox process (`hotel-pipeline sandbox serve`) exited with code "
                                    f"{code} before it served: {last}")
        if line.startswith(READY_PREFIX):
            return line.removeprefix(READY_PREFIX).strip()
        said.append(line)
