"""Import one legacy CSV export, exactly once: a content ledger makes a re-delivered file a no-op.

One transaction holds everything a file changes: accepted reservation versions, its quarantine rows, its ledger
entry and the hotels' ``integration_status`` (the "cursor" of this source: covered_through). A crash anywhere leaves
none of it. A rejected file records a failed sync for the hotels it belongs to (so the 03:00 recorder skips them)
and raises ``FileRejected`` with the one clear message.
"""

from __future__ import annotations

import fnmatch
import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

from hotel_pipeline.core import settings
from hotel_pipeline.core.clock import Clock
from hotel_pipeline.core.portfolio import Portfolio
from hotel_pipeline.core.warehouse import Warehouse, spec
from hotel_pipeline.sources.csv.parsing import (
    CsvMapping,
    FileRejected,
    ParsedFile,
    as_of_from_name,
    parse_file,
    quarantine_frame,
)
from hotel_pipeline.sources.csv.row_digests import UnchangedRows, record_digests, unchanged_rows
from hotel_pipeline.unified import accept_reservations, quarantine_rows, record_sync

IMPORT_LEDGER = spec(
    "import_ledger",
    [
        ("file_sha256", "VARCHAR", "digest of the file's bytes: the identity of a delivery"),
        ("file_name", "VARCHAR", "name the file arrived under"),
        ("as_of_date", "DATE", "business date the export is as of"),
        ("hotel_ids", "VARCHAR", "hotels the file holds, comma-separated"),
        ("imported_at", "TIMESTAMP", "when it was processed (clock, UTC)"),
        ("outcome", "VARCHAR", "loaded, partly_quarantined (some rows in quarantine), rejected (the file as a whole) or "
                               "failed (the import stopped on an error; retried by the inbox sensor)"),
        ("reason", "VARCHAR", "why a file was rejected, or the error a failed import stopped on"),
        ("rows_read", "BIGINT", "data rows read"),
        ("rows_loaded", "BIGINT", "rows that passed validation or were unchanged (vouched for by csv_row_digests)"),
        ("rows_quarantined", "BIGINT", "rows sent to quarantine (read = loaded + quarantined)"),
        ("versions_new", "BIGINT", "reservations seen for the first time"),
        ("versions_changed", "BIGINT", "reservations whose content changed (new version)"),
        ("versions_unchanged", "BIGINT", "rows equal to the current version (by comparison, or by their row digest)"),
        ("versions_stale", "BIGINT", "rows older than the current version (ignored)"),
        ("raw_path", "VARCHAR", "copy of the file in the immutable raw zone"),
        ("attempts", "INTEGER", "imports of this content started so far (a failed one is retried up to max_attempts)"),
    ],
    primary_key=("file_sha256",),
    doc="One row per distinct file content delivered to the CSV inbox.",
    grain="file_sha256",
)


@dataclass
class ImportReport:
    file_name: str
    file_sha256: str
    outcome: str  # loaded | partly_quarantined | duplicate | rejected | failed
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    stale: int = 0
    as_of: str | None = None
    hotel_ids: list[str] = field(default_factory=list)
    reason: str | None = None

    def as_metadata(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


#: Outcomes after which a content is never imported again (a failed one is retried).
TERMINAL = ("loaded", "partly_quarantined", "rejected")
LOADED = ("loaded", "partly_quarantined")


class ImportFailed(RuntimeError):
    """The import of one file stopped on an unexpected error; it is recorded as failed and retried later."""


def display_name(name: str) -> str:
    """A file name as text the warehouse can store (undecodable bytes and control characters replaced)."""
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return "".join(c if c.isprintable() else "\ufffd" for c in text)


def file_digest(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def hotels_for_file(portfolio: Portfolio, file_name: str) -> list[str]:
    """Hotels whose csv source claims this file name (``file_glob``): who is charged when a file is rejected."""
    return [
        h.id for h in portfolio.hotels for s in h.sources
        if s.type == "csv" and fnmatch.fnmatch(file_name, str(s.option("file_glob", "*")))
    ]


def land_raw(payload: bytes, digest: str, file_name: str, hotel: str, day: str) -> Path:
    """Copy the delivery into the raw zone once (never rewritten): raw/csv/<hotel>/<yyyy>/<mm>/<dd>/<sha>-<name>."""
    yyyy, mm, dd = day.split("-")
    # File systems cap a name at 255 bytes: the digest identifies the copy, the name is kept only as a hint.
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in display_name(file_name))
    suffix = ".csv.gz" if safe.lower().endswith(".csv.gz") else ".csv"
    stem = safe[: -len(suffix)] if safe.lower().endswith(suffix) else safe
    target = settings.raw_dir() / "csv" / hotel / yyyy / mm / dd / f"{digest[:16]}-{stem[:80]}{suffix}"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".part")
        tmp.write_bytes(payload)
        tmp.replace(target)
    return target


