"""``make dev``: the Dagster UI over what ``make demo`` built, with the PMS sandbox beside it on a free port.

The UI process (``dagster dev``) runs in its own process group, the sandbox in a child process of its own
(``sandbox.pms.process``); this process forwards Ctrl-C and SIGTERM to the UI as the interrupt it shuts down cleanly
on, then stops it for good if it is still there after a grace period, and stops the sandbox. So ``make dev`` always
ends within seconds and leaves no webserver, daemon or sandbox behind.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

from hotel_pipeline.core import settings

#: The clock of the demo's last night, 03:00 in Lisbon: "today" is a date of the data set.
DEMO_CLOCK = "2016-07-31T02:00:00+00:00"
GRACE_SECONDS = 10.0


def free_port(preferred: int, host: str = "127.0.0.1") -> int:
    """``preferred`` if nothing listens there, else a free port the system picks."""
    for port in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise OSError("no free port")


def stop_process_group(proc: subprocess.Popen, grace: float = GRACE_SECONDS) -> int:
    """Interrupt the group (what Ctrl-C does), then terminate and kill it if it does not end in time."""
    for sig, wait in ((signal.SIGINT, grace), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            return proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
    return proc.wait()


def main(port: int = 3000) -> int:
    """Serve the sandbox, start ``dagster dev`` on the demo's deployment, stop both on Ctrl-C or SIGTERM."""
    from hotel_pipeline.core.clock import parse_instant
    from hotel_pipeline.workshop.demo import DEMO_PII_KEY, _sandbox_portfolio, _write_portfolio, demo_dir
    from hotel_pipeline.workshop.sandbox.pms.process import sandbox_process

    home = demo_dir()
    env = os.environ
    env.setdefault("HOTEL_WAREHOUSE_URL", f"duckdb:///{home / 'warehouse.duckdb'}")
    env.setdefault("HOTEL_PIPELINE_DATA_DIR", str(home))
    env.setdefault("HOTEL_PIPELINE_CLOCK", DEMO_CLOCK)
    env.setdefault("HOTEL_PIPELINE_PII_KEY", DEMO_PII_KEY)
    env.setdefault("DAGSTER_HOME", str(settings.REPO_ROOT / "data" / "dagster_home"))
    portfolio, raw = _sandbox_portfolio(settings.portfolio_path())
    ui_port = free_port(port)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with sandbox_process(portfolio, parse_instant(env["HOTEL_PIPELINE_CLOCK"]), throttle=True) as sandbox:
        env["HOTEL_PIPELINE_CONFIG"] = str(_write_portfolio(raw, sandbox, home / "dev_portfolio.yaml"))
        print(f"PMS sandbox on {sandbox.url}; clock {env['HOTEL_PIPELINE_CLOCK']}; "
              f"warehouse {env['HOTEL_WAREHOUSE_URL']}", flush=True)
        print(f"Dagster UI on http://127.0.0.1:{ui_port} (Ctrl-C stops everything)", flush=True)
        dagster = Path(sys.executable).with_name("dagster")
        proc = subprocess.Popen(  # noqa: S603 - our own venv's dagster, fixed arguments
            [str(dagster), "dev", "-w", str(settings.REPO_ROOT / "workspace.yaml"), "-h", "127.0.0.1",
             "-p", str(ui_port)],
            cwd=settings.REPO_ROOT, start_new_session=True,
            # `dagster dev` is what the pinned Dagster documents for a workspace file; its notice about `dg dev` is
            # not news to a demo user.
            env={**env, "PYTHONWARNINGS": "ignore:Function `dev_command` is superseded"})
        watcher = threading.Thread(target=lambda: (proc.wait(), stop.set()), daemon=True)
        watcher.start()
        stop.wait()
        code = proc.poll()
        if code is None:
            print("stopping the Dagster UI and the sandbox ...", flush=True)
            stop_process_group(proc)
            code = 0
    return code
