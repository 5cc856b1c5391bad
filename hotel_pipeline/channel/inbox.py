"""The block and rate sources of the channel: CSV files in ``<inbox>/channel/`` and the tables they land in.

``blocks_*.csv`` (columns ``hotel_id, room, from, to, reason``; optional ``block_id``, ``room_type``, ``action`` =
add | remove): rooms out of order from ``from`` to ``to`` inclusive. ``rates_*.csv`` (``hotel_id, room_type,
rate_plan, from, to, price``; optional ``min_stay``): nightly rates over a range. Files are applied in name order and
every row is an upsert, so reading the whole folder again gives the same tables (idempotent); the hotel may also
write ``channel_blocks`` / ``channel_rates`` rows directly (origin ``table``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl

from hotel_pipeline.channel.tables import CHANNEL_BLOCKS, CHANNEL_RATES
from hotel_pipeline.core import settings
from hotel_pipeline.core.warehouse import Tx, Warehouse


class ChannelFileRejected(ValueError):
    """A block or rates file that cannot be read as a whole (missing columns, bad dates)."""


@dataclass(frozen=True)
class InboxReport:
    files: int
    blocks: int
    rates: int


def channel_inbox() -> Path:
    return settings.inbox_dir() / "channel"


def _read(path: Path, required: tuple[str, ...]) -> pl.DataFrame:
    frame = pl.read_csv(path, infer_schema_length=0)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ChannelFileRejected(f"{path.name}: missing columns {missing}")
    try:
        return frame.with_columns(pl.col("from").str.to_date("%Y-%m-%d"), pl.col("to").str.to_date("%Y-%m-%d"))
    except pl.exceptions.InvalidOperationError as exc:
        raise ChannelFileRejected(f"{path.name}: from/to must be YYYY-MM-DD dates") from exc


def block_id(hotel_id: str, room: str, start: date, end: date) -> str:
    """Id of a block the file gives none for: a digest of what it is."""
    return hashlib.sha256(f"{hotel_id}|{room}|{start}|{end}".encode()).hexdigest()[:16]


def upsert_blocks(tx: Tx, rows: list[dict], updated_at: datetime) -> int:
    """Write blocks (dicts with CHANNEL_BLOCKS columns; room_type resolved from ``rooms`` when missing)."""
    tx.ensure_table(CHANNEL_BLOCKS)
    types: dict[tuple[str, str], str] = {}
    if tx.table_exists("rooms"):
        for h, n, t in tx.query("SELECT DISTINCT hotel_id, room_number, room_type FROM rooms").iter_rows():
            types[(h, n)] = t
    for row in rows:
        row.setdefault("room_type", None)
        row["room_type"] = row["room_type"] or types.get((row["hotel_id"], row["room_number"]))
        row["updated_at"] = updated_at
        tx.execute("DELETE FROM channel_blocks WHERE block_id = :b", {"b": row["block_id"]})
    if rows:
        tx.insert_frame(CHANNEL_BLOCKS.name, CHANNEL_BLOCKS.conform(pl.DataFrame(rows, infer_schema_length=None)))
    return len(rows)


def _block_rows(path: Path) -> list[dict]:
    frame = _read(path, ("hotel_id", "room", "from", "to", "reason"))
    rows = []
    for r in frame.to_dicts():
        if r["to"] < r["from"]:
            raise ChannelFileRejected(f"{path.name}: block of room {r['room']} ends before it starts")
        action = (r.get("action") or "add").strip().lower()
        if action not in ("add", "remove"):
            raise ChannelFileRejected(f"{path.name}: action must be add or remove, got {action!r}")
        rows.append({
            "block_id": r.get("block_id") or block_id(r["hotel_id"], r["room"], r["from"], r["to"]),
            "hotel_id": r["hotel_id"], "room_number": r["room"], "room_type": r.get("room_type") or None,
            "from_date": r["from"], "to_date": r["to"], "reason": r["reason"], "active": action == "add",
            "origin": path.name,
        })
    return rows


def upsert_rates(tx: Tx, frame: pl.DataFrame, origin: str, updated_at: datetime) -> int:
    """Replace the nightly rates of ``frame`` (CHANNEL_RATES columns, one row per night)."""
    tx.ensure_table(CHANNEL_RATES)
    if frame.height == 0:
        return 0
    frame = CHANNEL_RATES.conform(frame.with_columns(pl.lit(origin).alias("origin"),
                                                     pl.lit(updated_at).alias("updated_at")))
    tx.temp_table("_incoming_rates", frame.select("hotel_id", "room_type", "rate_plan", "stay_date"))
    tx.execute("""DELETE FROM channel_rates WHERE EXISTS (SELECT 1 FROM _incoming_rates i
                  WHERE i.hotel_id = channel_rates.hotel_id AND i.room_type = channel_rates.room_type
                    AND i.rate_plan = channel_rates.rate_plan AND i.stay_date = channel_rates.stay_date)""")
    return tx.insert_frame(CHANNEL_RATES.name, frame)


def rate_nights(path: Path) -> pl.DataFrame:
    """A rates CSV as one row per night (later rows of the file win)."""
    frame = _read(path, ("hotel_id", "room_type", "rate_plan", "from", "to", "price"))
    if "min_stay" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias("min_stay"))
    frame = frame.with_row_index("_line").with_columns(
        pl.col("price").cast(pl.Float64), pl.col("min_stay").cast(pl.Int32),
        pl.date_ranges("from", "to", interval="1d", closed="both").alias("stay_date"),
    ).explode("stay_date")
    return frame.sort("_line").unique(["hotel_id", "room_type", "rate_plan", "stay_date"], keep="last")


def import_inbox(warehouse: Warehouse, updated_at: datetime, folder: Path | None = None,
                 kinds: tuple[str, ...] = ("blocks", "rates")) -> InboxReport:
    """Apply every block and/or rates file of the folder, in name order, each file in its own transaction."""
    folder = folder or channel_inbox()
    files = [f for k in kinds for f in sorted(folder.glob(f"{k}_*.csv"))] if folder.exists() else []
    blocks = rates = 0
    for path in files:
        with warehouse.transaction() as tx:
            if path.name.startswith("blocks_"):
                blocks += upsert_blocks(tx, _block_rows(path), updated_at)
            else:
                rates += upsert_rates(tx, rate_nights(path), path.name, updated_at)
    return InboxReport(files=len(files), blocks=blocks, rates=rates)


def constant_rates(hotel_id: str, room_types: list[str], rate_plan: str, start: date, days: int, price: float,
                   min_stay: int | None = None) -> pl.DataFrame:
    """A flat rate over ``days`` nights (for seeding a sandbox hotel and for tests)."""
    nights = [start + timedelta(days=i) for i in range(days)]
    return pl.DataFrame([{"hotel_id": hotel_id, "room_type": t, "rate_plan": rate_plan, "stay_date": d,
                          "price": price, "min_stay": min_stay} for t in room_types for d in nights])
