"""Seeded fault knobs and throttles of the sandbox: the ways real vendor APIs misbehave, on demand and reproducibly.

Why seeded: a connector test with faults must fail or pass the same way every run, so each vendor draws its faults
from its own ``random.Random(seed)`` in request order (connectors call sequentially, so the order is stable).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field, fields
from typing import Any


@dataclass
class Faults:
    """Per-vendor fault rates (0..1 per request) and their parameters."""

    error_rate: float = 0.0  # 500 / 502 / 503 (rendered in the vendor's own error idiom)
    throttle_rate: float = 0.0  # 429 with Retry-After, regardless of the real budget
    timeout_rate: float = 0.0  # the server sleeps past the client's timeout before answering
    truncate_rate: float = 0.0  # the body is cut in half (invalid JSON)
    invalid_json_rate: float = 0.0  # the body is not JSON at all
    page_repeat_rate: float = 0.0  # a list page answers with the previous page's records
    page_shift_rate: float = 0.0  # a list page is shifted by one record (one record skipped or doubled)
    bad_record_rate: float = 0.0  # share of listed records served with a broken date (the same records every read)
    latency_seconds: float = 0.0  # added to every answer
    timeout_seconds: float = 2.0  # how long a "timeout" answer sleeps
    retry_after_seconds: int = 1  # Retry-After of injected 429s
    seed: int = 0

    @classmethod
    def from_dict(cls, data: dict) -> Faults:
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown fault knobs {sorted(unknown)}; known: {sorted(names)}")
        return cls(**data)


@dataclass
class FaultDice:
    """The seeded draws of one vendor."""

    faults: Faults
    _rng: random.Random = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.faults.seed)

    def draw(self) -> str | None:
        """At most one request-level fault: 'timeout', 'error', 'throttle', 'truncate', 'invalid' or None."""
        f = self.faults
        with self._lock:
            x = self._rng.random()
        for name, rate in (("timeout", f.timeout_rate), ("error", f.error_rate), ("throttle", f.throttle_rate),
                           ("truncate", f.truncate_rate), ("invalid", f.invalid_json_rate)):
            if x < rate:
                return name
            x -= rate
        return None

    def page_fault(self) -> str | None:
        """'repeat', 'shift' or None for one list page."""
        f = self.faults
        if not (f.page_repeat_rate or f.page_shift_rate):
            return None
        with self._lock:
            x = self._rng.random()
        if x < f.page_repeat_rate:
            return "repeat"
        if x < f.page_repeat_rate + f.page_shift_rate:
            return "shift"
        return None

    def choice(self, options: list):
        with self._lock:
            return self._rng.choice(options)


class SlidingWindow:
    """At most ``limit`` requests per ``seconds`` per key; says how long to wait when full (for Retry-After)."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> float:
        """Record a request; 0 if allowed, else the seconds until the window frees a slot (request refused)."""
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.seconds:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(hits[0] + self.seconds - now, 0.001)
            hits.append(now)
            return 0.0


def retry_after_header(seconds: float) -> str:
    """Retry-After is whole seconds (RFC 9110)."""
    return str(max(1, math.ceil(seconds)))


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _spoiled(record: dict, rate: float, seed: int) -> bool:
    text = json.dumps(record, sort_keys=True, default=str)
    digest = hashlib.sha256(f"{seed}|{text}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


def _break_dates(value: Any) -> Any:
    """``value`` with every date-like string made an impossible date (whichever date a connector reads breaks)."""
    if isinstance(value, str) and _DATE.match(value):
        return "2016-02-30" + value[10:]
    if isinstance(value, dict):
        return {key: _break_dates(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_break_dates(item) for item in value]
    return value


def spoil_records(body: Any, rate: float, seed: int) -> Any:
    """The body with a seeded share of its listed records broken (a planted bad record, as a real API serves one
    now and then): in the outermost lists of objects, a record chosen by a hash of its content (so a re-read serves
    it broken again) gets every date made impossible ("2016-02-30"), which every connector must quarantine
    while loading the rest."""
    if rate <= 0:
        return body
    if isinstance(body, list) and body and all(isinstance(item, dict) for item in body):
        return [_break_dates(item) if _spoiled(item, rate, seed) else item for item in body]
    if isinstance(body, dict):
        return {key: spoil_records(item, rate, seed) for key, item in body.items()}
    return body
