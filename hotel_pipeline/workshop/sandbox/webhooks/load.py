"""A bounded load on the receiver, as vendors would make it: deliveries at a fixed rate with a share of duplicates,
wrong credentials and malformed bodies, failed deliveries retried (as every vendor does), and optionally the receiver
killed with SIGKILL and restarted in the middle. Used by the load test (small) and ``make bench`` (10,000 at 200/s).

Every good delivery names one reservation of the sandbox world (Mews ``ServiceOrderUpdated`` or a Cloudbeds
``reservation/*`` event) and is unique; a duplicate re-sends the bytes of an earlier good one.
"""

from __future__ import annotations

import asyncio
import gc
import json
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from hotel_pipeline.workshop.sandbox.webhooks.sender import Target


@dataclass
class Delivery:
    target: Target
    body: bytes
    kind: str  # good | duplicate | bad_credential | malformed
    index: int


@dataclass
class LoadReport:
    sent: int = 0
    good_bodies: set[bytes] = field(default_factory=set)
    #: good bodies the receiver answered 200 at least once (acknowledged = on disk)
    acknowledged: set[bytes] = field(default_factory=set)
    ack_keys: set[str] = field(default_factory=set)
    rejected: int = 0
    malformed: int = 0
    retries: int = 0
    #: (delivery index, ms from the request being sent to its 200 being read) of first attempts that got a 200;
    #: a delivery that found the receiver down is retried, and a retry is a recovery figure, not a latency
    ack_latency_ms: list[tuple[int, float]] = field(default_factory=list)
    #: the same from the instant each was due: adds the time it waited for one of the sender's connections and the
    #: sender's own lateness on a busy machine
    due_latency_ms: list[tuple[int, float]] = field(default_factory=list)
    seconds: float = 0.0
    unexpected: list[str] = field(default_factory=list)

    def percentile(self, p: float, before: int | None = None, *, from_due: bool = False) -> float:
        """Acknowledgement latency percentile of first attempts (of deliveries before index ``before`` if given)."""
        samples = self.due_latency_ms if from_due else self.ack_latency_ms
        values = sorted(ms for i, ms in samples if before is None or i < before)
        return values[min(len(values) - 1, int(p * len(values)))] if values else 0.0


def plan(targets: list[Target], refs: dict[str, list[str]], count: int, *, duplicates: float = 0.10,
         bad: float = 0.05, malformed: float = 0.01, seed: int = 11) -> list[Delivery]:
    """``count`` deliveries over ``targets``; ``refs`` = reservation ids per hotel for the good bodies."""
    rng = random.Random(seed)
    out: list[Delivery] = []
    good: list[Delivery] = []
    for i in range(count):
        target = targets[i % len(targets)]
        draw = rng.random()
        if draw < malformed:
            out.append(Delivery(target, b'{"broken": ' + str(i).encode(), "malformed", i))
        elif draw < malformed + bad:
            out.append(Delivery(Target(target.vendor, target.hotel_id, target.base_url, f"wrong-{i}"),
                                good_body(target, rng.choice(refs[target.hotel_id]), i), "bad_credential", i))
        elif draw < malformed + bad + duplicates and good:
            earlier = rng.choice(good)
            out.append(Delivery(earlier.target, earlier.body, "duplicate", i))
        else:
            delivery = Delivery(target, good_body(target, rng.choice(refs[target.hotel_id]), i), "good", i)
            good.append(delivery)
            out.append(delivery)
    return out


def good_body(target: Target, reservation_id: str, index: int) -> bytes:
    if target.vendor == "mews":
        body = {"EnterpriseId": "851df8c8-90f2-4c4a-8e01-a4fc46b25178",
                "IntegrationId": "c8bee838-7fb1-4f4e-8fac-ac87008b2f90",
                "Events": [{"Discriminator": "ServiceOrderUpdated", "Value": {"Id": reservation_id}},
                           {"Discriminator": "MessageAdded", "Value": {"Id": str(uuid.UUID(int=index))}}]}
    elif target.vendor == "cloudbeds":
        body = {"reservationID": reservation_id, "propertyID": 320755, "status": "confirmed",
                "event": "reservation/status_changed", "version": "1.0", "timestamp": 1_469_000_000 + index}
    else:
        raise ValueError(f"the load plan has no body for {target.vendor}")
    return json.dumps(body, separators=(",", ":")).encode()


