"""PII tokenisation: guests are stored as keyed HMAC tokens, never as names, e-mails or phone numbers.

Why keyed HMAC (not a plain hash): a plain hash of a name or e-mail is reversible by a dictionary; with a secret key
held in an environment variable (``HOTEL_PIPELINE_PII_KEY``) a token can only be matched, not read. The same key
gives the same tokens, so rebuilding ``guests`` from the raw zone reproduces them and the same e-mail at two hotels
can be recognised as one person. Without the variable a fixed *demo* key is used and a warning is logged:
fine for the sandbox, never for real guests.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
from typing import Any

log = logging.getLogger(__name__)

PII_KEY_ENV = "HOTEL_PIPELINE_PII_KEY"
_DEMO_KEY = b"hotel-pipeline-demo-pii-key (set HOTEL_PIPELINE_PII_KEY for real guests)"
_warned = False


def pii_key(env: str = PII_KEY_ENV) -> bytes:
    global _warned
    value = os.environ.get(env)
    if value:
        return value.encode()
    if not _warned:
        log.warning("%s is not set: guest tokens use the demo key (not for real guest data)", env)
        _warned = True
    return _DEMO_KEY


def tokenise(value: str | None, *, kind: str, key: bytes | None = None) -> str | None:
    """HMAC-SHA256 token (hex, 32 chars) of a normalised value; None stays None."""
    if value is None:
        return None
    text = " ".join(str(value).split()).lower()
    if not text:
        return None
    # the one-shot digest (OpenSSL in one call) gives the bytes an hmac object would, without building one: an
    # extract tokenises three fields of every guest it delivers
    return hmac.digest(key or pii_key(), f"{kind}:{text}".encode(), hashlib.sha256).hex()[:32]


#: Field names (lower-case, without ``_``/``-``/spaces) that hold a guest's name, e-mail or phone in some vendor's
#: records, and fragments that mark one (``guestEmail``, ``mobile_phone``, ``FirstName``...).
_PII_NAMES = {"name", "names", "fullname", "firstname", "lastname", "middlename", "surname", "givenname", "given",
              "guestgiven", "guestsurname", "forename", "title", "salutation", "guestname", "contactname",
              "customername", "bookername", "alternatename", "content"}
_PII_FRAGMENTS = ("email", "mail", "phone", "mobile", "fax", "firstname", "lastname", "surname", "givenname",
                  "guestname", "fullname", "middlename")
#: Keys whose value is a vendor's name of a *thing* (a room, a rate, a product), kept as they are.
_THING_NAMES = ("room", "rate", "tariff", "category", "product", "plan", "source", "area", "unit", "type", "site",
                "property", "company", "agent", "channel", "service", "package", "market", "segment", "status")
_EMAIL = re.compile(r"[^@\s\"']+@[^@\s\"']+\.[A-Za-z]{2,}")
REDACTED = "<redacted>"


def _is_pii_key(key: str, parent: str) -> bool:
    k = key.lower().replace("_", "").replace("-", "").replace(" ", "")
    if any(f in k for f in _PII_FRAGMENTS):
        return True
    if k in _PII_NAMES:
        # "name" of a room, rate or product (or under such a parent) is not a person's name
        return not any(t in parent for t in _THING_NAMES) or k == "content"
    return False


def strip_pii(value: Any, parent: str = "") -> Any:
    """A copy of a vendor record without guest names, e-mails and phones (for the quarantine, which is outside the
    raw zone). Why by key and by value: every vendor names these fields differently (``FirstName``, ``guestGiven``,
    ``guestEmail``, ``contact_details[].content``...), and an e-mail can hide in a free-text note. Names of rooms,
    rates and products are kept: they are what a person reading the quarantine needs to see."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if _is_pii_key(str(key), parent) and item not in (None, "", [], {}):
                out[key] = REDACTED
            else:
                out[key] = strip_pii(item, str(key).lower())
        return out
    if isinstance(value, list):
        return [strip_pii(v, parent) for v in value]
    if isinstance(value, str):
        return _EMAIL.sub(REDACTED, value)
    return value


def quarantine_payload(payload: Any) -> str:
    """The quarantine's ``payload`` text of a rejected record: JSON of ``strip_pii(record)``."""
    if isinstance(payload, str):
        try:
            payload = json.loads(payload)
        except ValueError:
            return _EMAIL.sub(REDACTED, payload)
    return json.dumps(strip_pii(payload), default=str, sort_keys=True)
