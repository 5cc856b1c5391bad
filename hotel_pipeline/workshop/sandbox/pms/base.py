"""The base of every sandbox vendor: request/response types, auth and error idioms, paging helpers, throttle.

A vendor module subclasses ``VendorHandler``, sets its ``name``, ``rate_limit`` and ``credential_fields``, and
implements ``route(request, hotel_id)``. The server does the rest: routing ``/<vendor>/...``, fault injection,
throttling (429 + Retry-After) and rendering errors through the vendor's own ``error_response``.
See docs/connectors.md "How to add a vendor".
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

import orjson

from hotel_pipeline.workshop.sandbox.pms.faults import FaultDice, SlidingWindow, retry_after_header
from hotel_pipeline.workshop.sandbox.pms.world import World


@dataclass
class SandboxRequest:
    """One HTTP request as a vendor handler sees it (path relative to the vendor prefix).

    ``query`` keeps the last value of each key (most parameters are single); ``query_list(key)`` gives every value
    of a repeated key (``status=new&status=cancelled``), in order.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    query_pairs: list[tuple[str, str]] = field(default_factory=list)
    #: the vendor prefix the server routed it by ("" until routed)
    vendor: str = ""

    def query_list(self, key: str) -> list[str]:
        """Every value of ``key`` in the query string (repeated keys kept), or [] when absent."""
        values = [v for k, v in self.query_pairs if k == key]
        if not values and key in self.query:
            values = [self.query[key]]
        return values

    def json(self) -> Any:
        if not self.body:
            return {}
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise SandboxError(400, "request body is not JSON") from exc


@dataclass
class SandboxResponse:
    status: int
    body: Any = None  # JSON-serialisable, or bytes
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        """The body as sent. orjson, because encoding full-extract pages was a fifth of the sandbox's CPU; dates and
        datetimes go through ``_json_default`` as they did with ``json``, and a body orjson refuses (an integer
        beyond 64 bits) is encoded by ``json``. (A float NaN, which JSON cannot hold, is written as null.)"""
        if isinstance(self.body, bytes):
            return self.body
        try:
            return orjson.dumps(self.body, default=_json_default,
                                option=orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME)
        except TypeError:  # orjson.JSONEncodeError is a TypeError
            return json.dumps(self.body, default=_json_default, separators=(",", ":")).encode()


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value)}")


class SandboxError(Exception):
    """An API-level error; the vendor's ``error_response`` renders it in the vendor's idiom."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


@dataclass(frozen=True)
class RateLimitSpec:
    """A documented budget: ``requests`` per ``seconds`` per credential (None = unlimited)."""

    requests: int
    seconds: float


class VendorHandler:
    """One vendor's API over the world. Subclass per vendor (see sandbox/pms/vendors/mews.py)."""

    #: URL prefix and registry name, e.g. "mews".
    name: ClassVar[str] = ""
    #: The vendor's documented request budget per credential (enforced when the server's throttle is on).
    rate_limit: ClassVar[RateLimitSpec | None] = None
    #: Credential fields the vendor expects per hotel (e.g. ("client_token", "access_token")).
    credential_fields: ClassVar[tuple[str, ...]] = ()
    #: The bundled published spec the vendor's requests and responses are validated against (sandbox/spec.py).
    spec: ClassVar[str | None] = None
    #: Paths the vendor serves that its bundled spec does not describe (documented elsewhere, e.g. an OAuth server).
    spec_exempt_paths: ClassVar[tuple[str, ...]] = ()

    def __init__(self, world: World, credentials: dict[str, dict[str, str]], dice: FaultDice,
                 throttle: bool = True) -> None:
        """``credentials``: hotel_id -> {field: secret}."""
        self.world = world
        self.credentials = credentials
        self.dice = dice
        self.throttle_enabled = throttle and self.rate_limit is not None
        self._window = SlidingWindow(self.rate_limit.requests, self.rate_limit.seconds) if self.rate_limit else None
        self.requests_served = 0

    @classmethod
    def reservation_id(cls, hotel_id: str, booking_ref: int) -> str:
        """The id this vendor gives a world booking (= the connector's external_id); tests map back with it."""
        return str(booking_ref)

    # -- to implement ------------------------------------------------------------------------------------------
    def authenticate(self, request: SandboxRequest) -> tuple[str, str]:
        """(hotel_id, throttle key) of a request, or raise SandboxError(401/403)."""
        raise NotImplementedError

    def route(self, request: SandboxRequest, hotel_id: str) -> SandboxResponse:
        """Answer an authenticated request."""
        raise NotImplementedError

    # -- overridable idioms ------------------------------------------------------------------------------------
    def error_response(self, status: int, message: str, headers: dict[str, str] | None = None) -> SandboxResponse:
        """How the vendor reports an error (default: that status with ``{"message": ...}``)."""
        return SandboxResponse(status, {"message": message}, dict(headers or {}))

    def throttle_check(self, key: str, request: SandboxRequest) -> SandboxResponse | None:
        """Enforce the documented budget: a 429 with Retry-After when exceeded (override for credit schemes)."""
        if not self.throttle_enabled or self._window is None:
            return None
        wait = self._window.hit(key)
        if wait <= 0:
            return None
        return self.error_response(429, "Too many requests", {"Retry-After": retry_after_header(wait)})

    def spoilable(self, request: SandboxRequest) -> bool:
        """Whether the ``bad_record_rate`` knob may break records of this answer (default: every listing)."""
        return True

    def decorate(self, response: SandboxResponse, key: str) -> SandboxResponse:
        """Add per-response headers (e.g. credit counters); default none."""
        return response

    # -- helpers -----------------------------------------------------------------------------------------------
    def hotel_for(self, field_name: str, value: str | None) -> str | None:
        """The hotel whose credential ``field_name`` equals ``value`` (constant-time compare not needed in a sandbox)."""
        if not value:
            return None
        for hotel_id, creds in self.credentials.items():
            if creds.get(field_name) == value:
                return hotel_id
        return None

    def now(self) -> datetime:
        return self.world.now.astimezone(UTC)

    def page_slice(self, items: Sequence[Any], start: int, size: int) -> list[Any]:
        """``items[start:start+size]`` with the seeded page faults: a repeated page serves the previous page,
        a shifted page starts one record late (one record skipped) or early (one doubled)."""
        fault = self.dice.page_fault() if start > 0 else None
        if fault == "repeat":
            start = max(0, start - size)
        elif fault == "shift":
            start = max(0, start + self.dice.choice([-1, 1]))
        return list(items[start:start + size])


def parse_instant(text: str | None, what: str) -> datetime | None:
    """An ISO-8601 instant from a request ('Z' allowed); SandboxError(400) when unreadable."""
    if text in (None, ""):
        return None
    try:
        value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError as exc:
        raise SandboxError(400, f"{what} is not an ISO-8601 instant") from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def iso_z(value: datetime | None) -> str | None:
    """UTC ISO-8601 with 'Z', as Mews and most APIs print instants."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


HandlerFactory = Callable[..., VendorHandler]
