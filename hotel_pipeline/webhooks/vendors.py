"""Each vendor's webhook: how it authenticates, what its body names, and how long it waits for our answer.

Why one table of vendors: every vendor authenticates differently (Mews a shared ``?Token=`` in the URL, Beds24 a custom
header, Stayntouch an optional HMAC-SHA256 signature, RMS Basic auth or a custom header, Cloudbeds and OPERA nothing at
all, so a per-hotel secret in the URL path) and names the changed records in its own words, but the receiver does
the same thing with all of them: check the credential in constant time, parse the body into "these ids changed",
write it down, answer. Bodies are thin hints (ids); the records themselves are fetched through the PMS connectors.

Secrets come from environment variables named by the hotel's source in the portfolio (``webhook_secret_env``,
default ``HOTEL_<VENDOR>_WEBHOOK_SECRET_<HOTEL>``); they never reach the raw zone, the inbox or a log line.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hotel_pipeline.core.portfolio import Portfolio, Source

#: The vendors that call webhooks (Newbook documents none: its hotels rely on the incremental pulls).
WEBHOOK_VENDORS = ("mews", "cloudbeds", "opera", "stayntouch", "rms", "beds24")

#: Seconds each vendor waits for an answer before it counts the delivery as failed and retries.
DEADLINE_SECONDS = {"mews": 5.0, "cloudbeds": 10.0, "opera": 10.0, "stayntouch": 10.0, "rms": 10.0, "beds24": 10.0}


class Malformed(ValueError):
    """The body is not what the vendor sends (the reason goes to quarantine)."""


@dataclass(frozen=True)
class Hint:
    """What one delivery says: which records changed (ids as the connector names them), and of what kind."""

    kind: str  # reservation | inventory | other
    ids: tuple[str, ...] = ()
    #: the vendor's own id of the event, when it sends one (the idempotency key then)
    event_id: str | None = None
    #: anything else the consumers need (e.g. Beds24's roomId of an inventory event)
    extra: dict[str, Any] = field(default_factory=dict)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Malformed(f"not JSON: {exc.__class__.__name__}") from exc
    if not isinstance(data, dict):
        raise Malformed("the body is not a JSON object")
    return data


def _id(value: Any, what: str) -> str:
    if isinstance(value, bool) or value is None or (isinstance(value, str) and not value.strip()):
        raise Malformed(f"{what} is missing")
    if not isinstance(value, (str, int)):
        raise Malformed(f"{what} is not an id")
    return str(value)


def parse_mews(body: bytes) -> Hint:
    """General webhook: ``{EnterpriseId, IntegrationId, Events: [{Discriminator, Value: {Id}}]}``; a reservation is
    a ``ServiceOrderUpdated`` (other entities are noted, not fetched)."""
    data = _json_object(body)
    events = data.get("Events")
    if not isinstance(data.get("EnterpriseId"), str) or not isinstance(events, list):
        raise Malformed("EnterpriseId and Events are required")
    ids: list[str] = []
    for event in events:
        if not isinstance(event, dict) or not isinstance(event.get("Discriminator"), str) \
                or not isinstance(event.get("Value"), dict):
            raise Malformed("every event needs a Discriminator and a Value")
        value_id = _id(event["Value"].get("Id"), "Value.Id")
        if event["Discriminator"] == "ServiceOrderUpdated" and value_id not in ids:
            ids.append(value_id)
    return Hint("reservation" if ids else "other", tuple(ids))


def parse_cloudbeds(body: bytes) -> Hint:
    """``{reservationID, propertyID, event: "reservation/created" | "reservation/status_changed" | ..., ...}``."""
    data = _json_object(body)
    event = data.get("event")
    if not isinstance(event, str):
        raise Malformed("event is required")
    if event.startswith("reservation/"):
        return Hint("reservation", (_id(data.get("reservationID"), "reservationID"),))
    return Hint("other")


def parse_opera(body: bytes) -> Hint:
    """An OHIP business event: ``{eventName, hotelId, primaryKey, metadata: {uniqueEventId}}``; the primary key of a
    reservation event is the reservation id."""
    data = _json_object(body)
    name = data.get("eventName")
    if not isinstance(name, str):
        raise Malformed("eventName is required")
    meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    event_id = meta.get("uniqueEventId")
    event_id = str(event_id) if isinstance(event_id, (str, int)) and not isinstance(event_id, bool) else None
    if "RESERVATION" in name.upper():
        return Hint("reservation", (_id(data.get("primaryKey"), "primaryKey"),), event_id)
    return Hint("other", (), event_id)


def parse_stayntouch(body: bytes) -> Hint:
    """``{id, event: "create_reservation" | ..., object: "event", data: {id, object: "reservation", ...}}``."""
    data = _json_object(body)
    payload = data.get("data")
    if not isinstance(data.get("event"), str) or not isinstance(payload, dict):
        raise Malformed("event and data are required")
    event_id = _id(data.get("id"), "id")
    if payload.get("object") == "reservation" or "reservation" in data["event"]:
        return Hint("reservation", (_id(payload.get("id"), "data.id"),), event_id)
    return Hint("other", (), event_id)


def parse_rms(body: bytes) -> Hint:
    """The subscription's "basic object": ``{entityType, action, propertyId, id}`` (the reservation id for
    reservation entities)."""
    data = _json_object(body)
    entity = data.get("entityType")
    if not isinstance(entity, str):
        raise Malformed("entityType is required")
    if entity == "reservation":
        return Hint("reservation", (_id(data.get("id"), "id"),))
    return Hint("other")


def parse_beds24(body: bytes) -> Hint:
    """Booking webhook ``{timeStamp, booking: {id, ...}}`` or inventory webhook
    ``{roomId, propId, ownerId, action: "SYNC_ROOM"}``."""
    data = _json_object(body)
    if data.get("action") == "SYNC_ROOM":
        return Hint("inventory", (), None, {"roomId": _id(data.get("roomId"), "roomId"),
                                            "propId": str(data.get("propId") or "")})
    booking = data.get("booking")
    if not isinstance(booking, dict):
        raise Malformed("booking (or an inventory action) is required")
    return Hint("reservation", (_id(booking.get("id"), "booking.id"),))


PARSERS: dict[str, Callable[[bytes], Hint]] = {
    "mews": parse_mews, "cloudbeds": parse_cloudbeds, "opera": parse_opera, "stayntouch": parse_stayntouch,
    "rms": parse_rms, "beds24": parse_beds24,
}


# -- authentication ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Endpoint:
    """One route: a vendor and hotel, how it authenticates and with which secret (never shown or logged)."""

    vendor: str
    hotel_id: str
    #: query_token | url_secret | header | basic | hmac
    auth: str
    secret: str | None = field(repr=False, default=None)
    #: the header carrying the secret (header) or the signature (hmac)
    header: str | None = None
    secret_env: str = ""

    @property
    def path(self) -> str:
        base = f"/webhooks/{self.vendor}/{self.hotel_id}"
        return base + "/{secret}" if self.auth == "url_secret" else base

    def authenticate(self, query: Mapping[str, str], headers: Mapping[str, str], path_secret: str | None,
                     body: bytes) -> bool:
        """Constant-time check of the vendor's credential; an endpoint without a configured secret accepts nothing."""
        if not self.secret:
            return False
        expected = self.secret.encode()
        if self.auth == "query_token":
            given = query.get("Token", "")
        elif self.auth == "url_secret":
            given = path_secret or ""
        elif self.auth == "header":
            given = headers.get((self.header or "").lower(), "")
        elif self.auth == "basic":
            given = _basic(headers.get("authorization", ""))
        elif self.auth == "hmac":
            signature = headers.get((self.header or "").lower(), "").strip().removeprefix("sha256=")
            digest = hmac.new(expected, body, hashlib.sha256).hexdigest()
            return hmac.compare_digest(signature.encode(), digest.encode())
        else:
            return False
        return hmac.compare_digest(given.encode(), expected)


