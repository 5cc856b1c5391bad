"""The base PMS connector: what every vendor module implements, and the helpers their normalisers share.

A vendor connector is two halves with a hard line between them:
- ``fetch(window)`` talks to the API through ``self.http`` (the shared core) and does nothing else; every response
  is recorded as a raw page (labelled, e.g. "reservations", "customers");
- ``normalise(pages, ctx)`` is a *pure* class method from raw pages to unified rows. Because it reads only what the
  raw zone holds, ``reservations``, ``rooms`` and ``guests`` can be rebuilt from the raw zone without calling any API.

Extraction modes (``Window.mode``): ``full`` (everything the API holds), ``incremental`` (changes since the committed
cursor minus an overlap) and ``reconcile`` (a rolling re-read of the last ``reconcile_days``, for vendors whose
modified-since misses changes or does not exist). See docs/connectors.md "How to add a vendor".
"""

from __future__ import annotations

import os
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import pandera.polars as pa
import polars as pl

from hotel_pipeline.core.portfolio import Hotel, Source
from hotel_pipeline.core.vocabularies import DINNER_PLANS, MEAL_PLANS, STATUSES
from hotel_pipeline.privacy.pii import pii_key, tokenise
from hotel_pipeline.sources.pms.errors import AuthError, ConfigError, IncompleteListingError
from hotel_pipeline.sources.pms.http import HttpCore, RateLimit, RetryPolicy, TokenAuth
from hotel_pipeline.unified import FIELD_NAMES


@dataclass(frozen=True)
class Window:
    """What one extract asks for: mode, and the instants / dates that bound it (aware UTC instants)."""

    mode: str  # full | incremental | reconcile
    until: datetime
    since: datetime | None = None
    #: hotel-local dates of the reconciliation window (stay dates or modified dates, as the vendor reads them)
    start_date: date | None = None
    end_date: date | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "since": self.since.isoformat() if self.since else None,
                "until": self.until.isoformat(), "start_date": str(self.start_date) if self.start_date else None,
                "end_date": str(self.end_date) if self.end_date else None}


@dataclass(frozen=True)
class ExtractContext:
    """What normalisation needs besides the pages (stored in every raw file's header)."""

    source: str
    hotel_id: str
    timezone: str
    currency: str
    options: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "hotel_id": self.hotel_id, "timezone": self.timezone,
                "currency": self.currency, "options": self.options}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExtractContext:
        return cls(**data)


@dataclass
class Normalised:
    """Unified rows of one extract, plus the records rejected with a reason."""

    reservations: pl.DataFrame
    rooms: pl.DataFrame
    guests: pl.DataFrame
    rejects: list[dict[str, Any]] = field(default_factory=list)
    newest_modified: datetime | None = None
    #: records that are not bookings (waitlists, quotes, inquiries, stop-sells), counted by reason
    skipped: dict[str, int] = field(default_factory=dict)


