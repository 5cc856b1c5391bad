"""Legacy CSV exports to the unified model: decode, split, map by a configurable column mapping, validate with pandera.

Two kinds of failure, kept apart on purpose:
- the *file* is not a CSV of the expected layout (empty, not UTF-8, wrong delimiter, missing or duplicated columns,
  broken quoting, bad gzip): ``FileRejected`` with one clear message, and nothing of it loads;
- a *row* is wrong (bad date, negative nights, unknown hotel, wrong field count, huge field ...): it goes to the
  quarantine with its line and reason, and the other rows load. ``rows_read = rows_valid + rows_quarantined`` always.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pandera.polars as pa
import polars as pl
from pandera.errors import SchemaErrors

from hotel_pipeline.core.portfolio import ImportLimits, Portfolio
from hotel_pipeline.core.vocabularies import DINNER_PLANS, OFF_THE_BOOKS
from hotel_pipeline.sources.csv.dataset import HOTEL_BOOKINGS_COLUMNS, MEAL_PLANS, MONTHS, stay_expressions
from hotel_pipeline.sources.csv.row_digests import UnchangedRows, digest_expr
from hotel_pipeline.unified.admission import admit

#: Columns a layout must provide (canonical names); the rest of the hotel_bookings columns are optional.
REQUIRED_COLUMNS = [
    "hotel", "is_canceled", "lead_time", "arrival_date_year", "arrival_date_month", "arrival_date_day_of_month",
    "stays_in_weekend_nights", "stays_in_week_nights", "adults", "children", "babies", "meal",
    "distribution_channel", "reserved_room_type", "adr", "reservation_status", "reservation_status_date",
]
#: Longest field a row may carry; a longer one is a corrupt row, not data.
MAX_FIELD_CHARS = 1000
_AS_OF_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})")
#: Control characters no export field carries (a NUL cannot even be stored in a Postgres text column).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: Arrival years the date arithmetic accepts; anything else is "not a date" (the plausibility window is far tighter).
YEAR_RANGE = (1, 9999)
#: Values that look like a guest's e-mail or phone number, kept out of the quarantine whatever column they sit in.
_EMAIL = re.compile(r"[^@\s\"',;]+@[^@\s\"',;]+\.[A-Za-z]{2,}")
_PHONE = re.compile(r"(?:\+|\b00)?\d(?:[\s().-]?\d){8,}")
BOOKING_ID = "booking_ref"


class FileRejected(ValueError):
    """The file as a whole is not a CSV of the expected layout; nothing of it is loaded."""


@dataclass(frozen=True)
class CsvMapping:
    """How one legacy layout names the canonical hotel_bookings columns, and which hotel each hotel value means."""

    name: str
    columns: dict[str, str]
    delimiter: str
    hotel_values: dict[str, str]
    currencies: dict[str, str]

    @classmethod
    def from_portfolio(cls, portfolio: Portfolio, name: str = "hotel_bookings") -> CsvMapping:
        raw = portfolio.csv_mappings.get(name, {}) if name in portfolio.csv_mappings else {}
        if name != "hotel_bookings" and not raw:
            raise FileRejected(f"no csv mapping named {name!r} in the portfolio")
        hotel_values = {}
        for hotel in portfolio.hotels:
            for src in hotel.sources:
                if src.type == "csv" and src.option("mapping", "hotel_bookings") == name:
                    hotel_values[str(src.option("hotel_value", hotel.name))] = hotel.id
        return cls(
            name=name,
            columns=dict(raw.get("columns") or {}),
            delimiter=str(raw.get("delimiter", ",")),
            hotel_values=hotel_values,
            currencies={h.id: h.currency for h in portfolio.hotels},
        )


class CsvBookingRow(pa.DataFrameModel):
    """Hard validation of one mapped row: a failure quarantines the row."""

    hotel_id: str = pa.Field(nullable=False)
    arrival_date: date = pa.Field(nullable=False)
    nights: int = pa.Field(nullable=False, ge=0)
    lead_time: int = pa.Field(nullable=False, ge=0)
    booked_on: date = pa.Field(nullable=False)
    status: str = pa.Field(nullable=False)
    status_date: date = pa.Field(nullable=False)
    adults: int = pa.Field(nullable=False, ge=0)
    children: int = pa.Field(nullable=True, ge=0)
    babies: int = pa.Field(nullable=False, ge=0)
    adr: float = pa.Field(nullable=False)
    is_canceled: int = pa.Field(nullable=False, isin=[0, 1])
    canceled_matches_status: bool = pa.Field(nullable=False, isin=[True])

    class Config:
        strict = False
        coerce = False


#: A readable reason per failed (column, check).
_REASONS = {
    "hotel_id": "unknown hotel {raw[hotel]!r}",
    "arrival_date": "arrival date {raw[arrival_date_year]}-{raw[arrival_date_month]}-{raw[arrival_date_day_of_month]} is not a date",
    "nights": "nights must be a whole number >= 0 (weekend {raw[stays_in_weekend_nights]!r}, week {raw[stays_in_week_nights]!r})",
    "lead_time": "lead_time {raw[lead_time]!r} must be a whole number >= 0",
    "booked_on": "booking date (arrival - lead_time) cannot be computed",
    "status": "unknown reservation_status {raw[reservation_status]!r}",
    "status_date": "reservation_status_date {raw[reservation_status_date]!r} is not a YYYY-MM-DD date",
    "adults": "adults {raw[adults]!r} must be a whole number >= 0",
    "children": "children {raw[children]!r} must be a whole number >= 0 or NA",
    "babies": "babies {raw[babies]!r} must be a whole number >= 0",
    "adr": "adr {raw[adr]!r} is not a number",
    "is_canceled": "is_canceled {raw[is_canceled]!r} must be 0 or 1",
    "canceled_matches_status": "is_canceled {raw[is_canceled]!r} contradicts reservation_status {raw[reservation_status]!r}",
}


@dataclass
class ParsedFile:
    """The outcome of parsing one file: valid unified rows, quarantined rows, and the counts that reconcile."""

    valid: pl.DataFrame
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    rows_read: int = 0
    as_of: date | None = None
    hotel_ids: list[str] = field(default_factory=list)
    #: rows the stored digests vouch for (hotel_id, external_id): unchanged, neither parsed nor validated again
    unchanged: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=_KEYS))
    #: the digest of every other row whose booking could be identified (_line, row_digest)
    row_digests: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=_LINE_DIGESTS))


_KEYS = {"hotel_id": pl.String, "external_id": pl.String}
_LINE_DIGESTS = {"_line": pl.Int64, "row_digest": pl.Int64}


def decode(payload: bytes, name: str, max_bytes: int = ImportLimits.max_file_bytes) -> str:
    """Bytes to text: gunzip if compressed (never past ``max_bytes``), UTF-8 (a BOM is accepted), else a rejection."""
    if payload[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(payload)) as packed:
                payload = packed.read(max_bytes + 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise FileRejected(f"{name}: not a valid gzip file ({exc})") from exc
    if len(payload) > max_bytes:
        raise FileRejected(f"{name}: larger than {max_bytes:,} bytes once decompressed (import_limits max_file_bytes)")
    if not payload.strip():
        raise FileRejected(f"{name}: empty file")
    try:
        return payload.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = payload[: exc.start].count(b"\n") + 1
        raise FileRejected(
            f"{name}: not UTF-8 text (byte 0x{payload[exc.start]:02x} on line {line}); re-export as UTF-8"
        ) from exc


def _header(header: list[str], mapping: CsvMapping, name: str) -> dict[str, int]:
    cleaned = [h.strip() for h in header]
    if len(cleaned) == 1:
        for other in (";", "\t", "|"):
            if other != mapping.delimiter and other in cleaned[0]:
                raise FileRejected(
                    f"{name}: wrong delimiter: expected {mapping.delimiter!r} but the header is {other!r}-separated"
                )
    duplicates = sorted({h for h in cleaned if cleaned.count(h) > 1})
    if duplicates:
        raise FileRejected(f"{name}: duplicated column names {duplicates}")
    positions = {h: i for i, h in enumerate(cleaned)}
    resolved: dict[str, int] = {}
    for canonical in HOTEL_BOOKINGS_COLUMNS + ["booking_ref"]:
        column = mapping.columns.get(canonical, canonical)
        if column in positions:
            resolved[canonical] = positions[column]
    missing = [c for c in REQUIRED_COLUMNS if c not in resolved]
    if missing:
        shown = [mapping.columns.get(c, c) for c in missing]
        raise FileRejected(f"{name}: not the {mapping.name!r} layout: missing columns {shown}")
    return resolved


def _fast_split(text: str, header: list[str], wanted: list[tuple[str, int]],
                mapping: CsvMapping) -> tuple[pl.DataFrame, list[dict[str, Any]], int] | None:
    """The common case at polars speed: one record per physical line, every row well formed.

    Returns None whenever exact line numbers or row-level problems need the careful path (CR line ends, blank lines,
    quoted newlines, ragged rows, over-long fields, a repeated header): that path gives the same answer, slower.
    """
    if "\r" in text or not text.endswith("\n") or _CONTROL.search(text):
        return None
    physical = text.count("\n") + (0 if text.endswith("\n") else 1)
    try:
        frame = pl.read_csv(text.encode("utf-8"), separator=mapping.delimiter, has_header=True, infer_schema=False,
                            quote_char='"', empty_string_is_null=False, raise_if_empty=True)
    except Exception:  # noqa: BLE001 - any parse trouble means "use the careful path", which names the problem
        return None
    if frame.height != physical - 1 or frame.columns != header:
        return None
    # polars pads short rows and a quoted delimiter hides in a count: only lines with exactly width-1 separators pass.
    lines = pl.Series(text.split("\n"))
    lines = lines.filter(lines.str.strip_chars() != "")
    if (lines.str.count_matches(mapping.delimiter, literal=True) != len(header) - 1).any():
        return None
    stripped = frame.select(pl.all().str.strip_chars())
    too_long = pl.any_horizontal(pl.col(c).str.len_chars() > MAX_FIELD_CHARS for c in frame.columns)
    repeated = pl.all_horizontal(pl.col(c) == c.strip() for c in frame.columns)
    if stripped.select((too_long | repeated).any()).item():
        return None
    # Every physical line is one row here, so the line number is the row position; blank lines are not rows.
    blank = pl.all_horizontal(pl.col(c) == "" for c in frame.columns)
    out = stripped.with_row_index("_pos").with_columns((pl.col("_pos").cast(pl.Int64) + 2).alias("_line"))
    out = out.filter(~blank).with_row_index("_record", 1).with_columns(pl.col("_record").cast(pl.Int64))
    return out.select([pl.col(header[i]).alias(c) for c, i in wanted] + ["_line", "_record"]), [], out.height


def split_rows(text: str, mapping: CsvMapping, name: str) -> tuple[pl.DataFrame, list[dict[str, Any]], int]:
    """CSV text to a frame of canonical string columns (+ _line, _record); malformed rows go to the quarantine list."""
    csv.field_size_limit(64 * 1024 * 1024)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=mapping.delimiter, strict=True)
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise FileRejected(f"{name}: no header row ({exc})") from exc
    columns = _header(header, mapping, name)
    width = len(header)
    wanted = list(columns.items())
    if fast := _fast_split(text, header, wanted, mapping):
        return fast
    rows: list[list[str]] = []
    lines: list[int] = []
    records: list[int] = []
    quarantined: list[dict[str, Any]] = []
    record = 0
    read = 0
    ends_with_newline = text.endswith(("\n", "\r"))
    last_line = text.count("\n") + (0 if ends_with_newline else 1)
    try:
        start_line = reader.line_num + 1
        for fields in reader:
            line = start_line
            start_line = reader.line_num + 1
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue  # blank line: not a row
            record += 1
            read += 1
            reason = None
            if [f.strip() for f in fields] == [h.strip() for h in header]:
                reason = "the header row is repeated inside the data"
            elif len(fields) != width:
                reason = f"expected {width} fields, got {len(fields)}"
            else:
                long = next((i for i, f in enumerate(fields) if len(f) > MAX_FIELD_CHARS), None)
                control = next((i for i, f in enumerate(fields) if _CONTROL.search(f)), None)
                if long is not None:
                    reason = f"field {header[long].strip()!r} is {len(fields[long]):,} characters long (limit {MAX_FIELD_CHARS})"
                elif control is not None:
                    char = _CONTROL.search(fields[control]).group(0)
                    reason = f"field {header[control].strip()!r} holds the control character U+{ord(char):04X}"
                elif reader.line_num == last_line and not ends_with_newline:
                    reason = "the file ends inside this row (no line break after it): the row may be cut short"
            if reason:
                quarantined.append({"line": line, "reason": reason, "payload": _payload(columns, fields, width)})
                continue
            rows.append([fields[i].strip() for _, i in wanted])
            lines.append(line)
            records.append(record)
    except csv.Error as exc:
        # The record that broke starts at start_line (an unclosed quote runs on to the end of the file).
        raise FileRejected(f"{name}: malformed CSV at line {start_line}: {exc}") from exc
    frame = pl.DataFrame(rows, schema={c: pl.String for c, _ in wanted}, orient="row") if rows else pl.DataFrame(
        schema={c: pl.String for c, _ in wanted}
    )
    frame = frame.with_columns(pl.Series("_line", lines, dtype=pl.Int64), pl.Series("_record", records, dtype=pl.Int64))
    return frame, quarantined, read


def scrub(value: str | None) -> str | None:
    """A raw value for the quarantine: nothing shaped like an e-mail or a phone number, no control characters."""
    if not value:
        return value
    clean = _PHONE.sub("<redacted>", _EMAIL.sub("<redacted>", value))
    return _CONTROL.sub("\ufffd", clean)[:MAX_FIELD_CHARS]


def _payload(columns: dict[str, int], fields: list[str], width: int) -> dict[str, Any]:
    """What the quarantine keeps of a malformed row: the layout's own columns only, scrubbed (never a column the
    layout does not know: that is where names and contacts live). A row with the wrong number of fields keeps no
    value at all, since its values no longer sit under their columns (a name could land under ``hotel``)."""
    if len(fields) != width:
        return {"_fields": len(fields)}
    kept: dict[str, Any] = {c: scrub(fields[i]) for c, i in columns.items()}
    kept["_fields"] = len(fields)
    return kept


def _int(col: str) -> pl.Expr:
    return pl.col(col).cast(pl.Int32, strict=False)


def _arrival_day_exists() -> pl.Expr:
    """True where (year, month, day) is a calendar date: ``pl.date`` raises on e.g. February 30 instead of nulling."""
    month = pl.col("arrival_date_month").str.strip_chars().replace_strict(
        {m: i + 1 for i, m in enumerate(MONTHS)}, default=None, return_dtype=pl.Int32
    )
    day = _int("arrival_date_day_of_month")
    last = pl.date(pl.col("arrival_date_year").str.strip_chars().cast(pl.Int32, strict=False), month, 1).dt.month_end()
    return (day >= 1) & (day <= last.dt.day())


def map_rows(frame: pl.DataFrame, mapping: CsvMapping) -> pl.DataFrame:
    """Canonical string columns to typed fields (nulls where a value does not parse, for validation to catch)."""
    status = stay_expressions(strict=False)
    day, year = "arrival_date_day_of_month", "arrival_date_year"
    # A year the date arithmetic cannot hold and an impossible day become null for the arithmetic only (the raw
    # values stay for the quarantine reason): year 999999999 must quarantine a row, not stop the file.
    in_range = _int(year).is_between(*YEAR_RANGE)
    typed = frame.with_columns(pl.when(in_range).then(pl.col(year)).alias(year))
    typed = typed.with_columns(pl.when(_arrival_day_exists()).then(pl.col(day)).alias(day)).with_columns(
        pl.col("hotel").replace_strict(mapping.hotel_values, default=None, return_dtype=pl.String).alias("hotel_id"),
        *status,
        _int("lead_time").alias("lead_time_int"),
        _int("adults").alias("adults_int"),
        pl.when(pl.col("children").is_in(["NA", ""])).then(None).otherwise(_int("children")).alias("children_int"),
        pl.when(pl.col("children").is_in(["NA", ""])).then(False).otherwise(_int("children").is_null()).alias("_children_bad"),
        _int("babies").alias("babies_int"),
        pl.col("adr").cast(pl.Float64, strict=False).alias("adr_num"),
        _int("is_canceled").alias("is_canceled_int"),
    ).with_columns(frame.get_column(day), frame.get_column(year))
    return typed.with_columns(
        (
            (pl.col("is_canceled_int") == 1) == pl.col("status").is_in(OFF_THE_BOOKS)
        ).fill_null(False).alias("canceled_matches_status"),
    )


def validate(typed: pl.DataFrame) -> tuple[pl.DataFrame, dict[int, list[str]]]:
    """Run the pandera row model; returns the frame and, per failing row position, the failed columns."""
    # Each part of the stay must be >= 0 itself: 4 weekend + -3 week nights is not a 1-night stay.
    part_negative = (_int("stays_in_weekend_nights") < 0) | (_int("stays_in_week_nights") < 0)
    check = typed.select(
        "hotel_id", "arrival_date", "booked_on", "status", "status_date", "canceled_matches_status",
        pl.when(part_negative).then(-1).otherwise(pl.col("nights")).alias("nights"),
        pl.col("lead_time_int").alias("lead_time"),
        pl.col("adults_int").alias("adults"),
        pl.when(pl.col("_children_bad")).then(-1).otherwise(pl.col("children_int")).alias("children"),
        pl.col("babies_int").alias("babies"),
        pl.col("adr_num").alias("adr"),
        pl.col("is_canceled_int").alias("is_canceled"),
    ).with_columns(pl.col(c).cast(pl.Int64) for c in ["nights", "lead_time", "adults", "children", "babies", "is_canceled"])
    failures: dict[int, list[str]] = {}
    try:
        CsvBookingRow.validate(check, lazy=True)
    except SchemaErrors as exc:
        cases = exc.failure_cases.filter(pl.col("index").is_not_null())
        for idx, column in cases.select("index", "column").unique().sort("index", "column").iter_rows():
            failures.setdefault(int(idx), []).append(str(column))
    return typed, failures


def as_of_from_name(name: str) -> date | None:
    """The as-of date a file name carries (``..._asof_2016-07-17.csv``), if any."""
    found = _AS_OF_IN_NAME.findall(name)
    if not found:
        return None
    try:
        return date.fromisoformat(found[-1])
    except ValueError as exc:
        raise FileRejected(f"{name}: the as-of date {found[-1]!r} in the file name is not a date") from exc


def as_of_date(name: str, typed: pl.DataFrame) -> date | None:
    """The business date an export is "as of": from its file name (``..._asof_2016-07-17.csv``), else its newest event."""
    if (named := as_of_from_name(name)) is not None:
        return named
    if typed.height == 0:
        return None
    latest = typed.select(pl.max_horizontal(pl.col("booked_on").max(), pl.col("status_date").max())).item()
    return latest


def to_unified(typed: pl.DataFrame, mapping: CsvMapping, row_number_ids: bool = False) -> pl.DataFrame:
    """Valid typed rows in the unified reservation shape (source ``csv``).

    The reservation id is the export's ``booking_ref``; only ``row_number_ids`` (a complete history in a fixed row
    order, such as the bundled data set) uses the data-row number instead.
    """
    meal = pl.col("meal").replace_strict(MEAL_PLANS, default="unknown", return_dtype=pl.String)
    ext = pl.col("_record").cast(pl.String) if row_number_ids else pl.col(BOOKING_ID)
    return typed.select(
        "hotel_id",
        pl.lit("csv").alias("source"),
        ext.alias("external_id"),
        "status", "booked_on", "cancelled_on", "checked_out_on", "arrival_date", "departure_date", "nights",
        pl.col("reserved_room_type").alias("room_type"),
        pl.lit(None, dtype=pl.String).alias("room_number"),
        pl.lit(None, dtype=pl.String).alias("guest_token"),
        pl.col("adults_int").alias("adults"),
        pl.col("children_int").alias("children"),
        pl.col("babies_int").alias("babies"),
        meal.alias("meal_plan"),
        meal.is_in(DINNER_PLANS).alias("is_dbb"),
        pl.lit(False).alias("is_package"),
        (pl.col("adr_num") * pl.col("nights")).round(2).alias("net_amount"),
        pl.lit(None, dtype=pl.Float64).alias("gross_amount"),
        pl.col("hotel_id").replace_strict(mapping.currencies, default=None, return_dtype=pl.String).alias("currency"),
        pl.col("distribution_channel").alias("channel"),
        "_line",
    )


def _raw(row: dict[str, Any], columns: list[str]) -> dict[str, Any]:
    return {c: scrub(row.get(c)) for c in columns}


def split_by_booking_id(frame: pl.DataFrame, mapping: CsvMapping) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    """Rows whose booking id is usable, and the quarantine entries of the others.

    A blank id cannot be told from another booking. Two rows with the same id and different content cannot both be
    the booking: neither is loaded (keeping "the last one" would silently drop the other). An exact repeat loads once.
    """
    raw_cols = [c for c in frame.columns if not c.startswith("_")]
    content = [c for c in raw_cols if c != BOOKING_ID]
    quarantined: list[dict[str, Any]] = []
    hotel = lambda row: mapping.hotel_values.get(row.get("hotel") or "")  # noqa: E731
    blank = frame.filter(pl.col(BOOKING_ID).is_null() | (pl.col(BOOKING_ID) == ""))
    for row in blank.iter_rows(named=True):
        quarantined.append({"line": row["_line"], "reason": f"no {BOOKING_ID}: the booking cannot be identified",
                            "payload": _raw(row, raw_cols), "hotel_id": hotel(row)})
    rest = frame.filter(pl.col(BOOKING_ID).is_not_null() & (pl.col(BOOKING_ID) != ""))
    grouped = rest.with_columns(
        pl.len().over(BOOKING_ID).alias("_n"),
        pl.struct(content).n_unique().over(BOOKING_ID).alias("_variants"),
        pl.col("_line").min().over(BOOKING_ID).alias("_first"),
        pl.col("_line").over(BOOKING_ID, mapping_strategy="join").alias("_lines"),
    )
    conflicting = grouped.filter(pl.col("_variants") > 1)
    for row in conflicting.iter_rows(named=True):
        lines = ", ".join(str(n) for n in sorted(row["_lines"]))
        quarantined.append({
            "line": row["_line"], "hotel_id": hotel(row), "payload": _raw(row, raw_cols),
            "reason": f"{BOOKING_ID} {row[BOOKING_ID]!r} is on lines {lines} with different content: none is loaded",
        })
    repeats = grouped.filter((pl.col("_variants") == 1) & (pl.col("_line") != pl.col("_first")))
    for row in repeats.iter_rows(named=True):
        quarantined.append({"line": row["_line"], "hotel_id": hotel(row), "payload": _raw(row, raw_cols),
                            "reason": f"exact repeat of line {row['_first']} ({BOOKING_ID} {row[BOOKING_ID]!r} loaded once)"})
    kept = grouped.filter((pl.col("_variants") == 1) & (pl.col("_line") == pl.col("_first")))
    return kept.drop("_n", "_variants", "_first", "_lines"), quarantined


def drop_unchanged(frame: pl.DataFrame, mapping: CsvMapping, limits: ImportLimits,
                   unchanged: UnchangedRows) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Split the rows of ``frame`` the stored digests vouch for off, in one vectorised step, before any parsing.

    Only a row whose booking id is its own in the file and whose hotel value names a hotel is a candidate: the
    booking-id rules (blank ids, repeats, conflicting lines) still see every other row exactly as before. Returns the
    rows left to parse, the unchanged keys and the digests of the candidates left (for the import to store).
    """
    raw_cols = [c for c in frame.columns if not c.startswith("_")]
    hotel = pl.col("hotel").replace_strict(mapping.hotel_values, default=None, return_dtype=pl.String)
    currency = hotel.replace_strict(mapping.currencies, default=None, return_dtype=pl.String)
    keyed = frame.select(
        "_line", hotel.alias("hotel_id"), pl.col(BOOKING_ID).alias("external_id"),
        digest_expr(raw_cols, currency, limits),
        (pl.len().over(BOOKING_ID) == 1).alias("_own"),
    )
    candidates = keyed.filter(pl.col("_own") & pl.col("hotel_id").is_not_null() & pl.col("external_id").is_not_null()
                              & (pl.col("external_id") != ""))
    vouched = unchanged(candidates.select("hotel_id", "external_id", "row_digest"))
    skipped = candidates.join(vouched, on=["hotel_id", "external_id"], how="semi")
    rest = frame.join(skipped.select("_line"), on="_line", how="anti", maintain_order="left")
    left = candidates.join(skipped.select("_line"), on="_line", how="anti").select("_line", "row_digest")
    return rest, skipped.select("hotel_id", "external_id"), left


