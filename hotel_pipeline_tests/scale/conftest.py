"""Fixtures for the distributed shapes: a Dagster instance on Postgres, Celery workers, a PMS sandbox they reach."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from hotel_pipeline_tests.conftest import POSTGRES_URL, require_postgres

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _admin() -> sa.Engine:
    return sa.create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1),
                            isolation_level="AUTOCOMMIT")


@pytest.fixture
def instance_database() -> Iterator[str]:
    """A database of its own for Dagster's storage (runs, event log, schedules), dropped afterwards."""
    require_postgres()
    name = f"dg_{uuid.uuid4().hex[:12]}"
    admin = _admin()
    with admin.connect() as con:
        con.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as con:
            con.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def write_instance_yaml(home: Path, postgres_url: str) -> Path:
    """A DAGSTER_HOME whose dagster.yaml puts every storage on Postgres (dagster-postgres), as a team deploys it.

    The URL names psycopg2: SQLAlchemy 2.1 reads a bare ``postgresql://`` as psycopg 3, whose server-side binding
    breaks dagster-postgres's ``NOTIFY run_events, %(id)s`` (a syntax error at the first event)."""
    home.mkdir(parents=True, exist_ok=True)
    postgres_url = postgres_url.replace("postgresql://", "postgresql+psycopg2://", 1)
    (home / "dagster.yaml").write_text(yaml.safe_dump({
        "storage": {"postgres": {"postgres_url": postgres_url}},
        "telemetry": {"enabled": False},
    }))
    return home


def dagster_cli(args: list[str], env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    """``dagster <args>`` against the code location, as an operator would run it; fails the test on a non-zero exit."""
    proc = subprocess.run([str(BIN / "dagster"), *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, f"dagster {' '.join(args)} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n" \
                                 f"{proc.stderr[-6000:]}"
    return proc


class Workers:
    """Celery worker processes (``celery -A hotel_pipeline.celery_worker worker``), each in its own process group."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [str(BIN / "celery"), "-A", "hotel_pipeline.celery_worker", "worker", "--pool=solo", "-Q", "dagster",
             "-n", f"{name}@%h", "--without-gossip", "--without-mingle", "-l", "INFO"],
            cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs[name] = proc
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if b" ready." in (self.logs / f"{name}.log").read_bytes():
                return proc
            assert proc.poll() is None, (self.logs / f"{name}.log").read_text()[-3000:]
            time.sleep(0.2)
        raise AssertionError(f"worker {name} not ready: {(self.logs / f'{name}.log').read_text()[-3000:]}")

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        os.killpg(proc.pid, 9)
        proc.wait(timeout=30)

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.kill(name)