class PmsConnector(ABC):
    """Base of every PMS connector. Subclasses set the class attributes and implement ``fetch`` and ``normalise``."""

    #: registry name = the portfolio's source ``type`` (e.g. "mews")
    source: ClassVar[str] = ""
    #: the vendor's documented request budget per credential (the client never exceeds it)
    rate_limit: ClassVar[RateLimit | None] = None
    #: credential field -> portfolio option naming its environment variable (e.g. {"api_key": "api_key_env"})
    credential_options: ClassVar[dict[str, str]] = {}
    #: options (non-secret) with their defaults; copied into every raw file header for normalisation
    default_options: ClassVar[dict[str, Any]] = {}
    #: requests the connector keeps in flight at once where the vendor's paging allows it (``HttpCore.parallel``);
    #: a source's ``concurrent_requests`` option overrides it (1: one request at a time)
    concurrent_requests: ClassVar[int] = 1

    def __init__(
        self,
        hotel: Hotel,
        source: Source,
        *,
        retry: RetryPolicy | None = None,
        throttle: bool = True,
        seed: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.hotel = hotel
        self.source_config = source
        self.options = {**self.default_options,
                        **{k: v for k, v in source.options.items() if k not in self.credential_options.values()
                           and not k.endswith("_env")}}
        self.credentials = self._credentials(source)
        base_url = source.option("base_url")
        if not base_url:
            raise ConfigError(f"{hotel.id}: the {self.source} source needs a base_url")
        limit = self.rate_limit
        if "rate_limit" in source.options:
            spec = source.option("rate_limit") or {}
            limit = RateLimit(int(spec["requests"]), float(spec["per_seconds"])) if spec else None
        self.http = HttpCore(
            base_url=str(base_url).rstrip("/"),
            vendor=self.source,
            rate_limit=limit if throttle else None,
            retry=retry or RetryPolicy(),
            secrets=[v for v in self.credentials.values() if v],
            seed=seed,
            sleep=sleep,
            concurrency=max(1, int(self.options.get("concurrent_requests", self.concurrent_requests))),
        )

    def _credentials(self, source: Source) -> dict[str, str]:
        found = {}
        for name, option in self.credential_options.items():
            var = source.option(option)
            if not var:
                raise ConfigError(f"{self.hotel.id}: the {self.source} source must name {option} (an environment "
                                  f"variable holding the {name})")
            value = os.environ.get(str(var))
            if not value:
                raise ConfigError(f"{self.hotel.id}: environment variable {var} ({self.source} {name}) is not set")
            found[name] = value
        return found

    #: the vendor's short-lived token, for vendors that issue one (wired by ``use_token``)
    auth: TokenAuth | None = None

    def use_token(self, acquire: Callable[[], tuple[str, float | None]]) -> None:
        """Tokens through the shared ``TokenAuth``: renewed before they expire and once on 401/403; build request
        headers from ``self.auth.get()``. ``acquire`` makes the vendor's token call (``auth_request=True``)."""
        self.auth = TokenAuth(self.http, acquire)
        self.http.on_auth_failure = self.auth.refresh

    # -- the vendor's part -------------------------------------------------------------------------------------
    def login(self) -> None:
        """Acquire a fresh token (vendors wired with ``use_token``); a no-op for vendors without tokens."""
        if self.auth is not None:
            self.auth.refresh()

    @abstractmethod
    def fetch(self, window: Window) -> None:
        """Call the API for ``window``; every response goes through ``self.http.call(..., label=...)``."""

    def fetch_ids(self, ids: list[str]) -> None:
        """Fetch only the named reservations (a webhook's ids), with what ``normalise`` needs beside them.

        Optional: a connector without it keeps this default, and a webhook batch runs an incremental extract instead.
        """
        raise NotImplementedError(f"{self.source} cannot fetch reservations by id")

    @classmethod
    @abstractmethod
    def normalise(cls, pages: list[dict[str, Any]], ctx: ExtractContext) -> Normalised:
        """Raw pages (``RawPage.as_dict()``) -> unified rows. Pure: no API, no clock, no environment but the PII key."""

    # -- shared --------------------------------------------------------------------------------------------------
    def context(self) -> ExtractContext:
        return ExtractContext(self.source, self.hotel.id, self.hotel.timezone, self.hotel.currency,
                              dict(self.options))

    def close(self) -> None:
        self.http.close()


# -- paging ------------------------------------------------------------------------------------------------------
#: One page of a listing as ``read_listing`` needs it: (record ids in page order, whether more pages follow, the
#: total the vendor announced or None).
ListingPage = tuple[list[str], bool, int | None]


def read_listing(fetch_page: Callable[[int], ListingPage], *, what: str, max_rereads: int = 30) -> int:
    """Page through a listing (page index 0, 1, ...) so that a repeated or shifted page cannot lose records.

    Why: offset and page-number paging silently skip or double records when the server serves a page twice or one
    record off (a record inserted or dropped between calls; the sandbox's page faults). Pages of one listing must
    be disjoint, so a page sharing an id with the pages before it is an anomaly: it and the page before it are read
    again (either may be the shifted one). At the end, a vendor that announces a total must have shown that many
    distinct ids (else the listing is read again and merged); without a total, the last page is read a second time
    and must agree. Every page read is recorded by the caller, so the normaliser's merge by id sees all records.
    Returns the number of distinct ids seen; raises ``IncompleteListingError`` after ``max_rereads`` re-reads.
    """
    accepted: list[list[str]] = []
    seen: set[str] = set()
    everything: set[str] = set()
    rereads = 0
    index = 0

    def anomaly(why: str) -> None:
        nonlocal rereads
        rereads += 1
        if rereads > max_rereads:
            raise IncompleteListingError(f"{what}: pages kept disagreeing ({why}) after {max_rereads} re-reads")

    while True:
        ids, more, total = fetch_page(index)
        everything.update(ids)
        if index > 0 and seen.intersection(ids):
            anomaly(f"page {index} repeats records of earlier pages")
            seen.difference_update(accepted.pop())
            index -= 1
            continue
        accepted.append(ids)
        seen.update(ids)
        if more and ids:
            index += 1
            continue
        if total is not None:
            if len(everything) >= total:
                return len(everything)
            anomaly(f"{len(everything)} distinct records of {total} announced")
            accepted, seen, index = [], set(), 0
            continue
        if index == 0:
            return len(everything)
        again, _, _ = fetch_page(index)
        everything.update(again)
        if again == ids:
            return len(everything)
        anomaly(f"the last page (index {index}) changed between two reads")
        seen.difference_update(accepted.pop())


def answer_token(data: Any, key: str, what: str, lifetime_key: str | None = None) -> tuple[str, float | None]:
    """(token, lifetime seconds or None) of a token call's answer, for ``use_token``; no token is an AuthError."""
    token = data.get(key) if isinstance(data, dict) else None
    if not token:
        raise AuthError(f"{what}: no {key} in the answer")
    lifetime = data.get(lifetime_key) if lifetime_key else None
    return str(token), float(lifetime) if lifetime else None


# -- helpers for normalisers -----------------------------------------------------------------------------------
def records_of(pages: Iterable[dict[str, Any]], label: str, items: Callable[[Any], list[dict[str, Any]] | None],
               key: str = "id") -> dict[str, dict[str, Any]]:
    """Records of the pages labelled ``label`` by id (``items(body)`` lists them); a later page's copy wins."""
    records: dict[str, dict[str, Any]] = {}
    for page in pages_with(pages, label):
        for item in items(page.get("body")) or []:
            records[str(item.get(key))] = item
    return records


class NotABooking(Exception):  # noqa: N818 - a verdict, not a failure
    """Raised by a converter for a record the vendor lists that is not a guest booking (a waitlist entry, a quote,
    an inquiry, a stop-sell, an owner block): skipped and counted under its message (e.g. "waitlist Requested"),
    never quarantined and never loaded."""


#: Python types a unified reservation field may hold (None aside), by the frame's column type.
_ROW_TYPES: dict[str, tuple[type, ...]] = {}


def _row_types() -> dict[str, tuple[type, ...]]:
    if not _ROW_TYPES:
        kinds = {pl.String: (str,), pl.Date: (date,), pl.Int32: (int,), pl.Float64: (int, float),
                 pl.Boolean: (bool,)}
        _ROW_TYPES.update({name: kinds[dtype] for name, dtype in RESERVATION_SCHEMA.items()})
    return _ROW_TYPES


def check_row(row: dict[str, Any]) -> None:
    """Raise ValueError naming the field when a unified row holds a value its column cannot take (a string where
    an integer belongs, a datetime for a date, a bool for a count...). Why: one such value makes polars refuse the
    whole frame, and with it every other record of the extract; checked per row, only that record is quarantined."""
    for name, allowed in _row_types().items():
        value = row.get(name)
        if value is None:
            continue
        bad = not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed) or (
            isinstance(value, datetime) and datetime not in allowed)
        if bad:
            raise ValueError(f"{name} holds {type(value).__name__} {str(value)[:40]!r}")


