"""A corpus of malformed legacy CSV exports, built from code: real rows of the data set, then corrupted.

The base file is 12 real rows of the Resort Hotel (H1) daily export as of 2015-07-03 (``legacy_exports.export_frame``):
10 checked-out / cancelled bookings and 2 still booked. Line 1 is the header, data row ``i`` (0-based) is on line
``i + 2``. Each case is one file and the exact outcome the importer owes it: the file rejected with a message naming
the problem, or loaded with exactly so many rows and the quarantined lines with their reasons.
"""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass, field
from datetime import date
from functools import cache

import polars as pl

from hotel_pipeline.sources.csv.dataset import load_history
from hotel_pipeline.workshop.legacy_exports import export_frame

BASE_HOTEL = "H1"
BASE_AS_OF = date(2015, 7, 3)
BASE_ROWS = 12


@dataclass(frozen=True)
class Rejected:
    """The file is refused as a whole; ``message`` is a fragment the one clear message must contain."""

    message: str


@dataclass(frozen=True)
class Loaded:
    """The file loads: ``loaded`` valid rows, and per quarantined line a fragment of its reason."""

    loaded: int
    quarantined: dict[int, str] = field(default_factory=dict)

    @property
    def read(self) -> int:
        return self.loaded + len(self.quarantined)


@dataclass(frozen=True)
class Case:
    id: str
    file_name: str
    payload: bytes
    expect: Rejected | Loaded


@cache
def base_frame() -> pl.DataFrame:
    """12 real H1 rows as the legacy PMS exports them (strings), with mixed statuses."""
    export = export_frame(load_history(), BASE_HOTEL, BASE_AS_OF)
    booked = export.filter(pl.col("reservation_status") == "Booked").head(2)
    return pl.concat([export.head(BASE_ROWS - 2), booked])


def header() -> list[str]:
    return list(base_frame().columns)


def rows() -> list[list[str]]:
    """The base data rows as lists of strings (a fresh copy to corrupt)."""
    return [["" if v is None else str(v) for v in r] for r in base_frame().iter_rows()]


def render(head: list[str], body: list[list[str]], *, delimiter: str = ",", newline: str = "\n",
           quoting: int = csv.QUOTE_MINIMAL) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=newline, quoting=quoting)
    writer.writerow(head)
    writer.writerows(body)
    return out.getvalue()


def base_text(**kwargs) -> str:
    return render(header(), rows(), **kwargs)


def with_field(changes: dict[int, dict[str, str]]) -> str:
    """The base file with ``{row index: {column: new raw value}}`` applied."""
    head, body = header(), rows()
    for i, cols in changes.items():
        for col, value in cols.items():
            body[i][head.index(col)] = value
    return render(head, body)


def line_of(row_index: int) -> int:
    return row_index + 2


def _utf8(text: str) -> bytes:
    return text.encode("utf-8")


def _lines(text: str) -> list[str]:
    return text.split("\n")


def _missing_columns() -> bytes:
    head, body = header(), rows()
    drop = {head.index("adr"), head.index("reservation_status_date")}
    keep = [i for i in range(len(head)) if i not in drop]
    return _utf8(render([head[i] for i in keep], [[r[i] for i in keep] for r in body]))


def _duplicated_column() -> bytes:
    head, body = header(), rows()
    return _utf8(render([*head, "adr"], [[*r, r[head.index("adr")]] for r in body]))


def _extra_columns() -> bytes:
    head, body = header(), rows()
    return _utf8(render([*head, "notes", "loyalty_tier"], [[*r, "late arrival, quiet room", "gold"] for r in body]))


def _wrong_field_count() -> bytes:
    head, body = header(), rows()
    text = render(head, body)
    lines = _lines(text)
    lines[line_of(2) - 1] = lines[line_of(2) - 1].rsplit(",", 1)[0]  # one field short
    lines[line_of(6) - 1] += ",surplus"  # one field too many
    return _utf8("\n".join(lines))


def _header_repeated() -> bytes:
    lines = _lines(base_text())
    lines.insert(line_of(6) - 1, lines[0])  # becomes line 8; the data rows after it move down one line
    return _utf8("\n".join(lines))


