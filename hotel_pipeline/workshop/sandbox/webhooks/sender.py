"""Webhook senders of the sandbox vendors, driven by the sandbox world's clock.

Why: the receiver and the webhook path must be tested against deliveries that look and behave like the real ones:
each vendor's body (Mews general webhook, Cloudbeds ``reservation/*`` events, OPERA business events, Stayntouch
events, RMS subscription objects, Beds24 booking webhooks), its credential (``?Token=``, URL secret, HMAC-SHA256
signature, Basic auth, custom header), duplicates (Cloudbeds and OPERA send 2-3 copies of one change; any vendor
may repeat one) and retries (a delivery that fails or times out is sent again, byte for byte).
``advance(instant)`` moves the world's clock and delivers the changes in between; ``render`` gives one body.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import polars as pl

from hotel_pipeline.workshop.sandbox.pms.vendors import vendor_classes
from hotel_pipeline.workshop.sandbox.pms.vendors.cloudbeds import PROPERTY_IDS
from hotel_pipeline.workshop.sandbox.pms.world import World

#: Copies of one change a vendor sends (min, max); others repeat with the sender's duplicate_rate.
COPIES = {"cloudbeds": (2, 3), "opera": (2, 3)}
ENTERPRISE = uuid.UUID("851df8c8-90f2-4c4a-8e01-a4fc46b25178")


@dataclass(frozen=True)
class Target:
    """Where and how a vendor calls for one hotel (as registered with the vendor)."""

    vendor: str
    hotel_id: str
    base_url: str  # the receiver, e.g. http://127.0.0.1:8780
    secret: str = field(repr=False)
    header: str | None = None  # Beds24/RMS header name, Stayntouch signature header
    rms_basic: bool = True

    def request(self, body: bytes) -> tuple[str, dict[str, str]]:
        """(URL, headers) of one delivery of ``body``."""
        path = f"{self.base_url.rstrip('/')}/webhooks/{self.vendor}/{self.hotel_id}"
        headers = {"Content-Type": "application/json", "User-Agent": f"{self.vendor}-sandbox-webhooks"}
        if self.vendor == "mews":
            return f"{path}?Token={self.secret}", headers
        if self.vendor in ("cloudbeds", "opera"):
            return f"{path}/{self.secret}", headers
        if self.vendor == "beds24":
            headers[self.header or "X-Webhook-Secret"] = self.secret
        elif self.vendor == "rms":
            if self.rms_basic:
                headers["Authorization"] = "Basic " + base64.b64encode(self.secret.encode()).decode()
            else:
                headers[self.header or "X-API-KEY"] = self.secret
        elif self.vendor == "stayntouch":
            signature = hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
            headers[self.header or "X-Stayntouch-Signature"] = signature
        return path, headers


@dataclass(frozen=True)
class Change:
    booking_ref: int
    hotel_id: str
    at: datetime
    what: str  # created | checkin | final
    status: str  # the booking's status after the change


def changes_between(world: World, hotel_id: str, start: datetime, end: datetime) -> list[Change]:
    """Every booking event of ``hotel_id`` stamped in (start, end], in time order."""
    frame = world.bookings.filter(pl.col("hotel_id") == hotel_id)
    lo = pl.lit(start.astimezone(UTC)).dt.convert_time_zone("UTC")
    hi = pl.lit(end.astimezone(UTC)).dt.convert_time_zone("UTC")
    out: list[Change] = []
    for column, what in (("created_at", "created"), ("checkin_at", "checkin"), ("final_at", "final")):
        hits = frame.filter(pl.col(column).is_not_null() & (pl.col(column) > lo) & (pl.col(column) <= hi))
        for ref, at, final in hits.select("booking_ref", column, "final_status").iter_rows():
            status = {"created": "confirmed", "checkin": "checked_in", "final": final}[what]
            out.append(Change(ref, hotel_id, at, what, status))
    return sorted(out, key=lambda c: (c.at, c.booking_ref, c.what))


def render(vendor: str, change: Change, event_seq: int) -> bytes:
    """The body ``vendor`` sends for ``change`` (``event_seq`` makes vendor event ids)."""
    rid = vendor_classes()[vendor].reservation_id(change.hotel_id, change.booking_ref)
    stamp = change.at.astimezone(UTC)
    if vendor == "mews":
        body: dict = {"EnterpriseId": str(uuid.uuid5(ENTERPRISE, change.hotel_id)),
                      "IntegrationId": "c8bee838-7fb1-4f4e-8fac-ac87008b2f90",
                      "Events": [{"Discriminator": "ServiceOrderUpdated", "Value": {"Id": rid}}]}
    elif vendor == "cloudbeds":
        event = "reservation/created" if change.what == "created" else "reservation/status_changed"
        body = {"reservationID": rid, "propertyID": PROPERTY_IDS.get(change.hotel_id, 0),
                "propertyID_str": str(PROPERTY_IDS.get(change.hotel_id, 0)),
                "status": {"cancelled": "canceled"}.get(change.status, change.status),
                "version": "1.0", "event": event, "timestamp": stamp.timestamp()}
    elif vendor == "opera":
        name = {"created": "NEW RESERVATION", "checkin": "CHECK IN"}.get(change.what, "UPDATE RESERVATION")
        if change.status in ("cancelled", "no_show"):
            name = "CANCEL RESERVATION"
        body = {"eventName": name if "RESERVATION" in name else name + " RESERVATION", "hotelId": change.hotel_id,
                "primaryKey": rid, "moduleName": "RESERVATION",
                "metadata": {"uniqueEventId": f"{change.hotel_id}-{event_seq}", "timestamp": stamp.isoformat()}}
    elif vendor == "stayntouch":
        event = {"created": "create_reservation", "checkin": "checkin_reservation"}.get(change.what,
                                                                                        "update_reservation")
        body = {"created_at": stamp.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "event": event, "id": event_seq,
                "data": {"id": int(rid) if rid.isdigit() else rid, "object": "reservation", "status": change.status},
                "object": "event"}
    elif vendor == "rms":
        action = "creation" if change.what == "created" else "statusUpdate"
        body = {"entityType": "reservation", "action": action, "propertyId": 1, "id": int(rid)}
    elif vendor == "beds24":
        body = {"timeStamp": stamp.strftime("%Y-%m-%dT%H:%M:%S"),
                "booking": {"id": int(rid), "propertyId": 1, "status": change.status}}
    else:
        raise ValueError(f"{vendor} sends no webhooks")
    return json.dumps(body, separators=(",", ":")).encode()


@dataclass
class SendReport:
    changes: int = 0
    deliveries: int = 0
    acknowledged: int = 0
    retries: int = 0
    failed: int = 0
    bodies: list[bytes] = field(default_factory=list)


class WebhookSender:
    """The vendors of ``targets`` calling the receiver about ``world``'s changes."""

    def __init__(self, world: World, targets: list[Target], *, duplicate_rate: float = 0.1, attempts: int = 5,
                 retry_wait_seconds: float = 0.05, timeout_seconds: float = 5.0, seed: int = 7) -> None:
        self.world = world
        self.targets = targets
        self.duplicate_rate = duplicate_rate
        self.attempts = attempts
        self.retry_wait_seconds = retry_wait_seconds
        self.rng = random.Random(seed)
        self.client = httpx.Client(timeout=timeout_seconds)
        self.event_seq = 1000

    def close(self) -> None:
        self.client.close()

    def deliver(self, target: Target, body: bytes, report: SendReport) -> bool:
        """One delivery with the vendor's retries: the same bytes again after a failure or a timeout."""
        url, headers = target.request(body)
        for attempt in range(self.attempts):
            report.deliveries += 1
            if attempt:
                report.retries += 1
                time.sleep(self.retry_wait_seconds)
            try:
                answer = self.client.post(url, content=body, headers=headers)
            except httpx.HTTPError:
                continue
            if 200 <= answer.status_code < 300:
                report.acknowledged += 1
                return True
        report.failed += 1
        return False

    def advance(self, instant: datetime) -> SendReport:
        """Move the world to ``instant`` and deliver every change since the previous instant."""
        start = self.world.now
        self.world.set_now(instant)
        report = SendReport()
        for target in self.targets:
            for change in changes_between(self.world, target.hotel_id, start, instant):
                self.event_seq += 1
                body = render(target.vendor, change, self.event_seq)
                report.changes += 1
                report.bodies.append(body)
                low, high = COPIES.get(target.vendor, (1, 1))
                copies = self.rng.randint(low, high)
                if copies == 1 and self.rng.random() < self.duplicate_rate:
                    copies = 2
                for _ in range(copies):
                    self.deliver(target, body, report)
        return report
