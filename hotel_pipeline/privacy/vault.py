"""The encrypted guest store: names, e-mails and phones, one AES-GCM data key per guest.

Why a key per guest: erasing one guest is then destroying one key (crypto-shredding); every copy of the ciphertext
(a backup, a replica) becomes unreadable at once. Data keys are wrapped by the master key (``keys``) and kept in
``guest_keys``; an erased guest keeps a tombstone there (no key, ``shredded_at``), so a later delivery of the same
guest is not stored again. Ciphertexts are bound to their guest token (AES-GCM associated data), so a row copied onto
another guest does not decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import polars as pl
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hotel_pipeline.core.warehouse import Tx, spec
from hotel_pipeline.privacy.keys import master_key
from hotel_pipeline.privacy.pii import pii_key, tokenise

PII_FIELDS = ("first_name", "last_name", "email", "phone")

GUEST_KEYS = spec(
    "guest_keys",
    [
        ("guest_token", "VARCHAR", "opaque guest token (reservations.guest_token, restaurant guests)"),
        ("hotel_id", "VARCHAR", "portfolio hotel id"),
        ("wrapped_key", "VARCHAR", "the guest's data key, encrypted with the master key; null once shredded"),
        ("created_at", "TIMESTAMP", "when the key was made (UTC)"),
        ("shredded_at", "TIMESTAMP", "when the key was destroyed by an erasure (UTC); null while alive"),
    ],
    primary_key=("guest_token",),
    doc="One data key per guest, wrapped by the master key; destroying it makes the guest's ciphertext unreadable.",
    grain="guest_token",
)

GUEST_VAULT = spec(
    "guest_vault",
    [
        ("guest_token", "VARCHAR", "opaque guest token"),
        ("hotel_id", "VARCHAR", "portfolio hotel id"),
        ("source", "VARCHAR", "where the guest came from (a PMS, or a restaurant source)"),
        ("email_token", "VARCHAR", "keyed HMAC of the e-mail, to find a guest by e-mail for an erasure"),
        ("ciphertext", "VARCHAR", "AES-GCM of the guest's name, e-mail and phone (base64 nonce + ciphertext)"),
        ("pii_digest", "VARCHAR", "keyed HMAC of the stored name, e-mail and phone, to skip an unchanged guest"),
        ("stored_at", "TIMESTAMP", "when this version was stored (UTC)"),
    ],
    primary_key=("guest_token",),
    doc="Guest names, e-mails and phones, encrypted per guest; decrypted only for a residents list the policy allows.",
    grain="guest_token",
)


def _encrypt(key: bytes, token: str, plaintext: str) -> str:
    nonce = os.urandom(12)
    data = AESGCM(key).encrypt(nonce, plaintext.encode(), token.encode())
    return base64.b64encode(nonce + data).decode()


def _decrypt(key: bytes, token: str, ciphertext: str) -> dict[str, Any]:
    raw = base64.b64decode(ciphertext)
    return json.loads(AESGCM(key).decrypt(raw[:12], raw[12:], token.encode()))


def _plaintext(pii: dict[str, Any]) -> str:
    """What a ciphertext holds: the guest's PII_FIELDS as sorted JSON."""
    return json.dumps(pii, sort_keys=True)


def _digest(key: bytes, token: str, hotel_id: str, source: str, plaintext: str) -> str:
    """Keyed HMAC of one vault row's content (``pii_digest``): equal digests mean the row would not change.

    Keyed with the PII token key, like ``email_token`` beside it: it can be matched by whoever holds that key, not
    read; it is deleted with the row when a guest is shredded."""
    return hmac.digest(key, "\x1f".join(("vault", token, hotel_id, source, plaintext)).encode(),
                       hashlib.sha256).hex()


def email_token(email: str | None, key: bytes | None = None) -> str | None:
    return tokenise(email, kind="email", key=key)


