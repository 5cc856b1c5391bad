"""Draining ``channel_outbox`` into Beds24, resumable at any instant.

Per hotel, calendar rows first (one ``POST /inventory/rooms/calendar`` carries up to ``batch_size`` rooms), then
booking rows (one ``POST /bookings`` carries up to ``batch_size`` bookings). Each batch: rows already ``sent`` are read
back first (``GET /inventory/rooms/calendar`` for their rooms and nights; ``GET /bookings`` by ``apiReference`` for
creates, by ``id`` otherwise) and acknowledged if Beds24 already holds them; a calendar row whose nights Beds24 holds
only in part is sent again with the differing nights only. The rest are marked ``sent`` in a committed transaction,
then posted; each item's answer (``success``,
``errors``, ``warnings``, new id) is stored with the row. A process killed anywhere in between leaves rows ``pending``
(never sent) or ``sent`` (maybe applied), and the next drain finishes them without applying anything twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import polars as pl

from hotel_pipeline.channel import outbox
from hotel_pipeline.channel.bookings import acknowledge_bookings, beds24_ids
from hotel_pipeline.channel.calendar import acknowledge_calendar, expand, forget_failed_calendar, runs
from hotel_pipeline.channel.client import Beds24Client, Beds24Error, TransientError
from hotel_pipeline.channel.config import HotelChannel
from hotel_pipeline.core.warehouse import Warehouse

#: Fields of a pushed booking compared on read-back.
COMPARED = ("roomId", "status", "arrival", "departure", "numAdult", "numChild", "price", "apiReference")


@dataclass
class DrainReport:
    acknowledged: int = 0
    failed: int = 0
    read_back_acknowledged: int = 0  # rows found already applied on Beds24 (a lost answer, a killed drain)
    batches: int = 0
    errors: list[str] = field(default_factory=list)


def _now(clock: Callable[[], datetime]) -> datetime:
    return clock().replace(tzinfo=None)


def _error_text(result: dict[str, Any]) -> str:
    errors = result.get("errors") or []
    return "; ".join(f"{e.get('field', '')}: {e.get('message', '')}" for e in errors) or "Beds24 refused the item"


def same(want: Any, got: Any) -> bool:
    """Equal as Beds24 stores them (amounts to the cent: a price read back as 120 is the 120.0 we sent)."""
    if isinstance(want, int | float) and isinstance(got, int | float):
        return abs(float(want) - float(got)) <= 0.005
    return want == got


def holds(held: dict[str, Any], payload: dict[str, Any], keys: Iterable[str] | None = COMPARED) -> bool:
    """Does what Beds24 holds (a booking, a night's values) already carry what the payload asks for?
    Only ``keys`` are compared (every key of the payload when None)."""
    return all(same(payload[k], held.get(k)) for k in (payload if keys is None else keys) if k in payload)


def actual_nights(client: Beds24Client, room_ids: list[int], start: date, end: date) -> dict[tuple[int, date], dict]:
    """(roomId, night) -> the values Beds24 holds for it (``GET /inventory/rooms/calendar``)."""
    out: dict[tuple[int, date], dict] = {}
    for room in client.get_calendar(room_ids, start.isoformat(), end.isoformat()):
        for night, values in expand(room.get("calendar") or []):
            out[(int(room["roomId"]), night)] = json.loads(values)
    return out


class Drainer:
    """Drains one hotel's rows through one client."""

    def __init__(self, warehouse: Warehouse, hotel: HotelChannel, client: Beds24Client,
                 clock: Callable[[], datetime]) -> None:
        self.warehouse = warehouse
        self.hotel = hotel
        self.client = client
        self.clock = clock
        self.report = DrainReport()

    def run(self, max_batches: int | None = None) -> DrainReport:
        """Until nothing is ready (or ``max_batches``); a transient fault that outlasts the retries raises."""
        for kind, send in (("calendar", self._calendar), ("booking", self._bookings)):
            while max_batches is None or self.report.batches < max_batches:
                rows = outbox.ready(self.warehouse, self.hotel.hotel_id, kind, self.hotel.batch_size)
                if rows.height == 0:
                    break
                send(rows)
        return self.report

    def _retried(self, rows: pl.DataFrame, kind: str, attempt_once: Callable[[pl.DataFrame], None]) -> None:
        """A batch as one read-back-then-post unit, retried on transient faults with the rows' states read again
        (a row a failed attempt left ``sent`` is read back, never posted blindly)."""
        self.report.batches += 1
        current = rows
        for attempt in self.client.retrying():
            with attempt:
                if attempt.retry_state.attempt_number > 1:  # states changed: read them again
                    current = outbox.ready(self.warehouse, self.hotel.hotel_id, kind, self.hotel.batch_size)
                    current = current.filter(pl.col("outbox_id").is_in(rows["outbox_id"].to_list()))
                if current.height:
                    attempt_once(current)

    # -- calendar --------------------------------------------------------------------------------------------
    def _calendar(self, rows: pl.DataFrame) -> None:
        self._retried(rows, "calendar", self._calendar_attempt)

    def _calendar_read_back(self, sent: list[dict[str, Any]], payloads: dict[int, dict[str, Any]]
                            ) -> dict[int, dict[str, Any]]:
        """Acknowledge the ``sent`` rows whose nights Beds24 already holds; the others' payloads cut down to the
        nights that differ (outbox id -> payload to post)."""
        nights = {r["outbox_id"]: expand(payloads[r["outbox_id"]]["calendar"]) for r in sent}
        days = [d for room_nights in nights.values() for d, _ in room_nights]
        rooms = sorted({int(payloads[i]["roomId"]) for i in nights})
        actual = actual_nights(self.client, rooms, min(days), max(days)) if days else {}
        resend: dict[int, dict[str, Any]] = {}
        held: list[int] = []
        for i, room_nights in nights.items():
            room = int(payloads[i]["roomId"])
            differing = [(d, v) for d, v in room_nights if not holds(actual.get((room, d), {}), json.loads(v), None)]
            if differing:
                resend[i] = {"roomId": room, "calendar": runs(differing)}
            else:
                held.append(i)
        at = _now(self.clock)
        with self.warehouse.transaction() as tx:
            for i in held:
                outbox.mark_acknowledged(tx, i, at, result={"success": True, "readBack": True})
                acknowledge_calendar(tx, self.hotel.hotel_id, payloads[i], at)
        self.report.read_back_acknowledged += len(held)
        self.report.acknowledged += len(held)
        return resend

    def _calendar_attempt(self, rows: pl.DataFrame) -> None:
        records = rows.to_dicts()
        payloads = {r["outbox_id"]: json.loads(r["payload"]) for r in records}
        sent = [r for r in records if r["state"] == "sent"]
        to_post = self._calendar_read_back(sent, payloads) if sent else {}
        to_post.update({r["outbox_id"]: payloads[r["outbox_id"]] for r in records if r["state"] != "sent"})
        if not to_post:
            return
        ids = sorted(to_post)
        with self.warehouse.transaction() as tx:
            outbox.mark_sent(tx, ids, _now(self.clock))
        try:
            answers = self.client.post_calendar([to_post[i] for i in ids])
        except TransientError as exc:
            outbox.note_error(self.warehouse, ids, str(exc))
            self.report.errors.append(str(exc))
            raise
        except Beds24Error as exc:
            answers = [{"success": False, "errors": [{"message": str(exc)}]}] * len(ids)
        at = _now(self.clock)
        with self.warehouse.transaction() as tx:
            for i, answer in zip(ids, _aligned(answers, len(ids)), strict=True):
                if answer.get("success"):
                    outbox.mark_acknowledged(tx, i, at, result=answer)
                    # the whole row: nights not posted again were found on Beds24 already
                    acknowledge_calendar(tx, self.hotel.hotel_id, payloads[i], at)
                    self.report.acknowledged += 1
                else:
                    outbox.mark_failed(tx, i, _error_text(answer), result=answer)
                    forget_failed_calendar(tx, i)
                    self.report.failed += 1

    # -- bookings --------------------------------------------------------------------------------------------
    def _bookings(self, rows: pl.DataFrame) -> None:
        self._retried(rows, "booking", self._booking_attempt)

    def _with_id(self, row: dict[str, Any], ids: dict[str, int | None]) -> dict[str, Any]:
        payload = json.loads(row["payload"])
        if row["operation"] != "create":
            beds24_id = ids.get(row["entity"])
            if beds24_id is None:
                raise Beds24Error(f"{row['entity']}: no Beds24 id to {row['operation']} (its create is not "
                                  f"acknowledged)")
            payload = {"id": beds24_id, **payload}
        return payload

    def _read_back(self, sent: list[dict[str, Any]]) -> set[int]:
        """Acknowledge the ``sent`` rows Beds24 already holds; their outbox ids."""
        creates = [r for r in sent if r["operation"] == "create"]
        others = [r for r in sent if r["operation"] != "create"]
        found: dict[str, dict[str, Any]] = {}
        if creates:
            for b in self.client.get_bookings(apiReference=[r["api_reference"] for r in creates]):
                found[f"ref:{b.get('apiReference')}"] = b
        known = beds24_ids(self.warehouse, self.hotel.hotel_id, [r["entity"] for r in others])
        ids = {r["outbox_id"]: known.get(r["entity"]) for r in others}
        if any(ids.values()):
            for b in self.client.get_bookings(id=[i for i in ids.values() if i]):
                found[f"id:{b.get('id')}"] = b
        done: set[int] = set()
        at = _now(self.clock)
        acks, pushed = [], []
        for r in sent:
            payload = json.loads(r["payload"])
            key = f"ref:{r['api_reference']}" if r["operation"] == "create" else f"id:{ids.get(r['outbox_id'])}"
            booking = found.get(key)
            if booking is not None and holds(booking, payload):
                acks.append((r["outbox_id"], {"success": True, "readBack": True}, int(booking["id"])))
                pushed.append((r["entity"], payload, int(booking["id"])))
                done.add(r["outbox_id"])
        with self.warehouse.transaction() as tx:
            outbox.acknowledge_many(tx, acks, at)
            acknowledge_bookings(tx, self.hotel.hotel_id, pushed, at)
        self.report.read_back_acknowledged += len(done)
        self.report.acknowledged += len(done)
        return done

    def _booking_attempt(self, rows: pl.DataFrame) -> None:
        records = rows.to_dicts()
        sent = [r for r in records if r["state"] == "sent"]
        done = self._read_back(sent) if sent else set()
        todo = [r for r in records if r["outbox_id"] not in done]
        if not todo:
            return
        items, ready_rows = [], []
        known = beds24_ids(self.warehouse, self.hotel.hotel_id,
                           [r["entity"] for r in todo if r["operation"] != "create"])
        with self.warehouse.transaction() as tx:
            for r in todo:
                try:
                    items.append(self._with_id(r, known))
                    ready_rows.append(r)
                except Beds24Error as exc:
                    outbox.mark_failed(tx, r["outbox_id"], str(exc))
                    self.report.failed += 1
            outbox.mark_sent(tx, [r["outbox_id"] for r in ready_rows], _now(self.clock))
        if not items:
            return
        ids = [r["outbox_id"] for r in ready_rows]
        try:
            answers = self.client.post_bookings(items)
        except TransientError as exc:
            outbox.note_error(self.warehouse, ids, str(exc))
            self.report.errors.append(str(exc))
            raise
        except Beds24Error as exc:
            answers = [{"success": False, "errors": [{"message": str(exc)}]}] * len(ids)
        at = _now(self.clock)
        acks, pushed = [], []
        with self.warehouse.transaction() as tx:
            for r, item, answer in zip(ready_rows, items, _aligned(answers, len(ids)), strict=True):
                if answer.get("success"):
                    new_id = (answer.get("new") or {}).get("id") or item.get("id")
                    new_id = int(new_id) if new_id else None
                    acks.append((r["outbox_id"], answer, new_id))
                    pushed.append((r["entity"], item, new_id))
                    self.report.acknowledged += 1
                else:
                    outbox.mark_failed(tx, r["outbox_id"], _error_text(answer), result=answer)
                    self.report.failed += 1
            outbox.acknowledge_many(tx, acks, at)
            acknowledge_bookings(tx, self.hotel.hotel_id, pushed, at)


def _aligned(answers: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """Beds24 answers one item per request item, in order; a short answer leaves the rest unacknowledged-failed."""
    answers = [a if isinstance(a, dict) else {} for a in answers]
    missing = {"success": False, "errors": [{"message": "no answer for this item"}]}
    return answers[:n] + [missing] * (n - len(answers))


def drain_hotel(warehouse: Warehouse, hotel: HotelChannel, clock: Callable[[], datetime],
                client: Beds24Client | None = None, max_batches: int | None = None) -> tuple[DrainReport, Any]:
    """Drain one hotel (opens a client from the configuration unless given); (report, client stats)."""
    own = client is None
    client = client or Beds24Client(hotel.base_url, hotel.refresh_token())
    try:
        report = Drainer(warehouse, hotel, client, clock).run(max_batches)
        return report, client.stats
    finally:
        if own:
            client.close()
