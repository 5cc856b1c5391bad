"""From hint to live board: fetch the records the inbox names, merge them, update daily_metrics where they stay.

Per hotel and vendor, one batch:
1. the pending inbox rows' ids are fetched through the hotel's PMS connector (``fetch_ids``, the vendor's documented
   id filter: Mews ``ReservationIds``, Cloudbeds ``reservationID``, OPERA ``reservationIdList``, RMS
   ``reservationIds``, Beds24 ``id``: only those records). A connector without one (Stayntouch documents no id
   filter), or a batch whose events name no id, runs an incremental extract instead, which reads every change since
   its cursor and so the named ones too. The fetched pages land in the raw zone like any extract (mode ``ids``), so a
   rebuild from raw replays them;
2. one transaction: the records are accepted into ``reservation_versions`` (newest wins: an unchanged record adds no
   version, an older one never replaces a newer), their rows in ``reservations`` and ``reservation_nights`` are
   replaced by the newest versions, ``daily_metrics`` is recomputed for the stay dates the old and new versions touch
   (only rows whose figures changed are written), ``pickup`` is refreshed, the inbox rows get ``applied_at`` and the
   hotel's webhook lag goes to ``integration_status`` (source ``<vendor>_webhooks``).
The historian and the recorder are not touched. The board counts bookings through the hotel's business date T once
the recorder has photographed T (``snapshot_log``), and through T-1 before that, so a webhook between midnight and the
03:00 photograph cannot leak today's bookings into the historian; dates held back that way are recomputed by the
first batch after the photograph.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from hotel_pipeline.core import settings
from hotel_pipeline.core.clock import Clock
from hotel_pipeline.core.portfolio import Hotel, ImportLimits, Portfolio, Source
from hotel_pipeline.core.sql_models import model, run_model
from hotel_pipeline.core.warehouse import Tx, Warehouse
from hotel_pipeline.sources.pms import connector_classes
from hotel_pipeline.sources.pms.base import PmsConnector, Window
from hotel_pipeline.sources.pms.errors import ConnectorError
from hotel_pipeline.sources.pms.extract import admitted_reservations, limits_header, normalise_pages, run_extract
from hotel_pipeline.sources.pms.raw import raw_path, write_raw
from hotel_pipeline.sources.pms.tables import GUESTS, ROOMS, upsert
from hotel_pipeline.unified import accept_reservations, quarantine_rows, record_sync
from hotel_pipeline.webhooks.inbox import WEBHOOK_INBOX, ingest, read_inbox
from hotel_pipeline.webhooks.spool import Spool

ConnectorFactory = Callable[[Hotel, Source], PmsConnector]
log = logging.getLogger(__name__)


def default_connector(hotel: Hotel, source: Source) -> PmsConnector:
    return connector_classes()[source.type](hotel, source)


@dataclass
class BatchResult:
    """What one (hotel, vendor) batch did."""

    hotel_id: str
    vendor: str
    events: int
    ids: int
    accepted: int = 0
    board_dates: int = 0
    board_rows_changed: int = 0
    lag_seconds: list[float] = field(default_factory=list)
    outcome: str = "applied"


@dataclass
class RunResult:
    ingested: int = 0
    quarantined: int = 0
    #: board rows changed by dates held back before today's photograph and released after it
    released: int = 0
    batches: list[BatchResult] = field(default_factory=list)

    def lag_by_hotel(self) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for hotel in sorted({b.hotel_id for b in self.batches}):
            lags = sorted(x for b in self.batches if b.hotel_id == hotel for x in b.lag_seconds)
            if lags:
                out[hotel] = {"events": len(lags), "p50_seconds": round(lags[len(lags) // 2], 3),
                              "max_seconds": round(lags[-1], 3)}
        return out


def _naive(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(tzinfo=None)


def has_fetch_ids(connector: PmsConnector) -> bool:
    return type(connector).fetch_ids is not PmsConnector.fetch_ids


def board_cutoff(tx: Tx, hotel: Hotel, clock: Clock) -> date:
    """T once the recorder has decided today's snapshot for the hotel, else T-1 (see the module docstring)."""
    today = clock.business_date(hotel.timezone)
    if tx.table_exists("snapshot_log"):
        seen = tx.query("SELECT 1 AS x FROM snapshot_log WHERE hotel_id = :h AND snapshot_date = :d",
                        {"h": hotel.id, "d": today})
        if seen.height:
            return today
    return today - timedelta(days=1)