def end_of_business_day(day, timezone: str) -> datetime:
    """An export as of business date E describes the state at the end of E (hotel-local), as naive UTC."""
    local = datetime.combine(day + timedelta(days=1), time(0), tzinfo=ZoneInfo(timezone))
    return local.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def import_file(warehouse: Warehouse, path: Path, portfolio: Portfolio, clock: Clock,
                mapping_name: str = "hotel_bookings", row_number_ids: bool = False) -> ImportReport:
    """Import one file (idempotent by content).

    Raises ``FileRejected`` for a file that is not an export of the layout (recorded ``rejected``) and
    ``ImportFailed`` for any other error (recorded ``failed`` with the error, the file's hotels marked failed, retried
    by the inbox sensor). ``row_number_ids`` is only for a complete history in a fixed row order (the data set).
    """
    name = display_name(path.name)
    limits = portfolio.import_limits
    now = clock.now_naive_utc()
    owners = hotels_for_file(portfolio, path.name)
    timezone = portfolio.hotel(owners[0]).timezone if owners else portfolio.hotels[0].timezone
    business_date = clock.business_date(timezone)
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        digest = f"oversize:{size}:{name}"
        reason = f"{name}: {size:,} bytes is larger than {limits.max_file_bytes:,} (import_limits max_file_bytes)"
        _record_rejection(warehouse, name, digest, reason, owners, now)
        raise FileRejected(reason)
    payload = path.read_bytes()
    digest = file_digest(payload)
    # One short transaction decides: a loaded content is a duplicate, anything else is claimed before the work.
    with warehouse.transaction() as tx:
        tx.ensure_table(IMPORT_LEDGER)
        seen = tx.query("SELECT as_of_date, hotel_ids, outcome, attempts, rows_quarantined FROM import_ledger "
                        "WHERE file_sha256 = :d", {"d": digest})
        previous = seen.row(0, named=True) if seen.height else None
        if previous and previous["outcome"] in LOADED:
            # Same content, nothing to load. But an unchanged export of a *later* business date still proves the
            # hotel's data is complete through that date, so the sync advances (else the recorder would skip a quiet
            # hotel).
            named = as_of_from_name(path.name)
            if named is not None and named > business_date:
                named = None  # an as-of date that has not happened proves nothing
            hotels = [h for h in (previous["hotel_ids"] or "").split(",") if h] or owners
            if named is not None and (previous["as_of_date"] is None or named > previous["as_of_date"]):
                for hotel_id in hotels:
                    # the same content is as partial as it was the first time
                    _mark_synced(tx, portfolio, hotel_id, named, digest, now, records=0,
                                 quarantined=int(previous["rows_quarantined"] or 0))
            return ImportReport(name, digest, "duplicate", as_of=named.isoformat() if named else None,
                                hotel_ids=hotels)
        attempts = int((previous or {}).get("attempts") or 0) + 1
        # The claim: committed before the work, so a process that dies half-way leaves a failed entry to retry.
        _write_ledger(tx, ImportReport(name, digest, "failed", hotel_ids=owners,
                                       reason=f"import started at {now} did not finish (the process stopped)"),
                      digest, now, None, attempts)
    try:
        return _import(warehouse, path.name, name, payload, digest, portfolio, clock, mapping_name, row_number_ids,
                       business_date, now, attempts)
    except FileRejected as exc:
        _record_rejection(warehouse, name, digest, str(exc), owners, now, attempts)
        raise
    except Exception as exc:  # noqa: BLE001 - any error of one file is recorded and reported, never lost
        reason = f"{name}: import failed: {type(exc).__name__}: {str(exc).splitlines()[0][:400] if str(exc) else ''}"
        _record_failure(warehouse, name, digest, reason, owners, now, attempts)
        raise ImportFailed(reason) from exc


