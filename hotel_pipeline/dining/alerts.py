"""Client alert events (alert_sent, alert_opened, tap_to_reserve, booking_confirmed) about slot drops.

They arrive as JSON-lines files in ``<data>/inbox/dining_alerts/`` (picked up by a sensor) and from the sandbox's
generator. Each line names the ``slot_event_id`` it is about; a line that is not JSON, lacks a field, has an unknown
event type or time, or names a slot event the warehouse does not hold goes to ``quarantine`` with the reason.
Stored rows are keyed by ``alert_event_id``, so a replayed or late file changes nothing.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from hotel_pipeline.core.warehouse import Tx, spec
from hotel_pipeline.unified import quarantine_rows

EVENT_TYPES = ("alert_sent", "alert_opened", "tap_to_reserve", "booking_confirmed")
REQUIRED = ("alert_event_id", "slot_event_id", "event_type", "occurred_at", "user_token")

ALERT_EVENTS = spec(
    "alert_events",
    [("alert_event_id", "VARCHAR", "the client's id of the event (unique)"),
     ("slot_event_id", "VARCHAR", "slot_events.event_id of the NEW_DROP the alert was about"),
     ("event_type", "VARCHAR", "alert_sent, alert_opened, tap_to_reserve or booking_confirmed"),
     ("occurred_at", "TIMESTAMP", "when it happened on the client (UTC)"),
     ("occurred_epoch", "DOUBLE", "occurred_at as seconds since 1970 (portable arithmetic in SQL)"),
     ("user_token", "VARCHAR", "opaque user token (never a name or e-mail)"),
     ("client", "VARCHAR", "ios, android or web"),
     ("source", "VARCHAR", "inbox file name or 'sandbox'"),
     ("received_at", "TIMESTAMP", "when the pipeline stored it (clock, UTC)")],
    primary_key=("alert_event_id",),
    doc="Client events of the alert funnel, linked to the slot event they are about.",
    grain="alert_event_id",
    not_null=("slot_event_id", "event_type", "occurred_at", "user_token"),
    rules={"event_type": {"isin": list(EVENT_TYPES)}},
)


def inbox_dir(data_dir: Path) -> Path:
    return data_dir / "inbox" / "dining_alerts"


def generate_alert_events(slot_events: pl.DataFrame, seed: int = 5) -> list[dict]:
    """The sandbox's client simulator: alerts for NEW_DROPs, opened/tapped/booked with bucket-dependent odds.

    A booking is only confirmed if the tap came before the drop's CLOSED was observed (someone else got it).
    """
    rng = np.random.default_rng(seed)
    drops = slot_events.filter(pl.col("event_type") == "NEW_DROP").sort("event_id")
    closes = slot_events.filter((pl.col("event_type") == "CLOSED") & (pl.col("lifecycle") == "drop")).select(
        "provider", "venue_id", "party_size", "slot_date", "slot_time", "seating", "opened_at",
        pl.col("observed_at").alias("closed_at"))
    drops = drops.join(closes, left_on=["provider", "venue_id", "party_size", "slot_date", "slot_time", "seating",
                                        "observed_at"],
                       right_on=["provider", "venue_id", "party_size", "slot_date", "slot_time", "seating",
                                 "opened_at"], how="left")
    rows: list[dict] = []
    for d in drops.iter_rows(named=True):
        prime = d["time_bucket"] == "prime"
        for u in range(int(rng.integers(1, 4))):
            user = f"u{int(rng.integers(1, 5000)):05d}"
            base = f"{d['event_id']}#{user}#{u}"
            t = d["observed_at"] + timedelta(seconds=float(rng.uniform(1, 10)))
            client = ("ios", "android", "web")[int(rng.integers(0, 3))]

            def emit(kind: str, at: datetime, user: str = user, base: str = base, client: str = client,
                     slot_event_id: str = d["event_id"]) -> None:
                rows.append({"alert_event_id": f"{base}#{kind}", "slot_event_id": slot_event_id, "event_type": kind,
                             "occurred_at": at.isoformat() + "Z", "user_token": user, "client": client})

            emit("alert_sent", t)
            if rng.uniform() > (0.7 if prime else 0.5):
                continue
            t += timedelta(seconds=float(rng.exponential(120)))
            emit("alert_opened", t)
            if rng.uniform() > (0.6 if prime else 0.35):
                continue
            t += timedelta(seconds=float(rng.exponential(40)))
            emit("tap_to_reserve", t)
            if d["closed_at"] is not None and t >= d["closed_at"]:
                continue
            t += timedelta(seconds=float(rng.exponential(60)))
            if rng.uniform() < 0.8:
                emit("booking_confirmed", t)
    return rows


def write_jsonl(rows: list[dict], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    tmp.replace(path)  # the sensor never sees half a file
    return path


def parse_lines(lines: list[str], location: str) -> tuple[list[dict], list[dict]]:
    """Valid records and quarantine rows (location = file:line, reason, payload)."""
    good, bad = [], []
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{location}:{i}"
        try:
            rec = json.loads(line)
        except ValueError:
            bad.append({"location": where, "reason": "not JSON", "payload": line[:2000]})
            continue
        if not isinstance(rec, dict) or (missing := [k for k in REQUIRED if not rec.get(k)]):
            bad.append({"location": where, "reason": f"missing {missing if isinstance(rec, dict) else 'object'}",
                        "payload": line[:2000]})
            continue
        if rec["event_type"] not in EVENT_TYPES:
            bad.append({"location": where, "reason": f"unknown event_type {rec['event_type']!r}", "payload": line[:2000]})
            continue
        try:
            at = datetime.fromisoformat(str(rec["occurred_at"]).replace("Z", "+00:00"))
        except ValueError:
            bad.append({"location": where, "reason": "occurred_at is not an ISO instant", "payload": line[:2000]})
            continue
        if at.tzinfo is not None:
            at = (at - at.utcoffset()).replace(tzinfo=None)
        good.append({**{k: str(rec[k]) for k in REQUIRED if k != "occurred_at"}, "occurred_at": at,
                     "client": str(rec.get("client") or "unknown"), "source": location})
    return good, bad


def store_alert_events(tx: Tx, good: list[dict], bad: list[dict], *, received_at: datetime, batch_id: str) -> dict:
    """Insert new events whose slot event exists; the rest to quarantine (replacing this batch's earlier rows)."""
    tx.ensure_table(ALERT_EVENTS)
    known: set[str] = set()
    if good:
        ids = pl.DataFrame({"event_id": sorted({g["slot_event_id"] for g in good})})
        tx.temp_table("_alert_slot_ids", ids)
        if tx.table_exists("slot_events"):
            known = set(tx.query("SELECT i.event_id FROM _alert_slot_ids i JOIN slot_events e "
                                 "ON e.event_id = i.event_id")["event_id"].to_list())
    linked = [g for g in good if g["slot_event_id"] in known]
    received = len(good) + len(bad)
    bad = bad + [{"location": g["source"], "reason": f"unknown slot event {g['slot_event_id']}",
                  "payload": json.dumps({k: str(v) for k, v in g.items()})} for g in good if g["slot_event_id"] not in known]
    inserted = 0
    if linked:
        frame = pl.DataFrame(linked, infer_schema_length=None).unique("alert_event_id", keep="first", maintain_order=True)
        frame = frame.with_columns(
            ((pl.col("occurred_at").cast(pl.Datetime("us")).dt.epoch("us")) / 1e6).alias("occurred_epoch"),
            pl.lit(received_at).alias("received_at"))
        tx.temp_table("_new_alert_events", ALERT_EVENTS.conform(frame), ALERT_EVENTS)
        cols = ", ".join(ALERT_EVENTS.column_names)
        inserted = tx.execute(
            f"INSERT INTO alert_events ({cols}) SELECT {cols} FROM _new_alert_events n "  # noqa: S608
            "WHERE NOT EXISTS (SELECT 1 FROM alert_events a WHERE a.alert_event_id = n.alert_event_id)")
    q = pl.DataFrame(bad, schema={"location": pl.String, "reason": pl.String, "payload": pl.String}).with_columns(
        pl.lit("dining_alerts").alias("source"), pl.lit(received_at).alias("received_at"))
    quarantined = quarantine_rows(tx, q, batch_id=batch_id)
    return {"received": received, "inserted": max(inserted, 0),
            "quarantined": quarantined, "linked": len(linked)}
