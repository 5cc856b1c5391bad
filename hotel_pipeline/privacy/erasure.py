"""The right to be forgotten: one guest of one hotel, found by booking number or e-mail, erased everywhere.

What an erasure does, in this order (a crash repeats it safely: redaction finds nothing left, shredding is a no-op):
1. find the guest's tokens (the booking's guest; guests and restaurant guests with that e-mail; restaurant
   bookings carrying that booking number) and decrypt their values one last time, to know what to redact;
2. redact those values from the hotel's raw zone files (any source), in place (``redaction``);
3. in one transaction: destroy the guests' data keys (crypto-shredding, with a tombstone so they are not stored
   again), drop the name/e-mail/phone tokens from ``guests``, and write ``erasure_log``.
Aggregates (reservations, daily_metrics, pacing, residents_daily) are untouched: they never held the guest's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl

from hotel_pipeline.core.warehouse import Tx, Warehouse, spec
from hotel_pipeline.privacy.redaction import GuestMatcher, redact_tree
from hotel_pipeline.privacy.vault import email_token, reveal, shred

ERASURE_LOG = spec(
    "erasure_log",
    [
        ("erased_at", "TIMESTAMP", "when the erasure ran (clock, UTC)"),
        ("hotel_id", "VARCHAR", "hotel asked"),
        ("lookup", "VARCHAR", "how the guest was named: external_id or email (the e-mail itself is not kept)"),
        ("booking", "VARCHAR", "the booking number given (null for a lookup by e-mail)"),
        ("status", "VARCHAR", "erased, or not_found"),
        ("guests_erased", "INTEGER", "guest records whose keys were destroyed"),
        ("raw_files_redacted", "INTEGER", "raw zone files rewritten without the guest's fields"),
        ("fields_redacted", "INTEGER", "fields replaced in those files"),
        ("requested_by", "VARCHAR", "who asked (user of the command line, or a run id)"),
    ],
    doc="Every erasure: when, which hotel, how the guest was named, what was destroyed and redacted.",
    grain="one row per erasure request",
)


@dataclass(frozen=True)
class ErasureResult:
    status: str
    guests_erased: int
    raw_files_redacted: int
    fields_redacted: int


def _exists(tx: Tx, table: str) -> bool:
    return tx.table_exists(table)


def find_guests(tx: Tx, hotel_id: str, external_id: str | None, email: str | None) -> tuple[set[str], set[str]]:
    """(guest tokens, source ids of the guest and their bookings) for the request."""
    tokens: set[str] = set()
    params = {"h": hotel_id, "x": external_id, "e": email_token(email) if email else None}
    if external_id and _exists(tx, "reservations"):
        tokens |= set(tx.query("SELECT guest_token FROM reservations WHERE hotel_id = :h AND external_id = :x "
                               "AND guest_token IS NOT NULL", params)["guest_token"].to_list())
    if external_id and _exists(tx, "restaurant_booking_records"):
        tokens |= set(tx.query("SELECT guest_token FROM restaurant_booking_records WHERE hotel_id = :h AND "
                               "hotel_booking_ref = :x AND guest_token IS NOT NULL", params)["guest_token"].to_list())
    if email:
        for table in ("guest_vault", "guests"):
            if _exists(tx, table):
                tokens |= set(tx.query(f"SELECT guest_token FROM {table} WHERE hotel_id = :h AND "  # noqa: S608
                                       "email_token = :e AND guest_token IS NOT NULL", params)["guest_token"].to_list())
    ids: set[str] = {external_id} if external_id else set()
    if tokens:
        tx.temp_table("_erasure_tokens", pl.DataFrame({"guest_token": sorted(tokens)}))
        for table, column in (("reservations", "external_id"), ("guests", "external_id"),
                              ("restaurant_booking_records", "booking_id")):
            if _exists(tx, table):
                found = tx.query(f"SELECT {column} AS id FROM {table} WHERE hotel_id = :h AND guest_token IN "  # noqa: S608
                                 "(SELECT guest_token FROM _erasure_tokens)", params)["id"].to_list()
                ids |= {str(i).removeprefix("res:") for i in found if i}
    return tokens, ids


def erase_guest(warehouse: Warehouse, hotel_id: str, *, external_id: str | None = None, email: str | None = None,
                requested_by: str, now: datetime, raw_root: Path) -> ErasureResult:
    """Erase one guest of ``hotel_id`` named by booking number and/or e-mail (see the module doc)."""
    if not external_id and not email:
        raise ValueError("name the guest by booking number (external_id) or e-mail")
    with warehouse.transaction() as tx:
        tokens, ids = find_guests(tx, hotel_id, external_id, email)
        people = reveal(tx, tokens)
    if email:
        # the e-mail itself identifies the guest's records even where no stored copy is left to decrypt
        people.setdefault("_email", {"email": email})
    matchers = [GuestMatcher(p, ids) for p in people.values()]
    files, fields = redact_tree(raw_root, hotel_id, matchers) if matchers else (0, 0)
    status = "erased" if tokens or fields else "not_found"
    with warehouse.transaction() as tx:
        erased = shred(tx, tokens, now, tombstone=True)
        if tokens and _exists(tx, "guests"):
            tx.temp_table("_erasure_done", pl.DataFrame({"guest_token": sorted(tokens)}))
            tx.execute("UPDATE guests SET name_token = NULL, email_token = NULL, phone_token = NULL "
                       "WHERE guest_token IN (SELECT guest_token FROM _erasure_done)")
        tx.ensure_table(ERASURE_LOG)
        tx.insert_frame("erasure_log", ERASURE_LOG.conform(pl.DataFrame([{
            "erased_at": now, "hotel_id": hotel_id, "lookup": "external_id" if external_id else "email",
            "booking": external_id, "status": status, "guests_erased": erased, "raw_files_redacted": files,
            "fields_redacted": fields, "requested_by": requested_by}], infer_schema_length=None)))
    return ErasureResult(status, erased, files, fields)