def _import(warehouse: Warehouse, file_name: str, name: str, payload: bytes, digest: str, portfolio: Portfolio,
            clock: Clock, mapping_name: str, row_number_ids: bool, business_date: date, now: datetime,
            attempts: int) -> ImportReport:
    with warehouse.transaction() as tx:
        # Parsed inside the writing transaction: the stored digests that let unchanged rows skip the parse are read
        # as the full comparison would read the versions (see ``row_digests``).
        named = as_of_from_name(name)
        unchanged = None if row_number_ids or named is None else _vouched_by_digest(tx, portfolio, named)
        parsed = parse_file(payload, name, CsvMapping.from_portfolio(portfolio, mapping_name),
                            portfolio.import_limits, business_date, now, row_number_ids, unchanged)
        as_of = parsed.as_of or business_date
        raw_hotel = parsed.hotel_ids[0] if len(parsed.hotel_ids) == 1 else "mixed"
        raw_path = land_raw(payload, digest, file_name, raw_hotel, as_of.isoformat())
        outcome = "partly_quarantined" if parsed.quarantined else "loaded"
        report = ImportReport(name, digest, outcome, rows_read=parsed.rows_read,
                              rows_loaded=parsed.valid.height + parsed.unchanged.height,
                              rows_quarantined=len(parsed.quarantined), as_of=as_of.isoformat(),
                              hotel_ids=parsed.hotel_ids)
        held_back = quarantined_per_hotel(parsed, parsed.hotel_ids or hotels_for_file(portfolio, file_name))
        skipped = dict(parsed.unchanged.group_by("hotel_id").len().iter_rows())
        for hotel_id in parsed.hotel_ids:
            hotel = portfolio.hotel(hotel_id)
            rows = parsed.valid.filter(pl.col("hotel_id") == hotel_id).drop("_line")
            result = accept_reservations(
                tx, rows, source_as_of=end_of_business_day(as_of, hotel.timezone), synced_at=now, batch_id=digest
            )
            report.new += result.new
            report.changed += result.changed
            report.unchanged += result.unchanged + skipped.get(hotel_id, 0)
            report.stale += result.stale
            _mark_synced(tx, portfolio, hotel_id, as_of, digest, now, records=rows.height + skipped.get(hotel_id, 0),
                         quarantined=held_back.get(hotel_id, 0))
        if unchanged is not None:
            admitted = parsed.valid.select("_line", "hotel_id", "external_id").join(parsed.row_digests, on="_line")
            record_digests(tx, _with_source_as_of(admitted, portfolio, as_of), now)
        if not parsed.hotel_ids:
            # A header-only export is a valid "no bookings" delivery for the hotel(s) the file name belongs to (and a
            # file whose every row was quarantined is a partial one for them).
            report.hotel_ids = hotels_for_file(portfolio, file_name)
            for hotel_id in report.hotel_ids:
                _mark_synced(tx, portfolio, hotel_id, as_of, digest, now, records=0,
                             quarantined=held_back.get(hotel_id, 0))
        quarantine_rows(tx, quarantine_frame(parsed, name, now), batch_id=digest)
        _write_ledger(tx, report, digest, now, str(raw_path.relative_to(settings.data_dir())), attempts)
    return report


def _vouched_by_digest(tx, portfolio: Portfolio, as_of: date) -> UnchangedRows:
    """The rows of an export as of ``as_of`` that the stored digests vouch for (each hotel's export ends at the end
    of its own business day)."""
    vouched = unchanged_rows(tx)
    return lambda candidates: vouched(_with_source_as_of(candidates, portfolio, as_of))


def _with_source_as_of(frame: pl.DataFrame, portfolio: Portfolio, as_of: date) -> pl.DataFrame:
    """``frame`` with ``source_as_of``: the end of ``as_of`` in each row's hotel's own time zone (what an export as
    of that date vouches for; null for a hotel the portfolio does not know)."""
    ends = {h.id: end_of_business_day(as_of, h.timezone) for h in portfolio.hotels}
    return frame.with_columns(
        pl.col("hotel_id").replace_strict(ends, default=None, return_dtype=pl.Datetime("us")).alias("source_as_of"))


def quarantined_per_hotel(parsed: ParsedFile, hotel_ids: list[str]) -> dict[str, int]:
    """Per hotel of the file, the rows held back in quarantine that may be its own.

    A row whose hotel is known counts for that hotel; a row too broken to name its hotel (a wrong field count, an
    unknown hotel value) could belong to any hotel of the file, so it counts for each of them: the recorder must not
    photograph a hotel whose export may be missing a booking.
    """
    known = set(hotel_ids)
    unattributed = sum(1 for q in parsed.quarantined if q.get("hotel_id") not in known)
    counts = {h: unattributed for h in hotel_ids}
    for q in parsed.quarantined:
        if q.get("hotel_id") in known:
            counts[q["hotel_id"]] += 1
    return counts