def _unbalanced_quote() -> bytes:
    lines = _lines(base_text())
    lines[line_of(2) - 1] = lines[line_of(2) - 1].replace("Resort Hotel,", '"Resort Hotel,', 1)
    return _utf8("\n".join(lines))


def _latin1() -> bytes:
    head, body = header(), rows()
    body[3][head.index("customer_type")] = "Transient Café"
    return render(head, body).encode("latin-1")


def _corrupt_gzip() -> bytes:
    packed = gzip.compress(_utf8(base_text()))
    return packed[: len(packed) // 2]


#: Guest details planted in hostile files: none of them may reach the quarantine (or any table).
PLANTED_PII = ("maria.silva@example.com", "+351 912 345 678", "Maria Silva")
#: The corpus runs with a small decompressed-size cap, so a gzip bomb is cheap to build and to refuse.
CORPUS_MAX_FILE_BYTES = 2_000_000


def _without_column(column: str) -> bytes:
    head, body = header(), rows()
    i = head.index(column)
    return _utf8(render([h for j, h in enumerate(head) if j != i], [[v for j, v in enumerate(r) if j != i] for r in body]))


def _duplicate_rows(conflicting: bool) -> bytes:
    head, body = header(), rows()
    twin = list(body[4])
    if conflicting:
        twin[head.index("adr")] = "250"  # same booking_ref, other content
    body.insert(7, twin)  # line 9
    return _utf8(render(head, body))


def _truncated_last_column() -> bytes:
    text = base_text()
    return _utf8(text[: text.rstrip("\n").rfind(",") + 2])  # the last row's booking_ref "102" cut to "1"


def _pii_columns() -> bytes:
    """Guest columns the layout does not know, and a broken row carrying them."""
    head, body = header(), rows()
    head = [*head, "guest_name", "guest_email", "guest_phone"]
    body = [[*r, PLANTED_PII[2], PLANTED_PII[0], PLANTED_PII[1]] for r in body]
    body[3] = body[3][:-6] + body[3][-3:]  # three fields short: the guest fields slide into known columns
    return _utf8(render(head, body))


def _pii_in_known_column() -> bytes:
    return _utf8(with_field({5: {"company": f"{PLANTED_PII[0]} / {PLANTED_PII[1]}", "adr": "cheap"}}))


def _gzip_bomb() -> bytes:
    head_line = base_text().split("\n", 1)[0]
    return gzip.compress(_utf8(head_line + "\n") + b"0" * (CORPUS_MAX_FILE_BYTES + 1), compresslevel=9)


def _long_name() -> str:
    return "H1_" + "x" * 236 + ".csv"  # 243 characters: the raw copy's name would pass the 255-byte limit


def _hostile_cases() -> list[Case]:
    """Inputs a careless operator or a hostile user produces; each one once crashed, lost or corrupted data."""
    n = BASE_ROWS
    contract = "breaks the reservations contract: "
    return [
        Case("checkout_before_arrival", "H1_checkout_early.csv", _utf8(with_field({
            2: {"reservation_status_date": "2015-06-01"}})),
             Loaded(n - 1, {line_of(2): contract + "checked_out_within_stay"})),
        Case("cancel_before_booking", "H1_cancel_early.csv", _utf8(with_field({
            8: {"reservation_status_date": "2015-03-01"}})),
             Loaded(n - 1, {line_of(8): contract + "cancelled_on_not_before_booked_on"})),
        Case("year_zero", "H1_year0.csv", _utf8(with_field({3: {"arrival_date_year": "0"}})),
             Loaded(n - 1, {line_of(3): "arrival date 0-"})),
        Case("year_9999", "H1_year9999.csv", _utf8(with_field({3: {"arrival_date_year": "9999"}})),
             Loaded(n - 1, {line_of(3): "arrival_date 9999-"})),
        Case("year_999999999", "H1_year_huge.csv", _utf8(with_field({3: {"arrival_date_year": "999999999"}})),
             Loaded(n - 1, {line_of(3): "arrival date 999999999-"})),
        Case("status_year_huge", "H1_status_year.csv", _utf8(with_field({4: {"reservation_status_date": "999999999-01-01"}})),
             Loaded(n - 1, {line_of(4): "is not a YYYY-MM-DD date"})),
        Case("lead_time_int_max", "H1_lead_max.csv", _utf8(with_field({6: {"lead_time": "2147483647"}})),
             Loaded(n - 1, {line_of(6): "booked_on "})),
        Case("lead_time_overflow", "H1_lead_overflow.csv", _utf8(with_field({6: {"lead_time": "99999999999"}})),
             Loaded(n - 1, {line_of(6): "lead_time '99999999999' must be a whole number >= 0"})),
        Case("five_million_nights", "H1_nights.csv", _utf8(with_field({5: {"stays_in_week_nights": "5000000"}})),
             Loaded(n - 1, {line_of(5): "nights is more than import_limits max_nights 365"})),
        Case("too_many_guests", "H1_guests.csv", _utf8(with_field({5: {"adults": "5000"}})),
             Loaded(n - 1, {line_of(5): "guests is more than import_limits max_guests"})),
        Case("adr_inf", "H1_adr_inf.csv", _utf8(with_field({10: {"adr": "inf"}})),
             Loaded(n - 1, {line_of(10): "is not a finite number"})),
        Case("adr_nan", "H1_adr_nan.csv", _utf8(with_field({10: {"adr": "NaN"}})),
             Loaded(n - 1, {line_of(10): "is not a"})),
        Case("adr_absurd", "H1_adr_absurd.csv", _utf8(with_field({11: {"adr": "1e12"}})),
             Loaded(n - 1, {line_of(11): "nightly rate"})),
        Case("negative_adr_is_plausible", "H1_refund.csv", _utf8(with_field({11: {"adr": "-6.38"}})), Loaded(n)),
        Case("arrival_in_2099", "H1_arrival_2099.csv", _utf8(with_field({11: {"arrival_date_year": "2099"}})),
             Loaded(n - 1, {line_of(11): "arrival_date 2099-"})),
        Case("conflicting_duplicate", "H1_dup_conflict.csv", _duplicate_rows(conflicting=True),
             Loaded(n - 1, {line_of(4): "on lines 6, 9 with different content", 9: "on lines 6, 9 with different content"})),
        Case("exact_duplicate", "H1_dup_exact.csv", _duplicate_rows(conflicting=False),
             Loaded(n, {9: "exact repeat of line 6"})),
        Case("blank_booking_ref", "H1_blank_ref.csv", _utf8(with_field({7: {"booking_ref": ""}})),
             Loaded(n - 1, {line_of(7): "no booking_ref"})),
        Case("no_booking_ref_column", "H1_no_ref.csv", _without_column("booking_ref"),
             Rejected("no 'booking_ref' column")),
        Case("nul_byte", "H1_nul.csv", _utf8(with_field({4: {"country": "PR\x00T"}})),
             Loaded(n - 1, {line_of(4): "holds the control character U+0000"})),
        Case("bell_character", "H1_bell.csv", _utf8(with_field({4: {"customer_type": "Trans\x07ient"}})),
             Loaded(n - 1, {line_of(4): "holds the control character U+0007"})),
        Case("truncated_last_column", "H1_cut.csv", _truncated_last_column(),
             Loaded(n - 1, {line_of(11): "the file ends inside this row"})),
        Case("pii_in_unknown_columns", "H1_pii.csv", _pii_columns(),
             Loaded(n - 1, {line_of(3): "expected"})),
        Case("pii_in_known_column", "H1_pii_known.csv", _pii_in_known_column(),
             Loaded(n - 1, {line_of(5): "adr 'cheap' is not a number"})),
        Case("gzip_bomb", "H1_bomb.csv.gz", _gzip_bomb(), Rejected("larger than 2,000,000 bytes once decompressed")),
        Case("upper_case_extension", "H1_EXPORT.CSV", _utf8(base_text()) + b"\n\n\n\n", Loaded(n)),
        Case("upper_case_gzip", "H1_EXPORT.CSV.GZ", gzip.compress(_utf8(base_text()) + b"\n", mtime=0), Loaded(n)),
        Case("name_243_chars", _long_name(), _utf8(base_text()) + b"\n", Loaded(n)),
        Case("as_of_2099_in_name", "H1_hotel_bookings_asof_2099-01-01.csv", _utf8(base_text()) + b"\n\n",
             Rejected("the as-of date 2099-01-01 in the file name is after the business date 2015-07-04")),
        Case("as_of_long_ago_in_name", "H1_hotel_bookings_asof_1990-01-01.csv", _utf8(base_text()) + b"\n\n\n",
             Rejected("more than 3650 days before the business date")),
    ]


def _cases() -> list[Case]:
    head_line = base_text().split("\n", 1)[0]
    n = BASE_ROWS
    return [
        Case("baseline", "H1_baseline.csv", _utf8(base_text()), Loaded(n)),
        Case("semicolon_delimiter", "H1_semicolon.csv", _utf8(base_text(delimiter=";")),
             Rejected("wrong delimiter: expected ',' but the header is ';'-separated")),
        Case("tab_delimiter", "H1_tab.csv", _utf8(base_text(delimiter="\t")),
             Rejected("wrong delimiter: expected ',' but the header is '\\t'-separated")),
        Case("missing_columns", "H1_missing.csv", _missing_columns(),
             Rejected("not the 'hotel_bookings' layout: missing columns ['adr', 'reservation_status_date']")),
        Case("not_the_layout", "H1_other_report.csv", _utf8("date,revenue\n2015-07-01,1200.50\n"),
             Rejected("not the 'hotel_bookings' layout: missing columns ['hotel', 'is_canceled'")),
        Case("duplicated_column", "H1_dupcol.csv", _duplicated_column(), Rejected("duplicated column names ['adr']")),
        Case("header_only", "H1_header_only.csv", _utf8(head_line + "\n"), Loaded(0)),
        Case("empty_file", "H1_empty.csv", b"", Rejected("empty file")),
        Case("whitespace_only", "H1_blank.csv", b"  \n\t\r\n   \n", Rejected("empty file")),
        Case("latin1_byte", "H1_latin1.csv", _latin1(),
             Rejected(f"not UTF-8 text (byte 0xe9 on line {line_of(3)}); re-export as UTF-8")),
        Case("binary_junk", "H1_image.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xd8",
             Rejected("not UTF-8 text (byte 0x89 on line 1)")),
        Case("utf8_bom", "H1_bom.csv", b"\xef\xbb\xbf" + _utf8(base_text()), Loaded(n)),
        Case("bad_dates", "H1_bad_dates.csv", _utf8(with_field({
            1: {"arrival_date_month": "February", "arrival_date_day_of_month": "30"},
            3: {"arrival_date_month": "Jully"},
            5: {"reservation_status_date": "2016-13-01"},
            7: {"arrival_date_month": "February", "arrival_date_day_of_month": "29"},  # 2015 is not a leap year
            8: {"arrival_date_day_of_month": "0"},
        })), Loaded(n - 5, {
            line_of(1): "arrival date 2015-February-30 is not a date",
            line_of(3): "arrival date 2015-Jully-1 is not a date",
            line_of(5): "reservation_status_date '2016-13-01' is not a YYYY-MM-DD date",
            line_of(7): "arrival date 2015-February-29 is not a date",
            line_of(8): "arrival date 2015-July-0 is not a date",
        })),
        Case("leap_day", "H1_leap_day.csv", _utf8(with_field({
            # still to come as of the export: booked 300 days before, not checked out yet
            4: {"arrival_date_year": "2016", "arrival_date_month": "February", "arrival_date_day_of_month": "29",
                "lead_time": "300", "reservation_status": "Booked", "reservation_status_date": "2015-05-05"},
        })), Loaded(n)),
        Case("negative_nights", "H1_negative_nights.csv", _utf8(with_field({
            2: {"stays_in_week_nights": "-3", "stays_in_weekend_nights": "0"},
            # -3 week nights are not made good by 4 weekend nights (the sum, 1, would look valid)
            4: {"stays_in_week_nights": "-3", "stays_in_weekend_nights": "4"},
        })), Loaded(n - 2, {
            line_of(2): "nights must be a whole number >= 0 (weekend '0', week '-3')",
            line_of(4): "nights must be a whole number >= 0 (weekend '4', week '-3')",
        })),
        Case("negative_lead_time", "H1_negative_lead.csv", _utf8(with_field({6: {"lead_time": "-5"}})),
             Loaded(n - 1, {line_of(6): "lead_time '-5' must be a whole number >= 0"})),
        Case("unknown_hotel", "H1_unknown_hotel.csv", _utf8(with_field({0: {"hotel": "Grand Budapest Hotel"}})),
             Loaded(n - 1, {line_of(0): "unknown hotel 'Grand Budapest Hotel'"})),
        Case("non_numeric_adr", "H1_adr.csv", _utf8(with_field({9: {"adr": "seventy"}, 10: {"adr": "75,50"}})),
             Loaded(n - 2, {line_of(9): "adr 'seventy' is not a number", line_of(10): "adr '75,50' is not a number"})),
        Case("children_na", "H1_children_na.csv", _utf8(with_field({1: {"children": "NA"}, 2: {"children": "NA"}})),
             Loaded(n)),
        Case("children_bad", "H1_children_bad.csv", _utf8(with_field({1: {"children": "two"}})),
             Loaded(n - 1, {line_of(1): "children 'two' must be a whole number >= 0 or NA"})),
        Case("is_canceled_contradicts_status", "H1_contradiction.csv", _utf8(with_field({
            0: {"is_canceled": "1"},  # Check-Out yet cancelled
            10: {"is_canceled": "1"},  # Booked yet cancelled
        })), Loaded(n - 2, {
            line_of(0): "is_canceled '1' contradicts reservation_status 'Check-Out'",
            line_of(10): "is_canceled '1' contradicts reservation_status 'Booked'",
        })),
        Case("unknown_status", "H1_status.csv", _utf8(with_field({3: {"reservation_status": "Checked Out"}})),
             Loaded(n - 1, {line_of(3): "unknown reservation_status 'Checked Out'"})),
        Case("wrong_field_count", "H1_fields.csv", _wrong_field_count(), Loaded(n - 2, {
            line_of(2): f"expected {len(header())} fields, got {len(header()) - 1}",
            line_of(6): f"expected {len(header())} fields, got {len(header()) + 1}",
        })),
        Case("huge_field", "H1_huge.csv", _utf8(with_field({5: {"company": "X" * 5000}})),
             Loaded(n - 1, {line_of(5): "field 'company' is 5,000 characters long (limit 1000)"})),
        Case("header_repeated", "H1_header_twice.csv", _header_repeated(),
             Loaded(n, {line_of(6): "the header row is repeated inside the data"})),
        Case("unbalanced_quote", "H1_quote.csv", _unbalanced_quote(),
             Rejected(f"malformed CSV at line {line_of(2)}: unexpected end of data")),
        Case("junk_after_quote", "H1_quote_junk.csv", _utf8(with_field({}).replace(
            "Resort Hotel,", '"Resort Hotel"x,', 1)), Rejected("malformed CSV at line 2: ',' expected after '\"'")),
        Case("crlf_line_endings", "H1_crlf.csv", _utf8(base_text(newline="\r\n")), Loaded(n)),
        Case("all_fields_quoted", "H1_quoted.csv", _utf8(base_text(quoting=csv.QUOTE_ALL)), Loaded(n)),
        Case("trailing_blank_lines", "H1_trailing.csv", _utf8(base_text() + "\n\n   \n\n"), Loaded(n)),
        Case("corrupt_gzip", "H1_broken.csv.gz", _corrupt_gzip(), Rejected("not a valid gzip file")),
        Case("gzip_valid", "H1_packed.csv.gz", gzip.compress(_utf8(base_text())), Loaded(n)),
        Case("extra_columns", "H1_extra.csv", _extra_columns(), Loaded(n)),
        Case("bad_as_of_in_name", "H1_hotel_bookings_asof_2015-02-30.csv", _utf8(base_text()),
             Rejected("the as-of date '2015-02-30' in the file name is not a date")),
        *_hostile_cases(),
    ]


@cache
def corpus() -> dict[str, Case]:
    """Every case by id (built once per test session)."""
    built = _cases()
    by_id = {c.id: c for c in built}
    assert len(by_id) == len(built), "case ids must be unique"
    return by_id