def check_as_of(named: date | None, name: str, business_date: date | None, limits: ImportLimits) -> None:
    """An as-of date in the file name must be a business date that has happened and is inside the window."""
    if named is None or business_date is None:
        return
    if named > business_date:
        raise FileRejected(f"{name}: the as-of date {named} in the file name is after the business date "
                           f"{business_date}: an export cannot describe a day that has not happened")
    if named < business_date - timedelta(days=limits.past_days):
        raise FileRejected(f"{name}: the as-of date {named} in the file name is more than {limits.past_days} days "
                           f"before the business date {business_date} (import_limits past_days)")


def parse_file(payload: bytes, name: str, mapping: CsvMapping, limits: ImportLimits | None = None,
               business_date: date | None = None, received_at: datetime | None = None,
               row_number_ids: bool = False, unchanged: UnchangedRows | None = None) -> ParsedFile:
    """Everything between the bytes of one file and the rows to load / quarantine.

    Every row that is loaded has passed the layout's row model, the booking-id rules, the blocking reservations
    contract and the plausibility bounds of ``limits`` around ``business_date`` (see ``unified.admission``), except
    the rows ``unchanged`` vouches for (see ``row_digests``): they are equal to what was admitted before and are
    only counted.
    """
    limits = limits or ImportLimits()
    check_as_of(as_of_from_name(name), name, business_date, limits)
    text = decode(payload, name, limits.max_file_bytes)
    frame, quarantined, read = split_rows(text, mapping, name)
    for q in quarantined:
        q["hotel_id"] = None
    skipped, digests = pl.DataFrame(schema=_KEYS), pl.DataFrame(schema=_LINE_DIGESTS)
    if not row_number_ids:
        if BOOKING_ID not in frame.columns:
            raise FileRejected(
                f"{name}: no {mapping.columns.get(BOOKING_ID, BOOKING_ID)!r} column: without a booking id the rows of "
                "one export cannot be matched with those of the next"
            )
        # Only an export that names its as-of date: else that date is its newest event, which the skipped rows hold too.
        if unchanged is not None and as_of_from_name(name) is not None:
            frame, skipped, digests = drop_unchanged(frame, mapping, limits, unchanged)
        frame, by_id = split_by_booking_id(frame, mapping)
        quarantined.extend(by_id)
    raw_cols = [c for c in frame.columns if not c.startswith("_")]
    typed = map_rows(frame, mapping)
    typed, failures = validate(typed)
    if failures:
        # Only strings leave polars here: a computed date can lie outside what Python's date can hold.
        bad = typed.with_row_index("_pos").filter(pl.col("_pos").is_in(list(failures))).select(
            "_pos", "_line", "hotel_id", *raw_cols)
        for row in bad.iter_rows(named=True):
            raw = {c: row.get(c) for c in raw_cols}
            reasons = [_REASONS.get(col, col + " is invalid").format(raw=_Defaulting(raw)) for col in failures[row["_pos"]]]
            quarantined.append({
                "line": row["_line"], "reason": "; ".join(reasons), "payload": _raw(row, raw_cols),
                "hotel_id": row["hotel_id"],
            })
        typed = typed.with_row_index("_pos").filter(~pl.col("_pos").is_in(list(failures))).drop("_pos")
    unified = to_unified(typed, mapping, row_number_ids)
    if business_date is not None:
        admission = admit(unified, limits, business_date, received_at or datetime.combine(business_date, time(0)))
        if admission.refused:
            positions = list(admission.refused)
            refused = typed.with_row_index("_pos").filter(pl.col("_pos").is_in(positions)).select(
                "_pos", "_line", "hotel_id", *raw_cols)
            for row in refused.iter_rows(named=True):
                quarantined.append({"line": row["_line"], "reason": "; ".join(admission.refused[row["_pos"]]),
                                    "payload": _raw(row, raw_cols), "hotel_id": row["hotel_id"]})
            typed = typed.with_row_index("_pos").filter(~pl.col("_pos").is_in(positions)).drop("_pos")
            unified = admission.admitted
    if unified.height + skipped.height + len(quarantined) != read:
        raise AssertionError(f"{name}: counts do not reconcile: read {read}, valid {unified.height}, "
                             f"unchanged {skipped.height}, quarantined {len(quarantined)}")
    return ParsedFile(
        valid=unified,
        quarantined=sorted(quarantined, key=lambda q: q["line"]),
        rows_read=read,
        as_of=as_of_date(name, typed),
        hotel_ids=sorted(set(unified["hotel_id"].unique().to_list()) | set(skipped["hotel_id"].unique().to_list())),
        unchanged=skipped,
        row_digests=digests,
    )


class _Defaulting(dict):
    """Reason templates read raw values; a column the layout lacks shows as None instead of failing."""

    def __missing__(self, key: str) -> None:
        return None


def quarantine_frame(parsed: ParsedFile, name: str, received_at: Any) -> pl.DataFrame:
    """Quarantine rows in the warehouse shape (location = file:line)."""
    return pl.DataFrame(
        [
            {
                "source": "csv",
                "hotel_id": q.get("hotel_id"),
                "received_at": received_at,
                "location": f"{name}:{q['line']}",
                "reason": q["reason"],
                "payload": json.dumps(q["payload"], ensure_ascii=False),
            }
            for q in parsed.quarantined
        ],
        schema={"source": pl.String, "hotel_id": pl.String, "received_at": pl.Datetime("us"), "location": pl.String,
                "reason": pl.String, "payload": pl.String},
    )


def read_payload(path: Path) -> bytes:
    return path.read_bytes()
