"""The ``rooms`` and ``guests`` tables of the unified model (written by PMS connectors), and their upserts.

Why upsert by key (delete + insert in the extract's transaction): a room or guest record is current state, not
history; re-delivering it must change nothing, and it lands with the reservations and cursor of the same extract.
Guests hold tokens only (see ``connectors.pii``); names, e-mails and phones stay in the raw zone.
"""

from __future__ import annotations

import polars as pl

from hotel_pipeline.core.warehouse import Tx, identifier, spec

ROOMS = spec(
    "rooms",
    [
        ("hotel_id", "VARCHAR", "portfolio hotel id"),
        ("source", "VARCHAR", "PMS name"),
        ("external_id", "VARCHAR", "the PMS's id of the room"),
        ("room_number", "VARCHAR", "the room's name or number as the hotel uses it"),
        ("room_type", "VARCHAR", "the room's type code as the PMS names it"),
        ("synced_at", "TIMESTAMP", "when the pipeline accepted this record (UTC)"),
        ("batch_id", "VARCHAR", "extract id that delivered it"),
    ],
    primary_key=("source", "hotel_id", "external_id"),
    doc="Rooms of each hotel as its PMS lists them.",
    grain="(source, hotel_id, external_id)",
)

GUESTS = spec(
    "guests",
    [
        ("hotel_id", "VARCHAR", "portfolio hotel id"),
        ("source", "VARCHAR", "PMS name"),
        ("external_id", "VARCHAR", "the PMS's id of the guest / customer / profile"),
        ("guest_token", "VARCHAR", "HMAC token of (source, hotel, external id); reservations.guest_token joins here"),
        ("name_token", "VARCHAR", "HMAC token of the normalised full name"),
        ("email_token", "VARCHAR", "HMAC token of the normalised e-mail"),
        ("phone_token", "VARCHAR", "HMAC token of the phone number (digits only)"),
        ("country", "VARCHAR", "nationality or country code as the PMS gives it (not identifying on its own)"),
        ("synced_at", "TIMESTAMP", "when the pipeline accepted this record (UTC)"),
        ("batch_id", "VARCHAR", "extract id that delivered it"),
    ],
    primary_key=("source", "hotel_id", "external_id"),
    doc="Guests with PII tokenised (keyed HMAC); no raw name, e-mail or phone is stored.",
    grain="(source, hotel_id, external_id)",
)


def upsert(tx: Tx, table_spec, frame: pl.DataFrame) -> int:
    """Replace the rows of ``frame``'s keys (source, hotel_id, external_id) in ``table_spec``'s table."""
    tx.ensure_table(table_spec)
    if frame.height == 0:
        return 0
    rows = table_spec.conform(frame).unique(subset=["source", "hotel_id", "external_id"], keep="last",
                                            maintain_order=True)
    name = identifier(table_spec.name)
    tmp = f"_incoming_{name}"
    tx.lock_for_rewrite(name)
    tx.temp_table(tmp, rows.select("source", "hotel_id", "external_id"))
    tx.execute(
        f"DELETE FROM {name} WHERE EXISTS (SELECT 1 FROM {tmp} i WHERE i.source = {name}.source "  # noqa: S608
        f"AND i.hotel_id = {name}.hotel_id AND i.external_id = {name}.external_id)"
    )
    return tx.insert_frame(name, rows)