def _dates_of(frame: pl.DataFrame) -> set[date]:
    days: set[date] = set()
    for arrival, departure in frame.select("arrival_date", "departure_date").iter_rows():
        if arrival is None or departure is None:
            continue
        days.update(arrival + timedelta(days=i) for i in range((departure - arrival).days))
    return days


def _unified_ids(tx: Tx, source: str, hotel_id: str, ids: list[str]) -> list[str]:
    """The unified external ids of the bookings an event names: the booking id itself, and ``<id>:<n>`` for each
    room of a multi-room booking (one unified reservation per booked room)."""
    if not ids or not tx.table_exists("reservation_versions"):
        return ids
    tx.temp_table("_webhook_named", pl.DataFrame({"booking_id": ids}, schema={"booking_id": pl.String}))
    found = tx.query(
        "SELECT DISTINCT v.external_id FROM reservation_versions v JOIN _webhook_named n "
        "ON v.external_id = n.booking_id OR LEFT(v.external_id, LENGTH(n.booking_id) + 1) = n.booking_id || ':' "
        "WHERE v.source = :s AND v.hotel_id = :h", {"s": source, "h": hotel_id})["external_id"].to_list()
    return sorted(set(ids) | set(found))


def _touched_versions(tx: Tx, source: str, hotel_id: str, ids: list[str]) -> pl.DataFrame:
    """The newest two versions of each id: the dates a change moved a reservation from and to."""
    if not ids or not tx.table_exists("reservation_versions"):
        return pl.DataFrame(schema={"external_id": pl.String, "arrival_date": pl.Date, "departure_date": pl.Date})
    tx.temp_table("_webhook_ids", pl.DataFrame({"external_id": ids}, schema={"external_id": pl.String}))
    versions = tx.query(
        "SELECT v.external_id, v.version, v.arrival_date, v.departure_date FROM reservation_versions v "
        "JOIN _webhook_ids i ON i.external_id = v.external_id WHERE v.source = :s AND v.hotel_id = :h",
        {"s": source, "h": hotel_id})
    return versions.sort("version", descending=True).group_by("external_id", maintain_order=True).head(2)


def _refresh_models_for(tx: Tx, source: str, hotel_id: str, ids: list[str]) -> None:
    """Replace the ``reservations`` and ``reservation_nights`` rows of these ids by their models' rows for them."""
    for name in ("reservations", "reservation_nights"):
        if not tx.table_exists(name):
            continue
        m = model(name)
        key = "t.source = :s AND t.hotel_id = :h AND t.external_id IN (SELECT external_id FROM _webhook_ids)"
        tx.execute(f"DELETE FROM {name} t WHERE {key}", {"s": source, "h": hotel_id})  # noqa: S608 - model names
        tx.execute(f"INSERT INTO {name} ({m.column_list}) SELECT {m.column_list} FROM ({m.sql}) AS t "  # noqa: S608
                   f"WHERE {key}", {"s": source, "h": hotel_id})


