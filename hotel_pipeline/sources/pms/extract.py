"""Running one extract end to end, and rebuilding the unified model from the raw zone.

Order (why): fetch every page -> write the raw file (while normalising) -> ONE warehouse transaction holding the accepted
reservations, rooms, guests, quarantined records AND the new cursor in ``integration_status``. So a crash before the
commit repeats work (the cursor did not move) but never skips it, and the raw zone holds every page we normalised.
A failed fetch writes its pages as an *incomplete* raw file (for diagnosis; rebuild skips it) and records the failure
in ``integration_status`` without touching the cursor.
"""

from __future__ import annotations

import json
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from hotel_pipeline.core import settings
from hotel_pipeline.core.collector import collector_paused
from hotel_pipeline.core.portfolio import ImportLimits
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.privacy.pii import quarantine_payload
from hotel_pipeline.privacy.vault import store_guests
from hotel_pipeline.sources.pms import connector_classes
from hotel_pipeline.sources.pms.base import ExtractContext, Normalised, PmsConnector, Window, validate_reservations
from hotel_pipeline.sources.pms.errors import ConnectorError
from hotel_pipeline.sources.pms.http import HttpStats
from hotel_pipeline.sources.pms.raw import iter_raw, raw_path, write_raw
from hotel_pipeline.sources.pms.tables import GUESTS, ROOMS, upsert
from hotel_pipeline.unified import INTEGRATION_STATUS, Accepted, accept_reservations, quarantine_rows, record_sync
from hotel_pipeline.unified.admission import admit

MODES = ("auto", "full", "incremental", "reconcile")


@dataclass
class ExtractResult:
    """What one extract did (becomes the asset's metadata and the integration_status row)."""

    extract_id: str
    source: str
    hotel_id: str
    mode: str
    records: int
    accepted: Accepted
    pages: int
    stats: HttpStats
    cursor: str | None
    raw_file: str
    quarantined: int = 0
    rooms: int = 0
    guests: int = 0
    #: records the vendor listed that are not bookings (waitlists, quotes, inquiries, stop-sells)
    skipped: int = 0
    skipped_by_reason: dict[str, int] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def metadata(self) -> dict[str, Any]:
        return {
            "extract_id": self.extract_id, "mode": self.mode, "records": self.records,
            "new": self.accepted.new, "changed": self.accepted.changed, "unchanged": self.accepted.unchanged,
            "stale": self.accepted.stale, "quarantined": self.quarantined, "skipped": self.skipped,
            "skipped_by_reason": "; ".join(f"{k}: {v}" for k, v in sorted(self.skipped_by_reason.items())),
            "pages": self.pages,
            "requests": self.stats.requests, "retries": self.stats.retries,
            "throttle_waits": self.stats.throttle_waits, "errors": self.stats.errors,
            "cursor": self.cursor or "", "raw_file": self.raw_file, "rooms": self.rooms, "guests": self.guests,
        }