def assemble(records: dict[str, dict[str, Any]],
             convert: Callable[[dict[str, Any]], dict[str, Any] | list[dict[str, Any]] | None],
             ctx: ExtractContext, what: str, errors: tuple[type[Exception], ...] = (),
             rejects: list[dict[str, Any]] | None = None) -> Normalised:
    """Records by id -> unified frames, one record at a time, so that no record can stop the others.

    ``convert(record)`` gives a unified row with ``source_modified_at`` (naive = hotel-local) and ``guest``, or a
    list of such rows (one per booked room of a multi-room booking, each with its own ``external_id``), or None
    (nothing to load). A record whose converter raises ``NotABooking`` is skipped and counted by reason. A record
    whose converter raises anything else (``errors`` are the vendor's own, but a KeyError or TypeError on an
    unexpected shape counts the same), or whose row holds a value of the wrong type, is quarantined with
    ``what <id>: <error>`` and the record itself (stripped of names, e-mails and phones when it is written).
    Guests are keyed by the record id (all rooms of a booking share the guest), rooms by room number; a row
    without ``guest`` keeps the ``guest_token`` it carries (vendors that list guests apart).
    """
    rejects = [] if rejects is None else rejects
    key = pii_key()
    skipped: dict[str, int] = {}
    rows, guests, rooms = [], [], {}
    newest: datetime | None = None
    for rid, item in records.items():
        try:
            converted = convert(item)
            batch = [] if converted is None else converted if isinstance(converted, list) else [converted]
            for row in batch:
                check_row(row)
        except NotABooking as verdict:
            skipped[str(verdict)] = skipped.get(str(verdict), 0) + 1
            continue
        except Exception as exc:  # noqa: BLE001 - any failure of one record quarantines that record only
            rejects.append(reject(what, rid, exc, item))
            continue
        for row in batch:
            modified = row.pop("source_modified_at", None)
            if modified is not None:  # a record without a modified time still loads; it just does not age the lag
                if modified.tzinfo is None:
                    modified = modified.replace(tzinfo=ZoneInfo(ctx.timezone))
                modified = modified.astimezone(UTC)
                newest = modified if newest is None or modified > newest else newest
            if "guest" in row:  # else the row names its guest (e.g. a customer listed apart) itself
                row["guest_token"] = guest_token(ctx, f"res:{rid}", key)
                guests.append({"external_id": f"res:{rid}", **row.pop("guest")})
            rows.append(row)
            if row["room_number"]:
                rooms[row["room_number"]] = {"external_id": row["room_number"], "room_number": row["room_number"],
                                             "room_type": row["room_type"]}
    return Normalised(reservations_frame(rows, ctx), rooms_frame(list(rooms.values()), ctx),
                      guests_frame(guests, ctx), rejects=rejects, newest_modified=newest, skipped=skipped)