_BOARD = """
WITH books AS (
    SELECT n.stay_date, COUNT(*) AS rooms_sold, SUM(n.net_rate) AS net_revenue, SUM(n.gross_rate) AS gross_revenue
    FROM reservation_nights n JOIN _webhook_dates d ON d.stay_date = n.stay_date
    WHERE n.hotel_id = :h AND n.booked_on <= :cutoff AND (n.off_books_on IS NULL OR n.off_books_on > :cutoff)
    GROUP BY n.stay_date
)
SELECT m.stay_date,
       CAST(COALESCE(b.rooms_sold, 0) AS INTEGER) AS rooms_sold,
       CAST(ROUND(CAST(COALESCE(b.net_revenue, 0) AS DECIMAL(18, 6)), 2) AS DOUBLE PRECISION) AS net_revenue,
       CAST(ROUND(CAST(b.gross_revenue AS DECIMAL(18, 6)), 2) AS DOUBLE PRECISION) AS gross_revenue,
       m.rooms_sold AS old_rooms_sold, m.net_revenue AS old_net_revenue, m.gross_revenue AS old_gross_revenue
FROM daily_metrics m JOIN _webhook_dates d ON d.stay_date = m.stay_date
LEFT JOIN books b ON b.stay_date = m.stay_date
WHERE m.hotel_id = :h AND m.as_of_date = (SELECT MAX(as_of_date) FROM daily_metrics WHERE hotel_id = :h)
"""


def update_board(tx: Tx, hotel_id: str, days: set[date], cutoff: date, now: datetime) -> int:
    """Recompute ``daily_metrics`` of ``hotel_id`` for ``days`` (the live board's rows only); returns rows changed."""
    if not days or not all(tx.table_exists(t) for t in ("daily_metrics", "reservation_nights")):
        return 0
    tx.temp_table("_webhook_dates", pl.DataFrame({"stay_date": sorted(days)}, schema={"stay_date": pl.Date}))
    fresh = tx.query(_BOARD, {"h": hotel_id, "cutoff": cutoff})
    changed = fresh.filter(
        (pl.col("rooms_sold") != pl.col("old_rooms_sold"))
        | (pl.col("net_revenue") != pl.col("old_net_revenue")).fill_null(True)
        | pl.col("gross_revenue").ne_missing(pl.col("old_gross_revenue"))
    ).select("stay_date", "rooms_sold", "net_revenue", "gross_revenue")
    if changed.height == 0:
        return 0
    tx.temp_table("_webhook_board", changed.with_columns(pl.lit(hotel_id).alias("hotel_id"),
                                                         pl.lit(now).alias("updated_at")))
    tx.execute(
        "UPDATE daily_metrics SET rooms_sold = u.rooms_sold, net_revenue = u.net_revenue, "
        "gross_revenue = u.gross_revenue, updated_at = u.updated_at FROM _webhook_board u "
        "WHERE daily_metrics.hotel_id = u.hotel_id AND daily_metrics.stay_date = u.stay_date "
        "AND daily_metrics.as_of_date = (SELECT MAX(as_of_date) FROM daily_metrics WHERE hotel_id = :h)",
        {"h": hotel_id})
    return changed.height


def put_on_board(tx: Tx, hotel_id: str, days: set[date], cutoff: date, now: datetime) -> int:
    """``update_board`` for ``days`` plus the dates held back before today's photograph (see the module docstring),
    then ``pickup`` if a row changed; returns the board rows changed."""
    held = read_inbox(tx, "hotel_id = :h AND applied_at IS NOT NULL AND board_cutoff < :c AND stay_from IS NOT NULL",
                      {"h": hotel_id, "c": cutoff})
    days = set(days)
    for first, last in held.select("stay_from", "stay_to").iter_rows():
        days.update(first + timedelta(days=i) for i in range((last - first).days + 1))
    changed = update_board(tx, hotel_id, days, cutoff, now)
    if changed and all(tx.table_exists(t) for t in ("pickup", "hotels", "pacing_snapshots")):
        run_model(tx, "pickup", {"run_at": now})
    if held.height:
        tx.execute("UPDATE webhook_inbox SET board_cutoff = :c WHERE hotel_id = :h AND applied_at IS NOT NULL "
                   "AND board_cutoff < :c", {"h": hotel_id, "c": cutoff})
    return changed