def _basic(value: str) -> str:
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "basic":
        return ""
    try:
        return base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ""


def default_secret_env(vendor: str, hotel_id: str) -> str:
    return f"HOTEL_{vendor}_WEBHOOK_SECRET_{hotel_id}".upper().replace("-", "_")


def endpoint_for(vendor: str, hotel_id: str, source: Source, environ: Mapping[str, str] | None = None) -> Endpoint:
    """The endpoint of one hotel's source from its portfolio options:

    - ``webhook_secret_env``: the variable holding the secret (Mews token, URL secret, header value, ``user:password``
      for RMS Basic auth, or the Stayntouch signing key);
    - ``webhook_auth``: RMS ``basic`` (default) or ``header``; Stayntouch ``hmac`` (default when set) or ``url_secret``;
    - ``webhook_header``: the header name (Beds24 default ``X-Webhook-Secret``, RMS ``X-API-KEY``, Stayntouch
      signature ``X-Stayntouch-Signature``).
    """
    environ = os.environ if environ is None else environ
    var = str(source.option("webhook_secret_env") or default_secret_env(vendor, hotel_id))
    secret = environ.get(var) or None
    header = source.option("webhook_header")
    if vendor == "mews":
        auth = "query_token"
    elif vendor in ("cloudbeds", "opera"):
        auth = "url_secret"
    elif vendor == "beds24":
        auth, header = "header", header or "X-Webhook-Secret"
    elif vendor == "rms":
        auth = str(source.option("webhook_auth", "basic"))
        header = header or ("X-API-KEY" if auth == "header" else None)
    elif vendor == "stayntouch":
        auth = str(source.option("webhook_auth", "hmac"))
        header = header or ("X-Stayntouch-Signature" if auth == "hmac" else None)
    else:
        raise ValueError(f"{vendor} sends no webhooks")
    if auth not in ("query_token", "url_secret", "header", "basic", "hmac"):
        raise ValueError(f"{hotel_id}: unknown webhook_auth {auth!r} for {vendor}")
    return Endpoint(vendor, hotel_id, auth, secret, header, var)


def portfolio_endpoints(portfolio: Portfolio, environ: Mapping[str, str] | None = None) -> list[Endpoint]:
    """One endpoint per hotel and webhook-sending source of the portfolio, plus a Beds24 endpoint for every hotel the
    channel configuration pushes to Beds24 (its inventory webhook ``SYNC_ROOM`` starts a reconciliation)."""
    from hotel_pipeline.channel.config import load_channel_config

    endpoints = [endpoint_for(s.type, h.id, s, environ) for h in portfolio.hotels for s in h.sources
                 if s.type in WEBHOOK_VENDORS]
    have = {(e.vendor, e.hotel_id) for e in endpoints}
    for hotel_id in sorted(load_channel_config().hotels):
        if ("beds24", hotel_id) not in have and hotel_id in portfolio.hotel_ids:
            endpoints.append(endpoint_for("beds24", hotel_id, Source(type="beds24"), environ))
    return endpoints


def idempotency_key(vendor: str, hotel_id: str, body: bytes, hint: Hint) -> str:
    """The vendor's event id when it sends one, else a hash of vendor, hotel and body (a retry repeats the body)."""
    if hint.event_id:
        return "e-" + hashlib.sha256(f"{vendor}\0{hotel_id}\0{hint.event_id}".encode()).hexdigest()[:40]
    return "b-" + hashlib.sha256(vendor.encode() + b"\0" + hotel_id.encode() + b"\0" + body).hexdigest()[:40]
