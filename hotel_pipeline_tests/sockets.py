"""What the loopback sandboxes' sockets look like from the server side."""

from __future__ import annotations

import socket
from http.server import ThreadingHTTPServer

import httpx
import pytest


def server_nodelay(httpd: ThreadingHTTPServer, url: str, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """TCP_NODELAY of the server-side socket of each connection a real GET to ``url`` opened.

    A sandbox answers with headers and body as two writes; with Nagle on, the body waits for the client's delayed
    ACK (~40 ms on Linux loopback), so every call costs 40 ms of nothing and a month of sandbox nights runs slowly.
    """
    seen: list[bool] = []
    handler = httpd.RequestHandlerClass
    setup = handler.setup

    def recording_setup(self) -> None:  # noqa: ANN001 - the handler instance
        setup(self)
        seen.append(bool(self.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)))

    monkeypatch.setattr(handler, "setup", recording_setup)
    httpx.get(url, timeout=10)  # any answer will do (404, 401): the socket is what is looked at
    return seen