class _Connection:
    """One keep-alive HTTP/1.1 connection, written by hand: under load on two shared cores a full client library
    costs more CPU per request than the receiver does, and would measure itself instead of the receiver."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, url: str, headers: dict[str, str], body: bytes, timeout: float) -> tuple[int, bytes]:
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        head = [f"POST {target} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {len(body)}"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        request = ("\r\n".join(head) + "\r\n\r\n").encode() + body
        try:
            return await asyncio.wait_for(self._exchange(request), timeout)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
            self.close()
            raise ConnectionError("delivery failed") from None

    async def _exchange(self, request: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(request)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("closed")
        status = int(status_line.split()[1])
        length = 0
        keep = True
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value.strip())
            elif name.lower() == "connection" and value.strip().lower() == "close":
                keep = False
        body = await self.reader.readexactly(length) if length else b""
        if not keep:
            self.close()
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _run(deliveries: list[Delivery], rate: float, report: LoadReport, timeout: float,
               on_index: Callable[[int], None] | None, retry_wait: float, connections: int,
               retry_for: float) -> None:
    retry: list[Delivery] = []
    first = urlsplit(deliveries[0].target.base_url) if deliveries else None
    work: asyncio.Queue[tuple[Delivery, float, bool] | None] = asyncio.Queue()

    def judge(d: Delivery, status: int, body: bytes, times: tuple[float, float, float], first_attempt: bool) -> bool:
        if status >= 500:
            return False
        if d.kind in ("good", "duplicate") and status == 200:
            report.acknowledged.add(d.body)
            report.ack_keys.add(json.loads(body)["key"])
            if first_attempt:
                due, sent, done = times
                report.ack_latency_ms.append((d.index, (done - sent) * 1000))
                report.due_latency_ms.append((d.index, (done - due) * 1000))
        elif d.kind == "bad_credential" and status == 401:
            report.rejected += 1
        elif d.kind == "malformed" and status == 400:
            report.malformed += 1
        else:
            report.unexpected.append(f"{d.kind} {d.index}: {status}")
        return True

    async def worker() -> None:
        assert first is not None
        conn = _Connection(first.hostname or "127.0.0.1", int(first.port or 80))
        while True:
            item = await work.get()
            if item is None:
                conn.close()
                return
            d, due, first_attempt = item
            url, headers = d.target.request(d.body)
            sent = time.perf_counter()  # a new connection's connect is part of the request
            try:
                status, body = await conn.post(url, headers, d.body, timeout)
            except ConnectionError:
                retry.append(d)  # not acknowledged: the vendor will retry
                continue
            if not judge(d, status, body, (due, sent, time.perf_counter()), first_attempt):
                retry.append(d)

    start = time.perf_counter()
    workers = [asyncio.create_task(worker()) for _ in range(connections)]
    for i, d in enumerate(deliveries):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if on_index is not None:
            on_index(i)
        report.sent += 1
        if d.kind == "good":
            report.good_bodies.add(d.body)
        await work.put((d, due, True))
    for _ in workers:
        await work.put(None)
    await asyncio.gather(*workers)
    give_up = time.perf_counter() + retry_for
    while retry and time.perf_counter() < give_up:  # vendors retry failed deliveries later, byte for byte
        await asyncio.sleep(retry_wait)
        pending, retry[:] = list(retry), []
        report.retries += len(pending)
        workers = [asyncio.create_task(worker()) for _ in range(connections)]
        for d in pending:
            await work.put((d, time.perf_counter(), False))
        for _ in workers:
            await work.put(None)
        await asyncio.gather(*workers)
    report.seconds = time.perf_counter() - start


def run_load(deliveries: list[Delivery], rate: float, *, timeout: float = 5.0,
             crash: tuple[int, Callable[[], None]] | None = None, retry_wait: float = 0.5,
             connections: int = 16, retry_for: float = 180.0) -> LoadReport:
    """Send ``deliveries`` at ``rate`` per second; ``crash = (index, action)`` runs ``action`` (kill and restart the
    receiver) in a thread when delivery ``index`` is due, while the load goes on. Deliveries that were not answered
    are sent again every ``retry_wait`` seconds for up to ``retry_for`` seconds (Beds24 retries for 30 minutes)."""
    report = LoadReport()
    fired = threading.Event()
    threads: list[threading.Thread] = []

    def on_index(i: int) -> None:
        if crash and i == crash[0] and not fired.is_set():
            fired.set()
            thread = threading.Thread(target=crash[1], daemon=True)
            thread.start()
            threads.append(thread)

    # The sender runs inside whatever process drives it (make bench: one that has run every other section): a full
    # collection of that heap would stop the sender mid-request and be counted as the receiver's latency. Everything
    # allocated so far is set aside from collection for the load's duration.
    gc.collect()
    gc.freeze()
    try:
        asyncio.run(_run(deliveries, rate, report, timeout, on_index if crash else None, retry_wait, connections,
                         retry_for))
    finally:
        gc.unfreeze()
    for thread in threads:
        thread.join(timeout=120)
    return report
