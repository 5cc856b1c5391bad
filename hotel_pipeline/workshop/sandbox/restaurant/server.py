"""A Resos-shaped restaurant bookings API (Starlette, served by uvicorn on a free loopback port).

The shape follows resOS's public REST API v1 as its documentation describes it (written from that description, no
text copied): ``GET /v1/bookings`` with HTTP Basic auth (the API key as user name, empty password), filtered by
``fromDateTime``/``toDateTime`` (ISO 8601), paged by ``skip``/``limit`` (at most 100), answering a JSON list of
bookings ``{_id, date, time, dateTime, people, status, guest {name, email, phone}, customFields [{name, value}],
createdAt, lastUpdated}``. A hotel's booking number travels in a custom field the restaurant sets up (here
"Hotel booking number"); residents who only give their room have "Room number".
"""

from __future__ import annotations

import base64
import socket
import threading
import time
from datetime import datetime
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

API_KEY = "resos-sandbox-key"  # a sandbox value, not a secret
MAX_LIMIT = 100


def _instant(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)


def resos_app(bookings: list[dict[str, Any]], api_key: str = API_KEY) -> Starlette:
    """The API over ``bookings`` (Resos-shaped dicts; ``dateTime`` naive local ISO)."""
    ordered = sorted(bookings, key=lambda b: (b["dateTime"], b["_id"]))
    expected = "Basic " + base64.b64encode(f"{api_key}:".encode()).decode()

    async def list_bookings(request: Request) -> JSONResponse:
        if request.headers.get("authorization") != expected:
            return JSONResponse({"message": "Unauthorized"}, status_code=401)
        q = request.query_params
        try:
            start, end = _instant(q.get("fromDateTime")), _instant(q.get("toDateTime"))
            skip = int(q.get("skip", 0))
            limit = int(q.get("limit", MAX_LIMIT))
        except ValueError as exc:
            return JSONResponse({"message": f"bad parameter: {exc}"}, status_code=400)
        if not 1 <= limit <= MAX_LIMIT or skip < 0:
            return JSONResponse({"message": f"limit must be 1..{MAX_LIMIT}, skip >= 0"}, status_code=400)
        rows = [b for b in ordered if (start is None or _instant(b["dateTime"]) >= start)
                and (end is None or _instant(b["dateTime"]) < end)]
        return JSONResponse(rows[skip:skip + limit])

    return Starlette(routes=[Route("/v1/bookings", list_bookings, methods=["GET"])])


class ResosSandbox:
    """``with ResosSandbox(bookings) as url:`` serves the API on 127.0.0.1 at a free port (base URL ends in /v1)."""

    def __init__(self, bookings: list[dict[str, Any]], api_key: str = API_KEY) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        config = uvicorn.Config(resos_app(bookings, api_key), log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.sock.getsockname()[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.url

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
        self.sock.close()
