"""The webhook receiver: a Starlette app with one route per vendor and hotel, served by uvicorn.

It does as little as a receiver can, so that it answers well inside every vendor's deadline (Mews: 5 s): check the
vendor's credential in constant time (wrong: 401, only a counter is kept), bound the body (over the limit: 413),
parse it into a hint (malformed: 400, kept in quarantine with the reason), append it to the journal (``spool``: group
commit, answered once on disk; a duplicate of a stored key stores nothing), answer 200. Everything else (fetching the named records, the live board)
is the webhook sensor's run. ``GET /openapi.json`` describes the routes; ``GET /healthz`` and ``GET /status``
(counts, no secrets) are for operators.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hotel_pipeline.webhooks.spool import Spool, stamp
from hotel_pipeline.webhooks.vendors import DEADLINE_SECONDS, PARSERS, Endpoint, Malformed, idempotency_key

#: Default body limit (bytes): vendors' hints are small; a Beds24 booking body with guest details is a few KiB.
MAX_BODY_BYTES = 256 * 1024
#: Headers kept with a record (never an authentication header).
KEPT_HEADERS = ("content-type", "user-agent")


class TooLarge(Exception):
    pass


def clock_from_env() -> Callable[[], datetime]:
    """"Now" as the Clock resource reads it (``HOTEL_PIPELINE_CLOCK`` frozen, else the wall clock), without importing
    Dagster: the receiver must start in a second, not in the ten a Dagster import takes on a busy machine."""
    frozen = os.environ.get("HOTEL_PIPELINE_CLOCK")
    if frozen:
        value = datetime.fromisoformat(frozen)
        instant = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
        return lambda: instant
    return lambda: datetime.now(UTC)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


class Receiver:
    """The receiver's state: its endpoints, spool, clock and counters (per vendor/hotel and outcome)."""

    def __init__(self, endpoints: list[Endpoint], spool: Spool, now: Callable[[], datetime] | None = None,
                 max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.endpoints = {(e.vendor, e.hotel_id): e for e in endpoints}
        self.spool = spool
        self.journal = spool.writer()
        self.now = now or clock_from_env()
        self.max_body_bytes = max_body_bytes
        self.counts: Counter[str] = Counter()

    def _count(self, endpoint: Endpoint, outcome: str) -> None:
        self.counts[f"{endpoint.vendor}/{endpoint.hotel_id}/{outcome}"] += 1

    async def handle(self, request: Request) -> JSONResponse:
        endpoint: Endpoint = request.scope["endpoint_config"]
        try:
            body = await _read_body(request, self.max_body_bytes)
        except TooLarge:
            self._count(endpoint, "too_large")
            return JSONResponse({"error": "body too large", "limit_bytes": self.max_body_bytes}, 413)
        except ClientDisconnect:
            return JSONResponse({"error": "client went away"}, 400)
        headers = {k.lower(): v for k, v in request.headers.items()}
        if not endpoint.authenticate(request.query_params, headers, request.path_params.get("secret"), body):
            self._count(endpoint, "rejected")
            await asyncio.wrap_future(self.journal.count_rejected(endpoint.vendor, endpoint.hotel_id))
            return JSONResponse({"error": "unauthorized"}, 401)
        received_at = stamp(self.now())
        base = {"vendor": endpoint.vendor, "hotel_id": endpoint.hotel_id, "received_at": received_at,
                "headers": {h: headers[h] for h in KEPT_HEADERS if h in headers}}
        try:
            hint = PARSERS[endpoint.vendor](body)
        except Malformed as exc:
            self._count(endpoint, "malformed")
            key = "q-" + hashlib.sha256(body).hexdigest()[:40]
            await asyncio.wrap_future(self.journal.submit({
                **base, "type": "quarantined", "key": key, "reason": str(exc),
                "body": body.decode("utf-8", "replace")}))
            return JSONResponse({"error": "malformed", "reason": str(exc)}, 400)
        key = idempotency_key(endpoint.vendor, endpoint.hotel_id, body, hint)
        record = {**base, "type": "accepted", "key": key, "kind": hint.kind, "ids": list(hint.ids), "event_id": hint.event_id,
                  "extra": hint.extra, "body": body.decode("utf-8", "replace")}
        stored = await asyncio.wrap_future(self.journal.submit(record))
        self._count(endpoint, "accepted" if stored else "duplicate")
        return JSONResponse({"ok": True, "key": key, "duplicate": not stored}, 200)

    # -- operators ---------------------------------------------------------------------------------------------
    async def status(self, request: Request) -> JSONResponse:
        return JSONResponse({"counts": dict(self.counts), "rejected_total": dict(self.journal.rejected),
                             "journal_batches": self.journal.batches})

    async def health(self, request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    async def openapi(self, request: Request) -> JSONResponse:
        return JSONResponse(openapi_document(list(self.endpoints.values()), self.max_body_bytes))


def _route(receiver: Receiver, endpoint: Endpoint) -> Route:
    async def call(request: Request) -> JSONResponse:
        request.scope["endpoint_config"] = endpoint
        return await receiver.handle(request)

    call.__name__ = f"webhook_{endpoint.vendor}_{endpoint.hotel_id}"
    return Route(endpoint.path, call, methods=["POST"])


def build_app(endpoints: list[Endpoint], spool: Spool, now: Callable[[], datetime] | None = None,
              max_body_bytes: int = MAX_BODY_BYTES) -> Starlette:
    """The receiver app for ``endpoints`` (see ``vendors.portfolio_endpoints``); ``now`` defaults to
    ``clock_from_env()``."""
    receiver = Receiver(endpoints, spool, now, max_body_bytes)
    routes = [_route(receiver, e) for e in endpoints]
    routes += [Route("/openapi.json", receiver.openapi, methods=["GET"]),
               Route("/healthz", receiver.health, methods=["GET"]),
               Route("/status", receiver.status, methods=["GET"])]
    app = Starlette(routes=routes)
    app.state.receiver = receiver
    return app


_AUTH_DOC = {
    "query_token": "the shared token in the `Token` query parameter (Mews)",
    "url_secret": "the per-hotel secret as the last path segment (the vendor signs nothing)",
    "header": "the secret in a custom header",
    "basic": "HTTP Basic auth `user:password`",
    "hmac": "HMAC-SHA256 of the body, hex, in a header",
}


def openapi_document(endpoints: list[Endpoint], max_body_bytes: int = MAX_BODY_BYTES) -> dict[str, Any]:
    """OpenAPI 3.0 of the receiver: one POST per vendor and hotel, with its credential and answers."""
    answers = {
        "200": {"description": "stored durably (or a duplicate of a stored delivery)",
                "content": {"application/json": {"schema": {"type": "object"}}}},
        "400": {"description": "malformed body (kept in quarantine with the reason)"},
        "401": {"description": "wrong or missing credential (nothing stored)"},
        "413": {"description": f"body over {max_body_bytes} bytes"},
    }
    paths: dict[str, Any] = {}
    for e in endpoints:
        params: list[dict[str, Any]] = []
        if e.auth == "query_token":
            params.append({"name": "Token", "in": "query", "required": True, "schema": {"type": "string"}})
        if e.auth == "url_secret":
            params.append({"name": "secret", "in": "path", "required": True, "schema": {"type": "string"}})
        if e.auth in ("header", "hmac") and e.header:
            params.append({"name": e.header, "in": "header", "required": True, "schema": {"type": "string"}})
        if e.auth == "basic":
            params.append({"name": "Authorization", "in": "header", "required": True,
                           "schema": {"type": "string"}})
        paths[e.path] = {"post": {
            "operationId": f"webhook_{e.vendor}_{e.hotel_id}".replace("-", "_"),
            "summary": f"{e.vendor} webhook of hotel {e.hotel_id}",
            "description": f"Authenticated by {_AUTH_DOC[e.auth]}; answered within {DEADLINE_SECONDS[e.vendor]:g} s.",
            "parameters": params,
            "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
            "responses": answers,
        }}
    for path, summary in (("/healthz", "liveness"), ("/status", "delivery counts per vendor, hotel and outcome")):
        paths[path] = {"get": {"operationId": path.strip("/"), "summary": summary,
                               "responses": {"200": {"description": "ok",
                                                     "content": {"application/json": {"schema": {"type": "object"}}}}}}}
    return {"openapi": "3.0.3", "info": {"title": "hotel-pipeline webhook receiver", "version": "1"}, "paths": paths}