def release_held(warehouse: Warehouse, portfolio: Portfolio, clock: Clock) -> int:
    """Put on the board the dates held back before today's photograph, for hotels whose cutoff has moved since
    (a run with no new events does it too). Returns the board rows changed."""
    changed = 0
    with warehouse.transaction() as tx:
        tx.ensure_table(WEBHOOK_INBOX)
        for hotel in portfolio.hotels:
            changed += put_on_board(tx, hotel.id, set(), board_cutoff(tx, hotel, clock), clock.now_naive_utc())
    return changed


def _fetch_ids(connector: PmsConnector, ids: list[str], now: datetime, raw_root: Path,
               batch_id: str, limits: ImportLimits | None) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
    """Fetch ``ids`` and land the pages in the raw zone as an ``ids`` extract; (header, pages, raw file)."""
    ctx = connector.context()
    header = {"extract_id": batch_id, "source": ctx.source, "hotel_id": ctx.hotel_id, "mode": "ids",
              "window": Window("ids", until=now).as_dict() | {"ids": ids},
              "started_at": now.astimezone(UTC).isoformat(), "context": connector.http.redact(ctx.as_dict()),
              "import_limits": limits_header(limits)}
    path = raw_path(raw_root, ctx.source, ctx.hotel_id, now.astimezone(UTC), batch_id)
    connector.login()
    connector.fetch_ids(ids)
    pages = [p.as_dict() for p in connector.http.pages]
    write_raw(path, {**header, "complete": True, "pages": pages})
    return header, pages, str(path)


def _accept_pages(tx: Tx, header: dict[str, Any], pages: list[dict[str, Any]], now: datetime) -> int:
    normalised, ctx = normalise_pages(header, pages)
    good, bad = admitted_reservations(normalised.reservations, header, now)
    synced_at = _naive(now)
    batch_id = header["extract_id"]
    accepted = accept_reservations(tx, good, source_as_of=synced_at, synced_at=synced_at, batch_id=batch_id)
    upsert(tx, ROOMS, normalised.rooms.with_columns(pl.lit(synced_at).alias("synced_at"),
                                                     pl.lit(batch_id).alias("batch_id")))
    upsert(tx, GUESTS, normalised.guests.with_columns(pl.lit(synced_at).alias("synced_at"),
                                                       pl.lit(batch_id).alias("batch_id")))
    rejects = list(normalised.rejects) + [
        {"location": f"{ctx.source} webhook fetch {batch_id} reservation {r['external_id']}", "reason": r["_reason"],
         "payload": json.dumps({k: str(v) for k, v in r.items() if k != "_reason"})} for r in bad.to_dicts()]
    quarantine_rows(tx, pl.DataFrame(
        [{"source": ctx.source, "hotel_id": ctx.hotel_id, "received_at": synced_at, **r} for r in rejects],
        schema={"source": pl.String, "hotel_id": pl.String, "received_at": pl.Datetime("us"),
                "location": pl.String, "reason": pl.String, "payload": pl.String}), batch_id=batch_id)
    return accepted.accepted


def dispatch_inventory(warehouse: Warehouse, hotel: Hotel, rows: pl.DataFrame, spool: Spool) -> str | None:
    """Beds24 ``SYNC_ROOM`` events belong to the channel domain: each stored body goes to
    ``hotel_pipeline.channel.reconcile.on_inventory_webhook(payload, warehouse=...)`` (a reconciliation of that room;
    safe to repeat). Returns the rows' outcome, or None when a call failed (the rows stay pending for the next run)."""
    from hotel_pipeline.channel.reconcile import on_inventory_webhook

    try:
        for raw_file in rows["raw_file"].to_list():
            on_inventory_webhook(json.loads(spool.read_at(raw_file)["body"]), warehouse=warehouse,
                                 timezone=hotel.timezone)
    except Exception as exc:  # noqa: BLE001 - a channel failure must not stop the reservations' batch
        log.warning("webhooks: inventory dispatch of %s failed (%s); the events stay pending", hotel.id,
                    type(exc).__name__)
        return None
    return "dispatched to channel reconciliation"


