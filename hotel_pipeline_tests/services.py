"""The services some tests need besides PostgreSQL (RabbitMQ, Redis): present, or a loud failure under CI=true."""

from __future__ import annotations

import os
import socket

import pytest


def require_service(name: str, host: str, port: int) -> None:
    """Skip (or, with CI=true, fail) unless something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=2):
            return
    except OSError as exc:
        problem = f"{name} at {host}:{port} is not reachable ({exc})"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {problem}", pytrace=False)
    pytest.skip(f"{problem}; set CI=true to make this a failure")
