"""``webhook_inbox``: one row per accepted delivery, keyed by (vendor, hotel_id, idempotency_key).

The receiver stores deliveries as files (``spool``); ``ingest`` moves them into this table in one transaction per
run, skipping keys already present, so a duplicate delivery or a second ingestion of the same file adds nothing.
Malformed deliveries go to ``quarantine`` (source ``webhook:<vendor>``) with the receiver's reason.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
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


def ingest(tx: Tx, spool: Spool, now: datetime) -> tuple[int, list[Path], list[Path]]:
    """Move pending spool records and quarantined deliveries into the warehouse within ``tx``.

    Returns (new inbox rows, pending links to remove after commit, quarantine files to archive after commit).
    """
    tx.ensure_table(WEBHOOK_INBOX)
    pending = list(spool.pending())
    new = 0
    if pending:
        rows = [{
            "vendor": p.record["vendor"], "hotel_id": p.record["hotel_id"], "idempotency_key": p.record["key"],
            "event_id": p.record.get("event_id"), "kind": p.record.get("kind"),
            "external_ids": json.dumps(p.record.get("ids") or []),
            "received_at": naive_utc(p.record["received_at"]),
            "raw_file": str(spool.record_path(p.record["vendor"], p.record["hotel_id"], p.record["key"])),
            "ingested_at": now,
        } for p in pending]
        frame = WEBHOOK_INBOX.conform(pl.DataFrame(rows, infer_schema_length=None)).unique(
            ["vendor", "hotel_id", "idempotency_key"], keep="first", maintain_order=True)
        tx.temp_table("_webhook_new", frame, WEBHOOK_INBOX)
        cols = ", ".join(WEBHOOK_INBOX.column_names)
        new = tx.execute(
            f"INSERT INTO webhook_inbox ({cols}) SELECT {cols} FROM _webhook_new n "  # noqa: S608 - constant columns
            "WHERE NOT EXISTS (SELECT 1 FROM webhook_inbox w WHERE w.vendor = n.vendor AND w.hotel_id = n.hotel_id "
            "AND w.idempotency_key = n.idempotency_key)")
    bad = spool.quarantined()
    for path, record in bad:
        quarantine_rows(tx, pl.DataFrame([{
            "source": f"webhook:{record['vendor']}", "hotel_id": record["hotel_id"],
            "received_at": naive_utc(record["received_at"]),
            "location": f"webhook {record['vendor']} {record['hotel_id']} {path.name}",
            "reason": record["reason"], "payload": str(record.get("body", ""))[:2000],
        }], schema={"source": pl.String, "hotel_id": pl.String, "received_at": pl.Datetime("us"),
                    "location": pl.String, "reason": pl.String, "payload": pl.String}),
            batch_id=f"webhook:{path.name}")
    return new, [p.path for p in pending], [p for p, _ in bad]


def archive_quarantined(spool: Spool, paths: list[Path]) -> None:
    """After commit: move ingested quarantine files aside (kept in the raw zone, not ingested again)."""
    done = spool.quarantine_dir / "ingested"
    done.mkdir(parents=True, exist_ok=True)
    for path in paths:
        if path.exists():
            path.replace(done / path.name)


def read_inbox(tx: Tx, where: str, params: dict[str, Any]) -> pl.DataFrame:
    """Inbox rows matching a fixed condition of this package (bind parameters only)."""
    tx.ensure_table(WEBHOOK_INBOX)
    return tx.query(f"SELECT * FROM webhook_inbox WHERE {where} ORDER BY received_at, idempotency_key", params)  # noqa: S608