def apply_batch(warehouse: Warehouse, hotel: Hotel, vendor: str, rows: pl.DataFrame, *, clock: Clock,
                make_connector: ConnectorFactory, raw_root: Path, replay: bool = False,
                limits: ImportLimits | None = None) -> BatchResult:
    """Fetch, merge and put on the board the reservation events ``rows`` of one hotel and vendor."""
    now = clock.now()
    naive_now = _naive(now)
    ids = sorted({i for text in rows["external_ids"].to_list() for i in json.loads(text or "[]")})
    result = BatchResult(hotel.id, vendor, rows.height, len(ids))
    source = hotel.source(vendor)
    batch_id = f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-webhooks-{uuid.uuid4().hex[:8]}"
    header: dict[str, Any] | None = None
    pages: list[dict[str, Any]] = []
    if source is None:  # e.g. a Beds24 booking webhook of a hotel whose PMS is another vendor
        _mark(warehouse, rows, f"ignored: {hotel.id} has no {vendor} PMS source", now)
        result.outcome = "ignored"
        return result
    connector = make_connector(hotel, source)
    try:
        if ids and has_fetch_ids(connector):
            header, pages, _ = _fetch_ids(connector, ids, now, raw_root, batch_id, limits)
        else:  # the hint triggers the incremental pull, which commits with its own cursor
            extract = run_extract(warehouse, connector, now=now, mode="incremental", raw_root=raw_root,
                                  extract_id=batch_id, limits=limits)
            result.accepted = extract.accepted.accepted
    except ConnectorError as exc:
        result.outcome = f"failed: {connector.http.redact(str(exc))}"[:500]
    finally:
        connector.close()
    if result.outcome.startswith("failed"):
        return result  # the rows stay pending: the next run tries again
    with warehouse.transaction() as tx:
        if header is not None:
            result.accepted = _accept_pages(tx, header, pages, now)
        unified = _unified_ids(tx, vendor, hotel.id, ids)
        versions = _touched_versions(tx, vendor, hotel.id, unified)
        if unified and tx.table_exists("reservation_versions"):
            _refresh_models_for(tx, vendor, hotel.id, unified)
        days = _dates_of(versions)
        stay_from = min(days) if days else None
        stay_to = max(days) if days else None
        cutoff = board_cutoff(tx, hotel, clock)
        result.board_dates = len(days)
        result.board_rows_changed = put_on_board(tx, hotel.id, days, cutoff, naive_now)
        keys = rows["idempotency_key"].to_list()
        tx.temp_table("_webhook_keys", pl.DataFrame({"idempotency_key": keys}, schema={"idempotency_key": pl.String}))
        # A replay never moves applied_at of a row already applied: that is when it first reached the board.
        tx.execute(
            "UPDATE webhook_inbox SET applied_at = COALESCE(applied_at, CAST(:now AS TIMESTAMP)), "
            "outcome = COALESCE(outcome, 'applied'), batch_id = COALESCE(batch_id, :b), "
            "stay_from = COALESCE(stay_from, :f), stay_to = COALESCE(stay_to, :t), "
            "board_cutoff = COALESCE(board_cutoff, :c) "
            "WHERE vendor = :v AND hotel_id = :h AND idempotency_key IN (SELECT idempotency_key FROM _webhook_keys)",
            {"now": naive_now, "b": batch_id, "f": stay_from, "t": stay_to, "c": cutoff, "v": vendor,
             "h": hotel.id})
        if not replay:
            result.lag_seconds = [(naive_now - r).total_seconds() for r in rows["received_at"].to_list()]
            record_sync(tx, {
                "hotel_id": hotel.id, "source": f"{vendor}_webhooks", "last_attempt_at": naive_now,
                "last_success_at": naive_now, "last_status": "ok", "records_fetched": len(ids),
                "pages": len(pages), "errors": 0, "last_error": None,
                "lag_seconds": max(result.lag_seconds) if result.lag_seconds else None,
            })
    return result


