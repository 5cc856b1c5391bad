"""The encrypted guest store: names, e-mails and phones, one AES-GCM data key per guest.

Why a key per guest: erasing one guest is then destroying one key (crypto-shredding); every copy of the ciphertext
(a backup, a replica) becomes unreadable at once. Data keys are wrapped by the master key (``keys``) and kept in
``guest_keys``; an erased guest keeps a tombstone there (no key, ``shredded_at``), so a later delivery of the same
guest is not stored again. Ciphertexts are bound to their guest token (AES-GCM associated data), so a row copied onto
another guest does not decrypt.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import polars as pl
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hotel_pipeline.core.warehouse import Tx, spec
from hotel_pipeline.privacy.keys import master_key
from hotel_pipeline.privacy.pii import tokenise

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
        ("stored_at", "TIMESTAMP", "when this version was stored (UTC)"),
    ],
    primary_key=("guest_token",),
    doc="Guest names, e-mails and phones, encrypted per guest; decrypted only for a residents list the policy allows.",
    grain="guest_token",
)


def _encrypt(key: bytes, token: str, pii: dict[str, Any]) -> str:
    nonce = os.urandom(12)
    data = AESGCM(key).encrypt(nonce, json.dumps(pii, sort_keys=True).encode(), token.encode())
    return base64.b64encode(nonce + data).decode()


def _decrypt(key: bytes, token: str, ciphertext: str) -> dict[str, Any]:
    raw = base64.b64decode(ciphertext)
    return json.loads(AESGCM(key).decrypt(raw[:12], raw[12:], token.encode()))


def email_token(email: str | None) -> str | None:
    return tokenise(email, kind="email")


def store_guests(tx: Tx, frame: pl.DataFrame, now: datetime) -> int:
    """Encrypt and upsert the guests of ``frame`` (hotel_id, source, guest_token and PII_FIELDS), in ``tx``.

    A guest keeps its data key across deliveries; an erased guest (tombstone) is never stored again. Rows without
    any PII are skipped. Returns the guests stored.
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
    tx.temp_table("_vault_incoming", rows.select("guest_token"))
    existing = tx.query("SELECT k.guest_token, k.wrapped_key FROM guest_keys k "
                        "JOIN _vault_incoming i ON i.guest_token = k.guest_token")
    keys = dict(existing.iter_rows())
    fernet = master_key()
    new_keys, vault = [], []
    for r in rows.iter_rows(named=True):
        token = r["guest_token"]
        if token in keys and keys[token] is None:
            continue  # erased: tombstone
        if token in keys:
            key = fernet.decrypt(keys[token].encode())
        else:
            key = AESGCM.generate_key(bit_length=256)
            new_keys.append({"guest_token": token, "hotel_id": r["hotel_id"],
                             "wrapped_key": fernet.encrypt(key).decode(), "created_at": now})
        pii = {c: r.get(c) for c in PII_FIELDS}
        vault.append({"guest_token": token, "hotel_id": r["hotel_id"], "source": r["source"],
                      "email_token": email_token(pii.get("email")), "ciphertext": _encrypt(key, token, pii),
                      "stored_at": now})
    if new_keys:
        tx.insert_frame("guest_keys", GUEST_KEYS.conform(pl.DataFrame(new_keys, infer_schema_length=None)))
    if vault:
        tx.execute("DELETE FROM guest_vault WHERE guest_token IN (SELECT guest_token FROM _vault_incoming)")
        tx.insert_frame("guest_vault", GUEST_VAULT.conform(pl.DataFrame(vault, infer_schema_length=None)))
    return len(vault)


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