def reject(what: str, rid: object, exc: BaseException | str, item: Any) -> dict[str, Any]:
    """A quarantine entry for one vendor record: where, why (the error names the raw value) and the record.
    ``apply_extract`` strips the record of guest names, e-mails and phones before it is written."""
    why = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}" if not isinstance(exc, ValueError) \
        else str(exc)
    return {"location": f"{what} {rid}", "reason": f"{what} {rid}: {why}", "payload": item}


def room_external_id(booking_id: object, sequence: int, rooms: int) -> str:
    """The unified key of one booked room: the booking's id for a one-room booking, ``"<id>:<n>"`` (n = 1, 2, ...
    in the vendor's room order) when the booking holds several rooms, so a 3-room booking is three reservations."""
    return str(booking_id) if rooms <= 1 else f"{booking_id}:{sequence}"


_NEGATED = re.compile(r"\b(?:no|without|excl\.?|excluding)\s+(?:breakfast|dinner|lunch|meals?|board)\b"
                      r"|\b(?:breakfast|dinner|lunch|meals?|board)\s+(?:is\s+|are\s+)?(?:not\s+included|excluded)\b")


def meal_plan_from_words(*texts: str | None) -> str:
    """Free-text meal wording of a rate, tariff, package or add-on -> RO/BB/HB/FB/unknown.

    Why one function: vendors name board in words set up by each property ("Dinner, Bed & Breakfast", "B&B",
    "Half board", "DBB", "Breakfast not included"), and the same words must mean the same plan whatever the PMS.
    Rules, in order: a negated meal ("Breakfast not included", "without breakfast") says nothing of that meal and,
    with no other meal word, means room only; full board / all inclusive / lunch and dinner -> FB; dinner / half board
    / DBB / HB -> HB; breakfast / B&B / BB -> BB; room only / RO -> RO; anything else -> unknown.
    """
    text = " ".join(t for t in texts if t).lower().replace("&", " and ")
    stripped = _NEGATED.sub(" ", text)
    words = set(re.findall(r"[a-z]+", stripped))
    if "full board" in stripped or "all inclusive" in stripped or "fb" in words or {"lunch", "dinner"} <= words:
        return "FB"
    if "dinner" in words or "half board" in stripped or words & {"dbb", "hb"}:
        return "HB"
    if "breakfast" in words or "b and b" in stripped or words & {"bb", "bnb"}:
        return "BB"
    if "room only" in stripped or "ro" in words or stripped != text:
        return "RO"
    return "unknown"


