"""``webhook_inbox``: one row per accepted delivery, keyed by (vendor, hotel_id, idempotency_key).

The receiver appends deliveries to its journal (``spool``); ``ingest`` moves what follows the committed cursor into
this table in one transaction with the cursor, skipping keys already present, so a duplicate delivery or a second
ingestion adds nothing.
Malformed deliveries go to ``quarantine`` (source ``webhook:<vendor>``) with the receiver's reason.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import polars as pl

from hotel_pipeline.core.warehouse import Tx, spec
from hotel_pipeline.unified import quarantine_rows
from hotel_pipeline.webhooks.spool import Spool

WEBHOOK_INBOX = spec(
    "webhook_inbox",
    [
        ("vendor", "VARCHAR", "the PMS that called (mews, cloudbeds, opera, stayntouch, rms, beds24)"),
        ("hotel_id", "VARCHAR", "portfolio hotel id (from the route)"),
        ("idempotency_key", "VARCHAR", "the vendor's event id, or a hash of vendor, hotel and body"),
        ("event_id", "VARCHAR", "the vendor's event id when it sends one"),
        ("kind", "VARCHAR", "reservation, inventory or other"),
        ("external_ids", "VARCHAR", "JSON list of the record ids the delivery names"),
        ("received_at", "TIMESTAMP", "when the receiver stored it (UTC)"),
        ("raw_file", "VARCHAR", "the delivery's file in the raw zone"),
        ("ingested_at", "TIMESTAMP", "when this row was written from the receiver's spool (UTC)"),
        ("applied_at", "TIMESTAMP", "when its records reached reservations and daily_metrics (UTC); null = pending"),
        ("outcome", "VARCHAR", "applied, ignored (nothing to fetch), dispatched (inventory), or the failure"),
        ("batch_id", "VARCHAR", "the fetch that applied it (its raw extract id)"),
        ("stay_from", "DATE", "first stay date its records touched (old and new version)"),
        ("stay_to", "DATE", "last stay date its records touched"),
        ("board_cutoff", "DATE", "business date through which daily_metrics counted bookings when it was applied"),
    ],
    primary_key=("vendor", "hotel_id", "idempotency_key"),
    doc="Accepted webhook deliveries, one row per idempotency key; applied_at says when each reached the live board.",
    grain="(vendor, hotel_id, idempotency_key)",
)


def naive_utc(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).replace(tzinfo=None)


WEBHOOK_SPOOL_CURSOR = spec(
    "webhook_spool_cursor",
    [
        ("segment", "VARCHAR", "a receiver journal segment (file name under raw/webhooks/journal/)"),
        ("consumed_bytes", "BIGINT", "bytes of it already moved into webhook_inbox / quarantine"),
        ("updated_at", "TIMESTAMP", "when the cursor last moved (UTC)"),
    ],
    primary_key=("segment",),
    doc="How far each receiver journal segment has been read; moves in the transaction that stores what it covers.",
    grain="segment",
)

_QUARANTINE_SCHEMA = {"source": pl.String, "hotel_id": pl.String, "received_at": pl.Datetime("us"),
                      "location": pl.String, "reason": pl.String, "payload": pl.String}


def ingest(tx: Tx, spool: Spool, now: datetime) -> tuple[int, int]:
    """Move the journal's records after the committed cursor into ``webhook_inbox`` (keys already present skipped)
    and ``quarantine``, and move the cursor, all within ``tx``. Returns (new inbox rows, quarantined records)."""
    tx.ensure_table(WEBHOOK_INBOX)
    tx.ensure_table(WEBHOOK_SPOOL_CURSOR)
    cursor = dict(tx.query("SELECT segment, consumed_bytes FROM webhook_spool_cursor").iter_rows())
    accepted, quarantined, ends = [], [], {}
    for item in spool.read(cursor):
        ends[item.segment] = item.end
        record = item.record
        if record.get("type") == "accepted":
            accepted.append({
                "vendor": record["vendor"], "hotel_id": record["hotel_id"], "idempotency_key": record["key"],
                "event_id": record.get("event_id"), "kind": record.get("kind"),
                "external_ids": json.dumps(record.get("ids") or []),
                "received_at": naive_utc(record["received_at"]), "raw_file": item.location, "ingested_at": now,
            })
        elif record.get("type") == "quarantined":
            quarantined.append({
                "source": f"webhook:{record['vendor']}", "hotel_id": record["hotel_id"],
                "received_at": naive_utc(record["received_at"]),
                "location": f"webhook {record['vendor']} {record['hotel_id']} {item.location}",
                "reason": record["reason"], "payload": str(record.get("body", ""))[:2000],
            })
    new = 0
    if accepted:
        frame = WEBHOOK_INBOX.conform(pl.DataFrame(accepted, infer_schema_length=None)).unique(
            ["vendor", "hotel_id", "idempotency_key"], keep="first", maintain_order=True)
        tx.temp_table("_webhook_new", frame, WEBHOOK_INBOX)
        cols = ", ".join(WEBHOOK_INBOX.column_names)
        new = tx.execute(
            f"INSERT INTO webhook_inbox ({cols}) SELECT {cols} FROM _webhook_new n "  # noqa: S608 - constant columns
            "WHERE NOT EXISTS (SELECT 1 FROM webhook_inbox w WHERE w.vendor = n.vendor AND w.hotel_id = n.hotel_id "
            "AND w.idempotency_key = n.idempotency_key)")
    if quarantined:
        first = quarantined[0]["location"].rsplit(" ", 1)[-1]
        quarantine_rows(tx, pl.DataFrame(quarantined, schema=_QUARANTINE_SCHEMA), batch_id=f"webhook:{first}")
    if ends:
        moved = pl.DataFrame({"segment": list(ends), "consumed_bytes": list(ends.values())},
                             schema={"segment": pl.String, "consumed_bytes": pl.Int64})
        tx.temp_table("_webhook_cursor", moved.with_columns(pl.lit(now).alias("updated_at")))
        tx.execute("DELETE FROM webhook_spool_cursor WHERE segment IN (SELECT segment FROM _webhook_cursor)")
        tx.execute("INSERT INTO webhook_spool_cursor (segment, consumed_bytes, updated_at) "
                   "SELECT segment, consumed_bytes, updated_at FROM _webhook_cursor")
    return new, len(quarantined)


def read_inbox(tx: Tx, where: str, params: dict[str, Any]) -> pl.DataFrame:
    """Inbox rows matching a fixed condition of this package (bind parameters only)."""
    tx.ensure_table(WEBHOOK_INBOX)
    return tx.query(f"SELECT * FROM webhook_inbox WHERE {where} ORDER BY received_at, idempotency_key", params)  # noqa: S608
