"""``channel_outbox``: every intended change to Beds24 as a durable row, and the states a row moves through.

pending -> sent -> acknowledged, or -> failed. A row is queued in the same transaction that records the intent it
carries (the planned calendar values, the planned booking), so an intent can never exist without its row nor a row
without its intent. ``sent`` is committed *before* the request leaves: after a crash, a ``sent`` row is one whose
request may or may not have reached Beds24, and the drain reads Beds24 back before sending it again (a create is
found by its ``apiReference``), so nothing is applied twice. Rows of one entity (a room, a booking) are applied in
``outbox_id`` order; a failed row holds back the later rows of its entity until someone retries or discards it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import polars as pl

from hotel_pipeline.channel.tables import CHANNEL_OUTBOX
from hotel_pipeline.core.warehouse import Tx, Warehouse

#: Postgres advisory lock serialising outbox id allocation between concurrent planners.
OUTBOX_LOCK_KEY = 7_311_204_011


def dumps(value: Any) -> str:
    """The one JSON spelling of payloads and values (sorted keys, no spaces): equal values give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def enqueue(tx: Tx, rows: list[dict[str, Any]], created_at: datetime) -> list[int]:
    """Queue rows (hotel_id, kind, entity, operation, payload dict, api_reference) in ``tx``; their new ids."""
    tx.ensure_table(CHANNEL_OUTBOX)
    if not rows:
        return []
    if tx.dialect == "postgres":
        tx.execute("SELECT pg_advisory_xact_lock(:key)", {"key": OUTBOX_LOCK_KEY})
    top = tx.query("SELECT COALESCE(MAX(outbox_id), 0) AS m FROM channel_outbox")["m"][0]
    ids = [int(top) + 1 + i for i in range(len(rows))]
    frame = pl.DataFrame([{
        "outbox_id": i, "hotel_id": r["hotel_id"], "kind": r["kind"], "entity": r["entity"],
        "operation": r["operation"], "payload": dumps(r["payload"]), "api_reference": r.get("api_reference"),
        "state": "pending", "attempts": 0, "created_at": created_at,
    } for i, r in zip(ids, rows, strict=True)], infer_schema_length=None)
    tx.insert_frame(CHANNEL_OUTBOX.name, CHANNEL_OUTBOX.conform(frame))
    return ids


def ready(warehouse: Warehouse, hotel_id: str, kind: str, limit: int) -> pl.DataFrame:
    """Rows to send now: pending or sent, the earliest unfinished row of their entity, oldest first."""
    if not warehouse.table_exists(CHANNEL_OUTBOX.name):
        return pl.DataFrame(schema=CHANNEL_OUTBOX.polars_schema())
    return warehouse.query("""
        SELECT o.* FROM channel_outbox o
        WHERE o.hotel_id = :h AND o.kind = :k AND o.state IN ('pending', 'sent')
          AND NOT EXISTS (SELECT 1 FROM channel_outbox e WHERE e.entity = o.entity AND e.hotel_id = o.hotel_id
                          AND e.outbox_id < o.outbox_id AND e.state IN ('pending', 'sent', 'failed'))
        ORDER BY o.outbox_id LIMIT :n""", {"h": hotel_id, "k": kind, "n": limit})


def _in(ids: list[int]) -> tuple[str, dict[str, int]]:
    """``(:i0, :i1, ...)`` and its bind parameters (values are never formatted into SQL)."""
    names = {f"i{n}": int(i) for n, i in enumerate(ids)}
    return "(" + ", ".join(f":{k}" for k in names) + ")", names


def mark_sent(tx: Tx, ids: list[int], at: datetime) -> None:
    """Committed before the request leaves: from here on the outcome of these rows is unknown until read back."""
    if not ids:
        return
    where, params = _in(ids)
    tx.execute(f"""UPDATE channel_outbox SET state = 'sent', attempts = attempts + 1, sent_at = :at
                   WHERE outbox_id IN {where}""", {**params, "at": at})  # noqa: S608 - placeholders only


def acknowledge_many(tx: Tx, acks: list[tuple[int, Any, int | None]], at: datetime) -> None:
    """Many (outbox_id, result, beds24_id) acknowledgements in one statement."""
    if not acks:
        return
    frame = pl.DataFrame({"outbox_id": [a[0] for a in acks],
                          "result": [None if a[1] is None else dumps(a[1]) for a in acks],
                          "beds24_id": [a[2] for a in acks]},
                         schema={"outbox_id": pl.Int64, "result": pl.String, "beds24_id": pl.Int64})
    tx.temp_table("_acks", frame)
    tx.execute("""UPDATE channel_outbox SET state = 'acknowledged', acknowledged_at = :at, result = a.result,
                  beds24_id = COALESCE(a.beds24_id, channel_outbox.beds24_id), last_error = NULL
                  FROM _acks a WHERE channel_outbox.outbox_id = a.outbox_id""", {"at": at})


def mark_acknowledged(tx: Tx, outbox_id: int, at: datetime, result: Any = None, beds24_id: int | None = None) -> None:
    tx.execute("""UPDATE channel_outbox SET state = 'acknowledged', acknowledged_at = :at, result = :r,
                  beds24_id = COALESCE(:b, beds24_id), last_error = NULL WHERE outbox_id = :i""",
               {"i": outbox_id, "at": at, "r": None if result is None else dumps(result), "b": beds24_id})


def mark_failed(tx: Tx, outbox_id: int, error: str, result: Any = None) -> None:
    """Beds24 refused the item itself (not a transient fault): it will not be retried on its own."""
    tx.execute("UPDATE channel_outbox SET state = 'failed', last_error = :e, result = :r WHERE outbox_id = :i",
               {"i": outbox_id, "e": error[:2000], "r": None if result is None else dumps(result)})


def note_error(warehouse: Warehouse, ids: list[int], error: str) -> None:
    """A transient failure (5xx, 429, timeout, killed): the rows stay ``sent`` and are read back next time."""
    if not ids:
        return
    where, params = _in(ids)
    with warehouse.transaction() as tx:
        tx.execute(f"UPDATE channel_outbox SET last_error = :e WHERE outbox_id IN {where}",  # noqa: S608
                   {**params, "e": error[:2000]})


def retry_failed(warehouse: Warehouse, hotel_id: str | None = None) -> int:
    """Put failed rows back to ``pending`` (after the mapping or the data was fixed); how many."""
    if not warehouse.table_exists(CHANNEL_OUTBOX.name):
        return 0
    with warehouse.transaction() as tx:
        where = "state = 'failed'" + (" AND hotel_id = :h" if hotel_id else "")
        n = tx.query(f"SELECT COUNT(*) AS n FROM channel_outbox WHERE {where}", {"h": hotel_id})["n"][0]  # noqa: S608
        tx.execute(f"UPDATE channel_outbox SET state = 'pending' WHERE {where}", {"h": hotel_id})  # noqa: S608
    return int(n)


def counts(warehouse: Warehouse, hotel_id: str | None = None) -> dict[str, int]:
    """Rows per state (every state present, 0 where none)."""
    out = dict.fromkeys(("pending", "sent", "acknowledged", "failed"), 0)
    if not warehouse.table_exists(CHANNEL_OUTBOX.name):
        return out
    where = " WHERE hotel_id = :h" if hotel_id else ""
    frame = warehouse.query(f"SELECT state, COUNT(*) AS n FROM channel_outbox{where} GROUP BY state",  # noqa: S608
                            {"h": hotel_id} if hotel_id else None)
    out.update({s: int(n) for s, n in frame.iter_rows()})
    return out