def pages_with(pages: Iterable[dict[str, Any]], label: str) -> list[dict[str, Any]]:
    return [p for p in pages if p.get("label") == label]


def local_date(instant: str | None, timezone: str) -> date | None:
    """Hotel-local date of an ISO instant ('Z' allowed); a plain date string is returned as that date."""
    if not instant:
        return None
    text = str(instant).replace("Z", "+00:00")
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"unreadable date or instant {instant!r} ({exc})") from None
    if value.tzinfo is None:
        return value.date()  # already property-local
    return value.astimezone(ZoneInfo(timezone)).date()


def parse_utc(instant: str | None) -> datetime | None:
    if not instant:
        return None
    try:
        value = datetime.fromisoformat(str(instant).replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"unreadable instant {instant!r} ({exc})") from None
    return value.replace(tzinfo=None) if value.tzinfo is None else value


#: The column types of a normaliser's reservation rows (``check_row`` holds each row to them).
RESERVATION_SCHEMA: dict[str, Any] = {
    "external_id": pl.String, "status": pl.String, "booked_on": pl.Date, "cancelled_on": pl.Date,
    "checked_out_on": pl.Date, "arrival_date": pl.Date, "departure_date": pl.Date, "nights": pl.Int32,
    "room_type": pl.String, "room_number": pl.String, "guest_token": pl.String, "adults": pl.Int32,
    "children": pl.Int32, "babies": pl.Int32, "meal_plan": pl.String, "is_dbb": pl.Boolean,
    "is_package": pl.Boolean, "net_amount": pl.Float64, "gross_amount": pl.Float64, "currency": pl.String,
    "channel": pl.String}


def reservations_frame(rows: list[dict[str, Any]], ctx: ExtractContext) -> pl.DataFrame:
    """Unified reservation rows -> frame with key columns, derived is_dbb, and defaults (currency, is_package)."""
    schema = RESERVATION_SCHEMA
    frame = pl.DataFrame({k: [r.get(k) for r in rows] for k in schema}, schema=schema)  # by column: cheaper
    return frame.with_columns(
        pl.lit(ctx.hotel_id).alias("hotel_id"),
        pl.lit(ctx.source).alias("source"),
        pl.col("meal_plan").fill_null("unknown"),
        pl.col("meal_plan").is_in(DINNER_PLANS).alias("is_dbb"),
        pl.col("is_package").fill_null(False),
        pl.col("currency").fill_null(ctx.currency),
    ).select(["hotel_id", "source", "external_id", *FIELD_NAMES]).unique("external_id", keep="last",
                                                                           maintain_order=True)


def guest_token(ctx: ExtractContext, guest_id: str | None, key: bytes | None = None) -> str | None:
    """The token reservations and guests share for one PMS guest id."""
    if guest_id in (None, ""):
        return None
    return tokenise(f"{ctx.source}|{ctx.hotel_id}|{guest_id}", kind="guest", key=key)


