"""Row digests of the legacy CSV import: an unchanged row of a full-state export is recognised before it is parsed.

A legacy PMS drops its whole book every night, so almost every row of tonight's export is the row it sent last night.
Parsing, validating and comparing every one of them again is most of an import's cost, for rows that cannot change
anything. So for every booking the import has admitted, ``csv_row_digests`` keeps a digest of the raw row that
produced (or was found equal to) its current version. On the next export a row is *unchanged*, and skips the parse,
the validation and the comparison, only when all of these hold:

- its booking id appears once in the file and its hotel value names a hotel of the portfolio;
- its digest equals the stored one, and the stored one was taken at the booking's current version (a newer version
  written since, by any path, makes the digest stale and the row is imported in full);
- the current version is not newer than this export (else the row is *stale* and the full path says so).

Everything else (new rows, changed rows, rows the digest cannot vouch for) goes through exactly the path it always
did. The digest covers the row's mapped columns, the hotel's currency and a fingerprint of the rules that decide a
row's fate (the parsing, admission and contract code, the import limits, the polars version, whose hash it uses):
change any of them and every row is imported in full once, which refreshes the digests.

What the skip does not repeat is the admission of an already admitted booking against tonight's moving window
(``import_limits`` past_days/future_days around the business date): a booking on the books stays there.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Callable
from datetime import datetime
from functools import cache
from pathlib import Path

import polars as pl

from hotel_pipeline.core.portfolio import ImportLimits
from hotel_pipeline.core.warehouse import Tx, spec
from hotel_pipeline.unified import hotel_bounds

CSV_ROW_DIGESTS = spec(
    "csv_row_digests",
    [
        ("hotel_id", "VARCHAR", "portfolio hotel id"),
        ("external_id", "VARCHAR", "the export's booking id"),
        ("row_digest", "BIGINT", "64-bit hash of the raw row (mapped columns, currency, import rules)"),
        ("version", "INTEGER", "the reservation version the row produced or was found equal to"),
        ("digested_at", "TIMESTAMP", "when the digest was taken (clock, UTC)"),
    ],
    primary_key=("hotel_id", "external_id"),
    doc="Per CSV booking, the digest of the raw row behind its current version: lets an unchanged row of the next "
        "full-state export skip parsing and validation.",
    grain="(hotel_id, external_id)",
)

#: Modules whose code decides what a raw row becomes (a change to any of them invalidates every digest).
_RULE_MODULES = (
    "hotel_pipeline.sources.csv.parsing",
    "hotel_pipeline.sources.csv.dataset",
    "hotel_pipeline.sources.csv.row_digests",
    "hotel_pipeline.unified",
    "hotel_pipeline.unified.admission",
    "hotel_pipeline.core.schemas.reservations",
    "hotel_pipeline.core.schemas.from_table",
    "hotel_pipeline.core.schemas.validation",
    "hotel_pipeline.core.vocabularies",
    "hotel_pipeline.core.reservation_table",
    "hotel_pipeline.core.warehouse.tables",
)
#: Unit separator: no field that reaches the digest holds it (control characters quarantine a row first).
_SEP = "\x1f"
_NULL = "\x1e"
UnchangedRows = Callable[[pl.DataFrame], pl.DataFrame]


@cache
def rules_fingerprint() -> str:
    """Digest of the code that parses, admits and compares a row, and of the polars version that hashes it."""
    h = hashlib.sha256(pl.__version__.encode())
    for name in _RULE_MODULES:
        origin = importlib.util.find_spec(name).origin
        h.update(Path(origin).read_bytes())
    return h.hexdigest()[:16]


def digest_expr(columns: list[str], currency: pl.Expr, limits: ImportLimits) -> pl.Expr:
    """The Int64 digest of each row's raw ``columns`` (in that order), its hotel's currency and the rules in force."""
    salt = f"{rules_fingerprint()}|{limits!r}"
    parts = [pl.lit(salt), currency.fill_null(_NULL), *(pl.col(c).fill_null(_NULL) for c in columns)]
    return pl.concat_str(parts, separator=_SEP).hash(seed=0).reinterpret(signed=True).alias("row_digest")


def _current(keys: str) -> str:
    """Current version and its source_as_of of the csv reservations named in temp table ``keys``; the bound on the
    hotel (``:hotel_first`` .. ``:hotel_last``, redundant with the join) lets the engine read only those hotels'
    versions, so a file costs the same at 1 or 1,000 hotels."""
    return (
        "SELECT v.hotel_id, v.external_id, MAX(v.version) AS version, MAX(v.source_as_of) AS source_as_of "  # noqa: S608
        f"FROM reservation_versions v JOIN {keys} k ON k.hotel_id = v.hotel_id AND k.external_id = v.external_id "
        "WHERE v.source = 'csv' AND v.hotel_id BETWEEN :hotel_first AND :hotel_last "
        "GROUP BY v.hotel_id, v.external_id"
    )


def unchanged_rows(tx: Tx) -> UnchangedRows:
    """For a transaction: a function from candidate rows (hotel_id, external_id, row_digest, source_as_of) to those
    the stored digests vouch for (hotel_id, external_id). Read inside the import's own transaction, so a version
    another import commits first is seen exactly as the full comparison would see it."""

    def vouched(candidates: pl.DataFrame) -> pl.DataFrame:
        empty = pl.DataFrame(schema={"hotel_id": pl.String, "external_id": pl.String})
        if candidates.height == 0 or not tx.table_exists(CSV_ROW_DIGESTS.name) \
                or not tx.table_exists("reservation_versions"):
            return empty
        tx.temp_table("_csv_digest_candidates", candidates.select(
            "hotel_id", "external_id", "row_digest", pl.col("source_as_of").cast(pl.Datetime("us"))))
        return tx.query(
            f"SELECT k.hotel_id, k.external_id FROM _csv_digest_candidates k "  # noqa: S608
            f"JOIN {CSV_ROW_DIGESTS.name} d ON d.hotel_id = k.hotel_id AND d.external_id = k.external_id "
            "AND d.row_digest = k.row_digest "
            f"JOIN ({_current('_csv_digest_candidates')}) c ON c.hotel_id = k.hotel_id "
            "AND c.external_id = k.external_id AND c.version = d.version AND c.source_as_of <= k.source_as_of "
            "WHERE d.hotel_id BETWEEN :hotel_first AND :hotel_last", hotel_bounds(candidates),
        ).select(pl.col("hotel_id").cast(pl.String), pl.col("external_id").cast(pl.String))

    return vouched


def record_digests(tx: Tx, rows: pl.DataFrame, now: datetime) -> int:
    """After ``accept_reservations``: store the digests of the admitted ``rows`` (hotel_id, external_id, row_digest,
    source_as_of) at their bookings' current version, except where that version is newer than the row (stale)."""
    tx.ensure_table(CSV_ROW_DIGESTS)
    if rows.height == 0:
        return 0
    tx.temp_table("_csv_digest_rows", rows.select(
        "hotel_id", "external_id", "row_digest", pl.col("source_as_of").cast(pl.Datetime("us"))))
    fresh = tx.query(
        "SELECT r.hotel_id, r.external_id, r.row_digest, c.version FROM _csv_digest_rows r "  # noqa: S608
        f"JOIN ({_current('_csv_digest_rows')}) c ON c.hotel_id = r.hotel_id AND c.external_id = r.external_id "
        "WHERE c.source_as_of <= r.source_as_of", hotel_bounds(rows),
    )
    if fresh.height == 0:
        return 0
    fresh = fresh.with_columns(pl.lit(now).cast(pl.Datetime("us")).alias("digested_at"))
    tx.temp_table("_csv_digest_fresh", CSV_ROW_DIGESTS.conform(fresh))
    tx.execute(f"DELETE FROM {CSV_ROW_DIGESTS.name} WHERE hotel_id BETWEEN :hotel_first AND :hotel_last "  # noqa: S608
               "AND EXISTS (SELECT 1 FROM _csv_digest_fresh f WHERE f.hotel_id = "
               f"{CSV_ROW_DIGESTS.name}.hotel_id AND f.external_id = {CSV_ROW_DIGESTS.name}.external_id)",
               hotel_bounds(fresh))
    return tx.insert_frame(CSV_ROW_DIGESTS.name, CSV_ROW_DIGESTS.conform(fresh))