def _mark_synced(tx, portfolio: Portfolio, hotel_id: str, as_of: date, digest: str, now: datetime,
                 records: int, quarantined: int = 0) -> None:
    """A successful csv sync of ``hotel_id`` through ``as_of`` (covered_through never moves backwards).

    A sync that held rows of the hotel back in quarantine is ``partial`` (the rest committed), as on the PMS path, so
    the 03:00 recorder applies the hotel's ``partial_sync`` policy instead of trusting an incomplete export."""
    hotel = portfolio.hotel(hotel_id)
    previous = tx.query(
        "SELECT covered_through FROM integration_status WHERE hotel_id = :h AND source = 'csv'", {"h": hotel_id}
    ) if tx.table_exists("integration_status") else pl.DataFrame()
    covered = max([as_of] + [d for d in (previous["covered_through"].to_list() if previous.height else []) if d])
    record_sync(tx, {
        "hotel_id": hotel_id, "source": "csv", "last_attempt_at": now, "last_success_at": now,
        "last_status": "partial" if quarantined else "ok", "covered_through": covered,
        "cursor": f"{as_of.isoformat()}:{digest[:16]}", "records_fetched": records, "quarantined": quarantined,
        "pages": 1, "retries": 0, "throttle_waits": 0, "errors": 0,
        # A clean import keeps the latest error and its time; one with quarantined rows names their batch.
        **({"last_error": f"{quarantined} rows quarantined (quarantine batch {digest})", "last_error_at": now}
           if quarantined else {}),
        "lag_seconds": (now - end_of_business_day(as_of, hotel.timezone)).total_seconds(),
    })


def _write_ledger(tx, report: ImportReport, digest: str, now: datetime, raw_path: str | None,
                  attempts: int = 1) -> None:
    tx.ensure_table(IMPORT_LEDGER)
    tx.execute("DELETE FROM import_ledger WHERE file_sha256 = :d", {"d": digest})
    tx.insert_frame("import_ledger", IMPORT_LEDGER.conform(pl.DataFrame([{
        "file_sha256": digest, "file_name": report.file_name,
        "as_of_date": date.fromisoformat(report.as_of) if report.as_of else None,
        "hotel_ids": ",".join(report.hotel_ids), "imported_at": now,
        "outcome": report.outcome, "reason": report.reason,
        "rows_read": report.rows_read, "rows_loaded": report.rows_loaded, "rows_quarantined": report.rows_quarantined,
        "versions_new": report.new, "versions_changed": report.changed, "versions_unchanged": report.unchanged,
        "versions_stale": report.stale, "raw_path": raw_path, "attempts": attempts,
    }], infer_schema_length=None)))


def _record_outcome(warehouse: Warehouse, outcome: str, name: str, digest: str, reason: str, hotel_ids: list[str],
                    now: datetime, attempts: int) -> None:
    """A file that loaded nothing: its ledger entry and a failed sync for the hotels it belongs to."""
    report = ImportReport(name, digest, outcome, reason=reason, hotel_ids=hotel_ids)
    with warehouse.transaction() as tx:
        _write_ledger(tx, report, digest, now, None, attempts)
        for hotel_id in hotel_ids:
            record_sync(tx, {"hotel_id": hotel_id, "source": "csv", "last_attempt_at": now, "last_status": "failed",
                             "errors": 1, "last_error": reason[:500], "last_error_at": now})


def _record_rejection(warehouse: Warehouse, name: str, digest: str, reason: str, hotel_ids: list[str],
                      now: datetime, attempts: int = 1) -> None:
    _record_outcome(warehouse, "rejected", name, digest, reason, hotel_ids, now, attempts)


def _record_failure(warehouse: Warehouse, name: str, digest: str, reason: str, hotel_ids: list[str],
                    now: datetime, attempts: int) -> None:
    _record_outcome(warehouse, "failed", name, digest, reason, hotel_ids, now, attempts)


def failed_imports(warehouse: Warehouse, max_attempts: int) -> list[tuple[str, str, int]]:
    """(file name, digest, attempts) of every failed import that may be retried, oldest first."""
    if not warehouse.table_exists(IMPORT_LEDGER.name):
        return []
    rows = warehouse.query(
        "SELECT file_name, file_sha256, attempts FROM import_ledger WHERE outcome = 'failed' "
        "AND COALESCE(attempts, 1) < :max ORDER BY imported_at, file_name", {"max": max_attempts},
    )
    return [(n, d, int(a or 1)) for n, d, a in rows.iter_rows()]