def guests_frame(rows: list[dict[str, Any]], ctx: ExtractContext) -> pl.DataFrame:
    """Rows of {external_id, first_name, last_name, email, phone, country} -> tokenised guests.

    The frame also carries first_name, last_name, email and phone for the extract's transaction to put into the
    encrypted guest store (``hotel_pipeline.privacy.vault``); the ``guests`` table keeps only the tokens.
    """
    key = pii_key()
    raw = {c: [r.get(c) for r in rows] for c in ("first_name", "last_name", "email", "phone", "country")}
    ids = [str(r["external_id"]) for r in rows]
    names = [" ".join(str(x) for x in pair if x) or None for pair in zip(raw["first_name"], raw["last_name"],
                                                                       strict=True)]
    phones = ["".join(ch for ch in str(p or "") if ch.isdigit()) or None for p in raw["phone"]]
    # built column by column: a first full extract delivers tens of thousands of guests, and a frame of lists is
    # several times cheaper than one of row dicts
    columns = {
        "hotel_id": [ctx.hotel_id] * len(rows), "source": [ctx.source] * len(rows), "external_id": ids,
        "guest_token": [guest_token(ctx, i, key) for i in ids],
        "name_token": [tokenise(n, kind="name", key=key) for n in names],
        "email_token": [tokenise(e, kind="email", key=key) for e in raw["email"]],
        "phone_token": [tokenise(p, kind="phone", key=key) for p in phones],
        **{c: [None if v is None else str(v) for v in raw[c]] for c in ("country", "first_name", "last_name", "email",
                                                                        "phone")},
    }
    schema = {c: pl.String for c in columns}
    return pl.DataFrame(columns, schema=schema).unique("external_id", keep="last", maintain_order=True)


def rooms_frame(rows: list[dict[str, Any]], ctx: ExtractContext) -> pl.DataFrame:
    """Rows of {external_id, room_number, room_type} -> rooms frame."""
    schema = {c: pl.String for c in ("hotel_id", "source", "external_id", "room_number", "room_type")}
    def text(value: Any) -> str | None:
        return None if value is None else str(value)

    out = [{"hotel_id": ctx.hotel_id, "source": ctx.source, "external_id": str(r["external_id"]),
            "room_number": text(r.get("room_number")), "room_type": text(r.get("room_type"))} for r in rows]
    return pl.DataFrame(out, schema=schema).unique("external_id", keep="last", maintain_order=True)


class NormalisedReservation(pa.DataFrameModel):
    """The contract every normaliser's reservation rows must meet (column rules; cross-column rules below)."""

    external_id: str = pa.Field(nullable=False)
    status: str = pa.Field(isin=list(STATUSES), nullable=False)
    meal_plan: str = pa.Field(isin=list(MEAL_PLANS), nullable=False)
    arrival_date: pl.Date = pa.Field(nullable=False)
    departure_date: pl.Date = pa.Field(nullable=False)
    booked_on: pl.Date = pa.Field(nullable=True)
    nights: pl.Int32 = pa.Field(ge=0, nullable=False)
    adults: pl.Int32 = pa.Field(ge=0, nullable=True)
    children: pl.Int32 = pa.Field(ge=0, nullable=True)
    babies: pl.Int32 = pa.Field(ge=0, nullable=True)

    class Config:
        strict = False


def validate_reservations(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(valid rows, rejected rows with ``_reason``): nothing is dropped silently.

    Column rules come from the pandera model ``NormalisedReservation`` (its failure cases name the column and
    check); cross-column rules: departure >= arrival and nights = departure - arrival.
    """
    reasons: dict[int, str] = {}
    try:
        NormalisedReservation.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases
        for index, column, check in cases.select("index", "column", "check").iter_rows():
            if index is not None:
                reasons.setdefault(int(index), f"{column}: {check}")
            else:  # a schema-level failure (e.g. a missing column) rejects everything
                return frame.head(0), frame.with_columns(pl.lit(f"{column}: {check}").alias("_reason"))
    tagged = frame.with_row_index("_row").with_columns(
        pl.col("_row").replace_strict(reasons, default=None, return_dtype=pl.String).alias("_reason"))
    cross = [
        (pl.col("departure_date") < pl.col("arrival_date"), "departure before arrival"),
        ((pl.col("departure_date") - pl.col("arrival_date")).dt.total_days() != pl.col("nights"),
         "nights differ from departure - arrival"),
    ]
    for cond, text in cross:
        tagged = tagged.with_columns(
            pl.when(pl.col("_reason").is_null() & cond.fill_null(False)).then(pl.lit(text))
            .otherwise(pl.col("_reason")).alias("_reason"))
    tagged = tagged.drop("_row")
    good = tagged.filter(pl.col("_reason").is_null()).drop("_reason")
    bad = tagged.filter(pl.col("_reason").is_not_null())
    return good, bad
