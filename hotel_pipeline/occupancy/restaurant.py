"""Restaurant bookings: from a Resos-shaped API or a CSV inbox into ``restaurant_booking_records``.

Sources (per hotel, in the portfolio's ``sources``):
- ``type: resos`` with ``base_url`` and ``api_key_env`` (the variable holding the API key; HTTP Basic, key as user):
  ``GET /bookings`` by ``fromDateTime``/``toDateTime``, paged by ``skip``/``limit`` (<= 100), from the day before
  the business date to ``days_ahead`` (default 30) after it; ``booking_field`` / ``room_field`` name the custom fields
  carrying the hotel booking number (default "Hotel booking number") and the room ("Room number");
- ``type: restaurant_csv`` with ``file_glob`` (default ``<hotel>_*.csv``) under ``<inbox>/restaurant/``: columns
  booking_id, date, time, covers, status, name, email, phone, hotel_booking_number, room_number.
Every answer or file is landed whole in the raw zone first (``raw/<source>/<hotel>/...json.gz``; an inbox file is
removed once landed); guests' names, e-mails and phones go only to the encrypted guest store; the records keep a
guest token. Re-landing the same bookings changes nothing (upsert by source, hotel and booking id).
"""

from __future__ import annotations

import csv
import hashlib
import os
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import polars as pl
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from hotel_pipeline.core.portfolio import Hotel, Source
from hotel_pipeline.core.warehouse import Tx, Warehouse, spec
from hotel_pipeline.privacy.pii import tokenise
from hotel_pipeline.privacy.vault import store_guests
from hotel_pipeline.sources.pms.raw import raw_path, write_raw

RESTAURANT_SOURCES = ("resos", "restaurant_csv")
PAGE = 100
CSV_COLUMNS = ["booking_id", "date", "time", "covers", "status", "name", "email", "phone", "hotel_booking_number",
               "room_number"]

RESTAURANT_BOOKING_RECORDS = spec(
    "restaurant_booking_records",
    [
        ("hotel_id", "VARCHAR", "portfolio hotel id"),
        ("source", "VARCHAR", "resos or restaurant_csv"),
        ("booking_id", "VARCHAR", "the restaurant system's booking id"),
        ("booking_date", "DATE", "date of the meal (restaurant-local)"),
        ("booking_time", "VARCHAR", "time of the meal, HH:MM"),
        ("covers", "INTEGER", "people booked"),
        ("status", "VARCHAR", "the restaurant system's status (approved, arrived, canceled, no_show, ...)"),
        ("hotel_booking_ref", "VARCHAR", "hotel booking number from the booking's custom field; null if none"),
        ("room_number", "VARCHAR", "room from the booking's custom field; null if none"),
        ("guest_token", "VARCHAR", "opaque token of the diner (name, e-mail, phone only in the encrypted store)"),
        ("synced_at", "TIMESTAMP", "when the record was landed (clock, UTC)"),
        ("batch_id", "VARCHAR", "the raw file that delivered it"),
    ],
    primary_key=("source", "hotel_id", "booking_id"),
    doc="Restaurant bookings as their systems give them, without names (see restaurant_bookings for the match).",
    grain="(source, hotel_id, booking_id)",
)


class RestaurantSourceError(RuntimeError):
    """A restaurant source that cannot be read (configuration, credentials, or an answer that is not bookings)."""


def restaurant_sources(hotel: Hotel) -> list[Source]:
    return [s for s in hotel.sources if s.type in RESTAURANT_SOURCES]


def _split_name(name: str | None) -> tuple[str | None, str | None]:
    parts = (name or "").split()
    if not parts:
        return None, None
    return (" ".join(parts[:-1]) or None), parts[-1]


def _rows_frame(hotel_id: str, source: str, rows: list[dict[str, Any]], batch_id: str,
                now: datetime) -> pl.DataFrame:
    """Normalised rows (booking_id, date, time, covers, status, name, email, phone, ref, room) -> records + PII."""
    out = []
    for r in rows:
        first, last = _split_name(r.get("name"))
        out.append({
            "hotel_id": hotel_id, "source": source, "booking_id": str(r["booking_id"]),
            "booking_date": date.fromisoformat(str(r["date"])[:10]), "booking_time": r.get("time") or None,
            "covers": int(r["covers"]) if r.get("covers") not in (None, "") else None,
            "status": r.get("status") or None, "hotel_booking_ref": r.get("ref") or None,
            "room_number": r.get("room") or None,
            "guest_token": tokenise(f"{source}|{hotel_id}|{r['booking_id']}", kind="guest"),
            "synced_at": now, "batch_id": batch_id,
            "first_name": first, "last_name": last, "email": r.get("email") or None, "phone": r.get("phone") or None,
        })
    return pl.DataFrame(out, infer_schema_length=None)


def land_records(tx: Tx, frame: pl.DataFrame, now: datetime) -> int:
    """Store the diners encrypted and upsert the records (without PII) in ``tx``."""
    tx.ensure_table(RESTAURANT_BOOKING_RECORDS)
    if frame.height == 0:
        return 0
    store_guests(tx, frame, now)
    records = RESTAURANT_BOOKING_RECORDS.conform(frame).unique(["source", "hotel_id", "booking_id"], keep="last")
    tx.temp_table("_restaurant_incoming", records.select("source", "hotel_id", "booking_id"))
    tx.execute("DELETE FROM restaurant_booking_records WHERE EXISTS (SELECT 1 FROM _restaurant_incoming i WHERE "
               "i.source = restaurant_booking_records.source AND i.hotel_id = restaurant_booking_records.hotel_id "
               "AND i.booking_id = restaurant_booking_records.booking_id)")
    return tx.insert_frame("restaurant_booking_records", records)


