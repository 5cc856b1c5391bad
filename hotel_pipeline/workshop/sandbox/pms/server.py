"""The sandbox HTTP server: real HTTP on loopback, one URL prefix per vendor (``/mews/...``, ``/cloudbeds/...``).

Why real HTTP: connectors are tested exactly as they run (httpx, timeouts, broken bodies), with no mocks.
Per request: route by prefix -> (with ``validate_specs``) the request checked against the vendor's published spec ->
authenticate (vendor idiom) -> seeded fault draw -> vendor throttle -> the vendor's
answer -> body faults (truncated / invalid JSON) and latency. Control endpoints under ``/_sandbox/``: ``GET|POST
/_sandbox/clock`` (``{"now": ISO}``) and ``POST /_sandbox/faults/<vendor>`` (the knobs of ``Faults``).

Spec validation (``SandboxConfig.validate_specs``, on in the tests): for a vendor whose handler names a bundled
``spec`` (Cloudbeds, OPERA, Beds24), every request received and every JSON response served is validated with
``sandbox.spec.OpenApiSpec`` (responses are kept as served and validated by ``settle()``, so validation never
delays the client); each breach is appended to ``Sandbox.spec_violations`` (the request or response is still
served, so a test sees every breach at once and ``harness.running_sandbox`` fails on any). Responses whose status the
operation does not document (the injected 5xx/429 faults, timeouts) and corrupted bodies are not validated: they
stand for what a proxy in between sends, not the vendor.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from hotel_pipeline.workshop.sandbox.pms.base import SandboxError, SandboxRequest, SandboxResponse, VendorHandler
from hotel_pipeline.workshop.sandbox.pms.faults import FaultDice, Faults, spoil_records
from hotel_pipeline.workshop.sandbox.pms.vendors import vendor_classes
from hotel_pipeline.workshop.sandbox.pms.world import World
from hotel_pipeline.workshop.sandbox.spec import OpenApiSpec

log = logging.getLogger(__name__)


@dataclass
class SandboxConfig:
    """What the sandbox serves: vendors with their per-hotel credentials, fault knobs and throttle switch."""

    #: vendor -> hotel_id -> {credential field: secret}
    credentials: dict[str, dict[str, dict[str, str]]]
    faults: dict[str, Faults] = field(default_factory=dict)
    throttle: bool = True
    #: vendor -> extra handler options (e.g. {"heavy_query_limit": 5000})
    options: dict[str, dict] = field(default_factory=dict)
    #: validate requests and responses of vendors with a bundled spec, recording breaches in spec_violations
    validate_specs: bool = False


class Sandbox:
    """The vendors over one world; ``dispatch`` answers one request (used by the HTTP server)."""

    def __init__(self, world: World, config: SandboxConfig) -> None:
        self.world = world
        self.config = config
        classes = vendor_classes()
        self.handlers: dict[str, VendorHandler] = {}
        #: every spec breach seen (requests received, responses served), in order; see the module docstring
        self.spec_violations: list[str] = []
        self._violations_lock = threading.Lock()
        self._unchecked: list[tuple[str, str, str, int, bytes]] = []
        self._unchecked_requests: list[tuple[VendorHandler, SandboxRequest]] = []
        #: keys of response records already validated (see ``OpenApiSpec.response_violations``)
        self._validated_records: set[object] = set()
        for vendor, creds in config.credentials.items():
            if vendor not in classes:
                raise ValueError(f"the sandbox has no vendor {vendor!r}; known: {sorted(classes)}")
            self.handlers[vendor] = self._make(vendor, classes[vendor], creds)
            if config.validate_specs and self.handlers[vendor].spec:
                # Parse the spec now: parsing it on the first request can outlast a test client's short timeout,
                # which then retries (and renews tokens) for reasons no real vendor would give.
                OpenApiSpec.load(self.handlers[vendor].spec)

    def _make(self, vendor: str, cls: type[VendorHandler], creds: dict[str, dict[str, str]]) -> VendorHandler:
        dice = FaultDice(self.config.faults.get(vendor, Faults()))
        handler = cls(self.world, creds, dice, throttle=self.config.throttle)
        for key, value in self.config.options.get(vendor, {}).items():
            setattr(handler, key, value)
        return handler

    def set_faults(self, vendor: str, faults: Faults) -> None:
        self.config.faults[vendor] = faults
        self.handlers[vendor].dice = FaultDice(faults)

    def served(self, request: SandboxRequest, response: SandboxResponse, payload: bytes,
               body_fault: str | None) -> None:
        """Keep a served response for validation by ``settle`` (validating while serving would hold the GIL the
        client in the same process needs, and delay it)."""
        handler = self.handlers.get(request.vendor)
        if not (self.config.validate_specs and handler is not None and handler.spec and body_fault is None):
            return
        if request.path in handler.spec_exempt_paths or isinstance(response.body, bytes):
            return
        with self._violations_lock:
            self._unchecked.append((handler.spec, request.method, request.path, response.status, payload))

    def settle(self) -> None:
        """Validate every request received and every response served so far (call before reading ``spec_violations``)."""
        with self._violations_lock:
            pending, self._unchecked = self._unchecked, []
            requests, self._unchecked_requests = self._unchecked_requests, []
        for handler, request in requests:
            self._check_request(handler, request)
        for vendor, method, path, status, payload in pending:
            body = json.loads(payload)  # what went on the wire (dates as strings), not the Python objects
            self._record(OpenApiSpec.load(vendor).response_violations(method, path, status, body,
                                                                      seen=self._validated_records))

    def _record(self, problems: list[str]) -> None:
        if problems:
            with self._violations_lock:
                self.spec_violations.extend(problems)

    def _check_request(self, handler: VendorHandler, request: SandboxRequest) -> None:
        if request.path in handler.spec_exempt_paths:
            return
        query: dict[str, list[str]] = {}
        for key, value in request.query_pairs or list(request.query.items()):
            query.setdefault(key, []).append(value)
        ctype = request.headers.get("content-type", "")
        body = None
        if request.body:
            try:
                body = json.loads(request.body) if "json" in ctype or not ctype else request.body.decode()
            except ValueError:
                body = request.body.decode(errors="replace")
        spec = OpenApiSpec.load(handler.spec)
        self._record(spec.request_violations(request.method, request.path, query, body, request.headers))

    def dispatch(self, request: SandboxRequest) -> tuple[SandboxResponse, float, str | None]:
        """(response, seconds to sleep before answering, body fault) for a request whose path starts with /vendor."""
        parts = request.path.lstrip("/").split("/", 1)
        if parts[0] == "_sandbox":
            return self._control(request, parts[1] if len(parts) > 1 else ""), 0.0, None
        handler = self.handlers.get(parts[0])
        if handler is None:
            return SandboxResponse(404, {"message": f"no vendor at /{parts[0]}"}), 0.0, None
        request.path = "/" + (parts[1] if len(parts) > 1 else "")
        request.vendor = parts[0]
        handler.requests_served += 1
        if self.config.validate_specs and handler.spec:
            # Checked by ``settle``, as responses are: validating here would delay the answer by a varying amount
            # (the first request of an operation compiles its schemas), which squeezes the spacing the vendor's
            # rate limit sees and turns a client that keeps its budget into one that gets 429s.
            with self._violations_lock:
                self._unchecked_requests.append((handler, copy.copy(request)))
        faults = handler.dice.faults
        try:
            hotel_id, key = handler.authenticate(request)
        except SandboxError as err:
            return handler.error_response(err.status, err.message, err.headers), faults.latency_seconds, None
        fault = handler.dice.draw()
        if fault == "timeout":
            return handler.error_response(504, "Gateway timeout"), faults.timeout_seconds, None
        if fault == "error":
            status = handler.dice.choice([500, 502, 503])
            return handler.error_response(status, "Internal server error"), faults.latency_seconds, None
        if fault == "throttle":
            retry = {"Retry-After": str(faults.retry_after_seconds)}
            return handler.error_response(429, "Too many requests", retry), faults.latency_seconds, None
        throttled = handler.throttle_check(key, request)
        if throttled is not None:
            return handler.decorate(throttled, key), faults.latency_seconds, None
        try:
            response = handler.route(request, hotel_id)
        except SandboxError as err:
            response = handler.error_response(err.status, err.message, err.headers)
        if faults.bad_record_rate and response.status == 200 and handler.spoilable(request):
            response.body = spoil_records(response.body, faults.bad_record_rate, faults.seed)
        body_fault = fault if fault in ("truncate", "invalid") else None
        return handler.decorate(response, key), faults.latency_seconds, body_fault

    def _control(self, request: SandboxRequest, what: str) -> SandboxResponse:
        if what == "clock":
            if request.method == "POST":
                now = request.json().get("now")
                instant = datetime.fromisoformat(str(now).replace("Z", "+00:00"))
                self.world.set_now(instant if instant.tzinfo else instant.replace(tzinfo=UTC))
            return SandboxResponse(200, {"now": self.world.now.astimezone(UTC).isoformat()})
        if what.startswith("faults/") and request.method == "POST":
            vendor = what.split("/", 1)[1]
            if vendor not in self.handlers:
                return SandboxResponse(404, {"message": f"no vendor {vendor}"})
            self.set_faults(vendor, Faults.from_dict(request.json()))
            return SandboxResponse(200, {"ok": True})
        if what == "stats":
            return SandboxResponse(200, {v: h.requests_served for v, h in self.handlers.items()})
        return SandboxResponse(404, {"message": "unknown control endpoint"})


def _handler_class(sandbox: Sandbox) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body leave as two writes; with Nagle on, the body waits for the client's delayed ACK (~40 ms
        # on Linux loopback), which made every sandbox call cost 40 ms of nothing. The dining sandbox does the same.
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            split = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            pairs = parse_qsl(split.query, keep_blank_values=True)
            request = SandboxRequest(
                method=self.command,
                path=split.path,
                query=dict(pairs),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
                query_pairs=pairs,
            )
            try:
                response, delay, body_fault = sandbox.dispatch(request)
            except Exception as exc:  # noqa: BLE001 - a sandbox bug must answer 500, not kill the thread silently
                log.exception("sandbox handler failed")
                response, delay, body_fault = SandboxResponse(500, {"message": f"sandbox bug: {exc}"}), 0.0, None
            payload = response.encoded()
            if body_fault == "truncate":
                payload = payload[: max(1, len(payload) // 2)]
            elif body_fault == "invalid":
                payload = b"<html><body>502 Bad Gateway</body></html>"
            if delay:
                time.sleep(delay)
            try:
                self.send_response(response.status)
                ctype = "application/json" if body_fault != "invalid" else "text/html"
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client timed out and left: exactly what a timeout fault is for
            sandbox.served(request, response, payload, body_fault)

        do_GET = do_POST = do_PUT = do_DELETE = _serve  # noqa: N815 - http.server naming

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - signature of the base class
            log.debug("sandbox: " + format, *args)

    return Handler


class SandboxServer:
    """The sandbox on ``host:port`` (port 0 = a free port) in a background thread; use as a context manager."""

    def __init__(self, sandbox: Sandbox, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sandbox = sandbox
        self.httpd = ThreadingHTTPServer((host, port), _handler_class(sandbox))
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def base_url(self, vendor: str) -> str:
        return f"{self.url}/{vendor}"

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="pms-sandbox", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