def store_guests(tx: Tx, frame: pl.DataFrame, now: datetime) -> int:
    """Encrypt and upsert the guests of ``frame`` (hotel_id, source, guest_token and PII_FIELDS), in ``tx``.

    A guest keeps its data key across deliveries; an erased guest (tombstone) is never stored again. Rows without
    any PII are skipped, and so is a guest delivered again with the same name, e-mail and phone (its ``pii_digest``
    matches): its vault row, ciphertext and ``stored_at`` stay as they are, and nothing is decrypted or encrypted,
    which is what makes an extract re-delivering thousands of unchanged guests cheap. Returns the guests stored
    (new or changed).
    """
    tx.ensure_table(GUEST_KEYS)
    tx.ensure_table(GUEST_VAULT)
    if frame.height == 0 or "guest_token" not in frame.columns:
        return 0
    present = [c for c in PII_FIELDS if c in frame.columns]
    if not present:
        return 0
    rows = frame.filter(pl.col("guest_token").is_not_null() & pl.any_horizontal(
        [pl.col(c).is_not_null() for c in present])).unique("guest_token", keep="last", maintain_order=True)
    if rows.height == 0:
        return 0
    pii_secret = pii_key()
    tokens, hotels, sources = rows["guest_token"].to_list(), rows["hotel_id"].to_list(), rows["source"].to_list()
    columns = [rows[c].to_list() if c in rows.columns else [None] * rows.height for c in PII_FIELDS]
    plaintexts = [_plaintext(dict(zip(PII_FIELDS, values, strict=True))) for values in zip(*columns, strict=True)]
    digests = [_digest(pii_secret, *row) for row in zip(tokens, hotels, sources, plaintexts, strict=True)]
    tx.temp_table("_vault_incoming", pl.DataFrame({"guest_token": tokens}, schema={"guest_token": pl.String}))
    existing = tx.query("SELECT i.guest_token, k.guest_token IS NOT NULL AS has_key, k.wrapped_key, v.pii_digest "
                        "FROM _vault_incoming i LEFT JOIN guest_keys k ON k.guest_token = i.guest_token "
                        "LEFT JOIN guest_vault v ON v.guest_token = i.guest_token")
    known = {token: (wrapped, digest) for token, has_key, wrapped, digest in existing.iter_rows() if has_key}
    fernet = master_key()
    new_keys, stored, ciphertexts = [], [], []
    for i, (token, plaintext, digest) in enumerate(zip(tokens, plaintexts, digests, strict=True)):
        if token in known:
            wrapped, stored_digest = known[token]
            if wrapped is None or stored_digest == digest:
                continue  # erased (tombstone), or delivered again unchanged
            key = fernet.decrypt(wrapped.encode())
        else:
            key = AESGCM.generate_key(bit_length=256)
            new_keys.append({"guest_token": token, "hotel_id": hotels[i],
                             "wrapped_key": fernet.encrypt(key).decode(), "created_at": now})
        stored.append(i)
        ciphertexts.append(_encrypt(key, token, plaintext))
    if new_keys:
        tx.insert_frame("guest_keys", GUEST_KEYS.conform(pl.DataFrame(new_keys, infer_schema_length=None)))
    if stored:
        emails = rows["email"].to_list() if "email" in rows.columns else [None] * rows.height
        vault = rows[stored].select("guest_token", "hotel_id", "source").with_columns(
            pl.Series("email_token", [email_token(emails[i], pii_secret) for i in stored], dtype=pl.String),
            pl.Series("ciphertext", ciphertexts, dtype=pl.String),
            pl.Series("pii_digest", [digests[i] for i in stored], dtype=pl.String),
            pl.lit(now).alias("stored_at"))
        tx.temp_table("_vault_stored", vault.select("guest_token"))
        tx.execute("DELETE FROM guest_vault WHERE guest_token IN (SELECT guest_token FROM _vault_stored)")
        tx.insert_frame("guest_vault", GUEST_VAULT.conform(vault))
    return len(stored)


def reveal(tx: Tx, tokens: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Decrypt the guests of ``tokens`` (those with a live key and a stored record). Callers log the production."""
    wanted = sorted({t for t in tokens if t})
    if not wanted or not tx.table_exists("guest_vault"):
        return {}
    tx.temp_table("_vault_wanted", pl.DataFrame({"guest_token": wanted}))
    rows = tx.query(
        "SELECT v.guest_token, v.ciphertext, k.wrapped_key FROM guest_vault v "
        "JOIN guest_keys k ON k.guest_token = v.guest_token "
        "JOIN _vault_wanted w ON w.guest_token = v.guest_token WHERE k.wrapped_key IS NOT NULL")
    fernet = master_key()
    return {token: _decrypt(fernet.decrypt(wrapped.encode()), token, ciphertext)
            for token, ciphertext, wrapped in rows.iter_rows()}


def shred(tx: Tx, tokens: Iterable[str], now: datetime, *, tombstone: bool) -> int:
    """Destroy the data keys (and ciphertexts) of ``tokens``; with ``tombstone`` the guest is never stored again."""
    wanted = sorted({t for t in tokens if t})
    if not wanted:
        return 0
    tx.ensure_table(GUEST_KEYS)
    tx.ensure_table(GUEST_VAULT)
    tx.temp_table("_vault_shred", pl.DataFrame({"guest_token": wanted}))
    tx.execute("DELETE FROM guest_vault WHERE guest_token IN (SELECT guest_token FROM _vault_shred)")
    if tombstone:
        return tx.execute("UPDATE guest_keys SET wrapped_key = NULL, shredded_at = :now "
                          "WHERE guest_token IN (SELECT guest_token FROM _vault_shred)", {"now": now})
    return tx.execute("DELETE FROM guest_keys WHERE guest_token IN (SELECT guest_token FROM _vault_shred)")