# -- Resos -----------------------------------------------------------------------------------------------------
def _resos_row(b: dict[str, Any], booking_field: str, room_field: str) -> dict[str, Any]:
    fields = {str(f.get("name")): f.get("value") for f in b.get("customFields") or []}
    guest = b.get("guest") or {}
    return {"booking_id": b["_id"], "date": b["date"], "time": b.get("time"), "covers": b.get("people"),
            "status": b.get("status"), "name": guest.get("name"), "email": guest.get("email"),
            "phone": guest.get("phone"), "ref": fields.get(booking_field), "room": fields.get(room_field)}


@retry(retry=retry_if_exception_type((httpx.TransportError, RestaurantSourceError)), reraise=True,
       stop=stop_after_attempt(5), wait=wait_exponential_jitter(multiplier=0.2, max=5))
def _get_page(client: httpx.Client, params: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.get("/bookings", params=params)
    if response.status_code in (401, 403):
        raise PermissionError("resos: the API key was refused")
    if response.status_code == 429 or response.status_code >= 500:
        raise RestaurantSourceError(f"resos: HTTP {response.status_code}")
    response.raise_for_status()
    data = response.json()
    if not isinstance(data, list):
        raise RestaurantSourceError("resos: the answer is not a list of bookings")
    return data


def fetch_resos(hotel: Hotel, source: Source, business_date: date, now: datetime, raw_root: Path
                ) -> tuple[Path, list[dict[str, Any]]]:
    """Read the window's bookings, land the pages raw, and return (raw file, normalised rows)."""
    var = source.option("api_key_env")
    key = os.environ.get(str(var)) if var else None
    if not source.option("base_url") or not key:
        raise RestaurantSourceError(f"{hotel.id}: the resos source needs base_url and api_key_env (set {var})")
    start = business_date - timedelta(days=1)
    end = business_date + timedelta(days=int(source.option("days_ahead", 30)) + 1)
    params = {"fromDateTime": f"{start.isoformat()}T00:00:00", "toDateTime": f"{end.isoformat()}T00:00:00"}
    pages: list[dict[str, Any]] = []
    bookings: list[dict[str, Any]] = []
    with httpx.Client(base_url=str(source.option("base_url")).rstrip("/"), auth=(key, ""), timeout=30) as client:
        skip = 0
        while True:
            page = _get_page(client, {**params, "skip": skip, "limit": PAGE})
            pages.append({"label": "bookings", "request": {"path": "/bookings", "params": {**params, "skip": skip}},
                          "body": page})
            bookings.extend(page)
            if len(page) < PAGE:
                break
            skip += PAGE
    extract_id = f"{now:%Y%m%dT%H%M%SZ}-resos-{uuid.uuid4().hex[:8]}"
    path = write_raw(raw_path(raw_root, "resos", hotel.id, now.replace(tzinfo=UTC), extract_id), {
        "extract_id": extract_id, "source": "resos", "hotel_id": hotel.id, "complete": True,
        "window": params, "pages": pages})
    booking_field = str(source.option("booking_field", "Hotel booking number"))
    room_field = str(source.option("room_field", "Room number"))
    rows = {b["_id"]: _resos_row(b, booking_field, room_field) for b in bookings}
    return path, list(rows.values())


# -- CSV inbox ---------------------------------------------------------------------------------------------------
def read_restaurant_csv(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise RestaurantSourceError(f"{path.name}: missing columns {', '.join(missing)}")
        return [{**r, "ref": r.get("hotel_booking_number"), "room": r.get("room_number")} for r in reader]


def restaurant_inbox_batch(inbox: Path) -> tuple[list[str], str]:
    """(file names waiting in ``<inbox>/restaurant/``, a digest of them with sizes and times)."""
    files = sorted(p for p in (inbox / "restaurant").glob("*.csv") if p.is_file()) if inbox.exists() else []
    stamp = "|".join(f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files)
    return [p.name for p in files], hashlib.sha256(stamp.encode()).hexdigest()[:16]


def land_csv(hotel: Hotel, path: Path, now: datetime, raw_root: Path) -> tuple[Path, list[dict[str, Any]]]:
    """Land one inbox file raw (then remove it from the inbox) and return (raw file, rows)."""
    rows = read_restaurant_csv(path)
    extract_id = f"{now:%Y%m%dT%H%M%SZ}-csv-{uuid.uuid4().hex[:8]}"
    raw = write_raw(raw_path(raw_root, "restaurant_csv", hotel.id, now.replace(tzinfo=UTC), extract_id), {
        "extract_id": extract_id, "source": "restaurant_csv", "hotel_id": hotel.id, "complete": True,
        "file": path.name, "pages": [{"label": "rows", "body": rows}]})
    path.unlink()
    return raw, rows


def sync_restaurant(warehouse: Warehouse, hotel: Hotel, business_date: date, now: datetime, raw_root: Path,
                    inbox: Path) -> dict[str, int]:
    """Read every restaurant source of ``hotel``; returns records landed per source."""
    landed: dict[str, int] = {}
    naive = now.replace(tzinfo=None)
    for source in restaurant_sources(hotel):
        batches: list[tuple[Path, list[dict[str, Any]]]] = []
        if source.type == "resos":
            batches.append(fetch_resos(hotel, source, business_date, naive, raw_root))
        else:
            pattern = str(source.option("file_glob", f"{hotel.id}_*.csv"))
            for path in sorted((inbox / "restaurant").glob(pattern)):
                batches.append(land_csv(hotel, path, naive, raw_root))
        for raw, rows in batches:
            frame = _rows_frame(hotel.id, source.type, rows, raw.name, naive)
            with warehouse.transaction() as tx:
                landed[source.type] = landed.get(source.type, 0) + land_records(tx, frame, naive)
    return landed
