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
import logging
import os

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
    mac = hmac.new(key or pii_key(), f"{kind}:{text}".encode(), hashlib.sha256)
    return mac.hexdigest()[:32]