def _naive(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(tzinfo=None)


def current_status(warehouse: Warehouse, hotel_id: str, source: str) -> dict[str, Any]:
    """The integration_status row of (hotel, source), or {} before the first sync."""
    if not warehouse.table_exists(INTEGRATION_STATUS.name):
        return {}
    rows = warehouse.query("SELECT * FROM integration_status WHERE hotel_id = :h AND source = :s",
                           {"h": hotel_id, "s": source})
    return rows.to_dicts()[0] if rows.height else {}


def plan_window(connector: PmsConnector, mode: str, now: datetime, cursor: str | None) -> Window:
    """The window an extract asks for. ``auto`` = full without a cursor, else incremental.

    Incremental re-reads ``cursor_overlap_minutes`` (default 10) before the cursor: changes stamped just before the
    previous extract's upper bound but published late are not missed (duplicates are harmless: unchanged).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    if mode == "auto":
        mode = "incremental" if cursor else "full"
    if mode == "incremental" and not cursor:
        mode = "full"
    tz = ZoneInfo(connector.hotel.timezone)
    today = now.astimezone(tz).date()
    if mode == "full":
        return Window("full", until=now)
    if mode == "incremental":
        since = datetime.fromisoformat(str(cursor))
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
        overlap = timedelta(minutes=float(connector.options.get("cursor_overlap_minutes", 10)))
        return Window("incremental", until=now, since=since - overlap)
    days = int(connector.options.get("reconcile_days", 7))
    return Window("reconcile", until=now, since=now - timedelta(days=days),
                  start_date=today - timedelta(days=days), end_date=today)


def run_extract(
    warehouse: Warehouse,
    connector: PmsConnector,
    *,
    now: datetime,
    mode: str = "auto",
    raw_root: Path | None = None,
    extract_id: str | None = None,
    limits: ImportLimits | None = None,
) -> ExtractResult:
    """Fetch, land raw, normalise and commit one extract of one hotel; raises a ``ConnectorError`` on failure.

    ``limits`` are the portfolio's ``import_limits`` (defaults if None); they go into the raw file's header, so a
    rebuild from the raw zone admits exactly the records this extract admitted."""
    with collector_paused():
        return _run_extract(warehouse, connector, now=now, mode=mode, raw_root=raw_root, extract_id=extract_id,
                            limits=limits)


def _run_extract(warehouse: Warehouse, connector: PmsConnector, *, now: datetime, mode: str, raw_root: Path | None,
                 extract_id: str | None, limits: ImportLimits | None) -> ExtractResult:
    raw_root = raw_root or settings.raw_dir()
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    ctx = connector.context()
    status = current_status(warehouse, ctx.hotel_id, ctx.source)
    window = plan_window(connector, mode, now, status.get("cursor"))
    extract_id = extract_id or f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{window.mode}-{uuid.uuid4().hex[:8]}"
    header = {
        "extract_id": extract_id, "source": ctx.source, "hotel_id": ctx.hotel_id, "mode": window.mode,
        "window": window.as_dict(), "started_at": now.astimezone(UTC).isoformat(),
        "context": connector.http.redact(ctx.as_dict()),  # options are non-secret; belt and braces
        "import_limits": limits_header(limits),
    }
    path = raw_path(raw_root, ctx.source, ctx.hotel_id, now.astimezone(UTC), extract_id)
    try:
        connector.login()
        connector.fetch(window)
    except ConnectorError as exc:
        message = str(connector.http.redact(str(exc)))
        write_raw(path, {**header, "complete": False, "error": message,
                         "pages": [p.as_dict() for p in connector.http.pages]}, [p.raw for p in connector.http.pages])
        record_failure(warehouse, connector.hotel.id, connector.source, now, message, connector.http.stats,
                       len(connector.http.pages))
        raise
    pages = [p.as_dict() for p in connector.http.pages]
    # The raw file is compressed (zlib lets go of the GIL) while the pages are normalised; apply_extract waits for
    # it before its transaction, so nothing commits unless the raw zone holds every page.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="raw-zone") as pool:
        landing = pool.submit(write_raw, path, {**header, "complete": True, "pages": pages},
                              [p.raw for p in connector.http.pages])
        return apply_extract(warehouse, header, pages, raw_file=str(path), stats=connector.http.stats, now=now,
                             move_cursor=window.mode in ("full", "incremental"), landing=landing)


def record_failure(warehouse: Warehouse, hotel_id: str, source: str, now: datetime, message: str,
                   stats: HttpStats | None = None, pages: int = 0) -> None:
    """Mark the (hotel, source) sync as failed in integration_status; the cursor and coverage stay where they were."""
    stats = stats or HttpStats()
    with warehouse.transaction() as tx:
        record_sync(tx, {
            "hotel_id": hotel_id, "source": source, "last_attempt_at": _naive(now),
            "last_status": "failed", "records_fetched": 0, "pages": pages,
            "retries": stats.retries, "throttle_waits": stats.throttle_waits, "errors": max(stats.errors, 1),
            "last_error": message[:500], "last_error_at": _naive(now),
        })


def limits_header(limits: ImportLimits | None) -> dict[str, Any]:
    """The ``import_limits`` of an extract as stored in its raw header."""
    return asdict(limits or ImportLimits())


def admitted_reservations(frame: pl.DataFrame, header: dict[str, Any], now: datetime) -> tuple[pl.DataFrame,
                                                                                              pl.DataFrame]:
    """(rows to commit, refused rows with ``_reason``) of one extract's normalised reservations.

    The normaliser's own rules (``validate_reservations``) first, then the same admission as the CSV import: every
    rule of the blocking reservations contract and the plausibility bounds of the header's ``import_limits`` around
    the hotel-local business date of the extract (``now``; a rebuild passes the extract's start, so it refuses the
    same records). A refused record never reaches ``reservation_versions``, so it cannot fail a later run.
    """
    good, bad = validate_reservations(frame)
    ctx = ExtractContext.from_dict(header["context"])
    limits = ImportLimits(**header.get("import_limits", {}))
    synced_at = _naive(now)
    admission = admit(good, limits, now.astimezone(ZoneInfo(ctx.timezone)).date(), synced_at)
    if not admission.refused:
        return good, bad
    reasons = pl.Series("_reason", ["; ".join(admission.refused.get(i, [])) or None for i in range(good.height)],
                        dtype=pl.String)
    refused = good.with_columns(reasons).filter(pl.col("_reason").is_not_null())
    return admission.admitted, pl.concat([bad, refused.select(bad.columns)], how="vertical_relaxed")


def sync_problems(stats: HttpStats, quarantined: int, extract_id: str) -> str | None:
    """What went wrong in a sync that still committed, for ``last_error``: the errors it retried past (with the last
    one's message) and the records it quarantined; None for a clean sync, which keeps the earlier error and its time."""
    parts = []
    if stats.errors:
        parts.append(f"{stats.errors} error(s) retried, the last: {stats.last_error or 'no detail'}")
    if quarantined:
        parts.append(f"{quarantined} records quarantined (quarantine batch {extract_id})")
    return "; ".join(parts)[:500] or None


def normalise_pages(header: dict[str, Any], pages: list[dict[str, Any]]) -> tuple[Normalised, ExtractContext]:
    ctx = ExtractContext.from_dict(header["context"])
    cls = connector_classes()[ctx.source]
    return cls.normalise(pages, ctx), ctx


def apply_extract(
    warehouse: Warehouse,
    header: dict[str, Any],
    pages: list[dict[str, Any]],
    *,
    raw_file: str,
    stats: HttpStats | None = None,
    now: datetime,
    move_cursor: bool,
    landing: Future[Path] | None = None,
) -> ExtractResult:
    """Normalise raw pages and commit them with the cursor in one transaction (used by extracts and by rebuild).

    Records the normaliser rejected, and rows admission refuses (``admitted_reservations``), go to ``quarantine`` (payload
    stripped of guest names, e-mails and phones; the raw zone keeps the original) while the rest commits; such a sync
    is ``partial`` in integration_status, with the count, so the 03:00 recorder can apply the hotel's policy.
    ``landing``: the raw file being written meanwhile; its failure is raised before anything commits."""
    normalised, ctx = normalise_pages(header, pages)
    good, bad = admitted_reservations(normalised.reservations, header, now)
    window = header["window"]
    until = datetime.fromisoformat(window["until"])
    synced_at = _naive(now)
    extract_id = header["extract_id"]
    rejects = [{"location": f"{ctx.source} extract {extract_id} {r.get('location') or 'record'}",
                "reason": str(r.get("reason")), "payload": quarantine_payload(r.get("payload"))}
               for r in normalised.rejects] + [
        {"location": f"{ctx.source} extract {extract_id} reservation {r['external_id']}", "reason": r["_reason"],
         "payload": json.dumps({k: str(v) for k, v in r.items() if k != "_reason"})}
        for r in bad.to_dicts()
    ]
    skipped = sum(normalised.skipped.values())
    stats = stats or HttpStats()
    tz = ZoneInfo(ctx.timezone)
    newest = normalised.newest_modified
    if landing is not None:
        landing.result()
    with warehouse.transaction() as tx:
        accepted = accept_reservations(tx, good, source_as_of=_naive(until), synced_at=synced_at, batch_id=extract_id)
        rooms = upsert(tx, ROOMS, normalised.rooms.with_columns(
            pl.lit(synced_at).alias("synced_at"), pl.lit(extract_id).alias("batch_id")))
        store_guests(tx, normalised.guests, synced_at)
        guests = upsert(tx, GUESTS, normalised.guests.with_columns(
            pl.lit(synced_at).alias("synced_at"), pl.lit(extract_id).alias("batch_id")))
        quarantined = quarantine_rows(tx, pl.DataFrame(
            [{"source": ctx.source, "hotel_id": ctx.hotel_id, "received_at": synced_at, **r} for r in rejects],
            schema={"source": pl.String, "hotel_id": pl.String, "received_at": pl.Datetime("us"),
                    "location": pl.String, "reason": pl.String, "payload": pl.String},
        ), batch_id=extract_id)
        sync: dict[str, Any] = {
            "hotel_id": ctx.hotel_id, "source": ctx.source, "last_attempt_at": synced_at,
            "last_success_at": synced_at, "last_status": "partial" if quarantined else "ok",
            "records_fetched": normalised.reservations.height, "quarantined": quarantined, "skipped": skipped,
            "pages": len(pages), "retries": stats.retries, "throttle_waits": stats.throttle_waits,
            "errors": stats.errors,
            "lag_seconds": (now - newest).total_seconds() if newest else None,
        }
        if problems := sync_problems(stats, quarantined, extract_id):
            sync.update(last_error=problems, last_error_at=synced_at)
        if move_cursor:
            sync["cursor"] = until.astimezone(UTC).isoformat()
            sync["covered_through"] = until.astimezone(tz).date() - timedelta(days=1)
        record_sync(tx, sync)
    return ExtractResult(
        extract_id=extract_id, source=ctx.source, hotel_id=ctx.hotel_id, mode=header["mode"],
        records=normalised.reservations.height, accepted=accepted, pages=len(pages), stats=stats,
        cursor=sync.get("cursor"), raw_file=raw_file, quarantined=quarantined, rooms=rooms, guests=guests,
        skipped=skipped, skipped_by_reason=dict(normalised.skipped),
    )


def rebuild_from_raw(warehouse: Warehouse, raw_root: Path | None = None, source: str | None = None,
                     hotel_id: str | None = None) -> list[ExtractResult]:
    """Replay every complete raw extract, oldest first, into ``warehouse`` (no API call). Incomplete ones are skipped:
    their data was never committed in the first place."""
    results = []
    with collector_paused():
        for path, doc in iter_raw(raw_root or settings.raw_dir(), source, hotel_id):
            if not doc.get("complete"):
                continue
            started = datetime.fromisoformat(doc["started_at"])
            results.append(apply_extract(warehouse, doc, doc["pages"], raw_file=str(path), now=started,
                                         move_cursor=doc["mode"] in ("full", "incremental")))
    return results