def _mark(warehouse: Warehouse, rows: pl.DataFrame, outcome: str, now: datetime) -> None:
    with warehouse.transaction() as tx:
        tx.temp_table("_webhook_keys", rows.select("vendor", "hotel_id", "idempotency_key"))
        tx.execute(
            "UPDATE webhook_inbox SET applied_at = COALESCE(applied_at, CAST(:now AS TIMESTAMP)), outcome = :o "
            "WHERE EXISTS (SELECT 1 FROM _webhook_keys k WHERE k.vendor = webhook_inbox.vendor "
            "AND k.hotel_id = webhook_inbox.hotel_id AND k.idempotency_key = webhook_inbox.idempotency_key)",
            {"now": _naive(now), "o": outcome})


def process(warehouse: Warehouse, portfolio: Portfolio, clock: Clock, rows: pl.DataFrame, *,
            make_connector: ConnectorFactory = default_connector, raw_root: Path | None = None,
            spool: Spool | None = None, replay: bool = False) -> list[BatchResult]:
    """Apply inbox ``rows``, grouped per hotel and vendor (reservation events fetched; inventory dispatched)."""
    raw_root = raw_root or settings.raw_dir()
    results = []
    for (hotel_id, vendor), group in rows.group_by(["hotel_id", "vendor"], maintain_order=True):
        if hotel_id not in portfolio.hotel_ids:
            _mark(warehouse, group, "ignored: hotel not in the portfolio", clock.now())
            continue
        hotel = portfolio.hotel(str(hotel_id))
        reservations = group.filter(pl.col("kind") == "reservation")
        inventory = group.filter(pl.col("kind") == "inventory")
        other = group.filter(~pl.col("kind").is_in(["reservation", "inventory"]))
        if other.height and not replay:
            _mark(warehouse, other, "ignored: nothing to fetch", clock.now())
        if inventory.height and not replay:
            outcome = dispatch_inventory(warehouse, hotel, inventory, spool or Spool())
            if outcome:
                _mark(warehouse, inventory, outcome, clock.now())
        if reservations.height:
            results.append(apply_batch(warehouse, hotel, str(vendor), reservations, clock=clock,
                                       make_connector=make_connector, raw_root=raw_root, replay=replay,
                                       limits=portfolio.import_limits))
    return results


def run_once(warehouse: Warehouse, portfolio: Portfolio, clock: Clock, spool: Spool, *,
             make_connector: ConnectorFactory = default_connector, raw_root: Path | None = None) -> RunResult:
    """What the sensor's run does: ingest the spool, then apply every pending inbox row."""
    with warehouse.transaction() as tx:
        new, quarantined = ingest(tx, spool, clock.now_naive_utc())
        pending = read_inbox(tx, "applied_at IS NULL", {})
    result = RunResult(ingested=new, quarantined=quarantined)
    result.batches = process(warehouse, portfolio, clock, pending, make_connector=make_connector,
                             raw_root=raw_root, spool=spool)
    result.released = release_held(warehouse, portfolio, clock)
    return result


def replay(warehouse: Warehouse, portfolio: Portfolio, clock: Clock, hotel_id: str, start: datetime,
           end: datetime, *, make_connector: ConnectorFactory = default_connector,
           raw_root: Path | None = None) -> list[BatchResult]:
    """Re-process the stored events of ``hotel_id`` received in [start, end] (debugging). Records are fetched again
    and merged (an unchanged record adds no version), the board is recomputed for their dates (only changed rows are
    written), and ``applied_at`` of rows already applied stays as it was."""
    with warehouse.transaction() as tx:
        rows = read_inbox(tx, "hotel_id = :h AND received_at BETWEEN :a AND :b",
                          {"h": hotel_id, "a": _naive(start), "b": _naive(end)})
    return process(warehouse, portfolio, clock, rows, make_connector=make_connector, raw_root=raw_root,
                   replay=True)


__all__ = ["WEBHOOK_INBOX", "BatchResult", "RunResult", "apply_batch", "process", "replay", "run_once"]
