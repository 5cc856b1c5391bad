"""``channel_availability``: what the channel may sell, per hotel, room type and night of the next 365.

Units available = physical rooms of the type - rooms sold (the unified model, every source, Beds24's own bookings
included) - rooms out of order (``channel_blocks``), never below zero; when sold + out of order exceed the physical
rooms the excess is reported in ``overbooked`` instead of being hidden in a zero. Rate and minimum stay come from
``channel_rates`` (the rates CSV inbox, or Mews ``rates/getPricing`` for a hotel on Mews).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import polars as pl

from hotel_pipeline.channel.config import HotelChannel
from hotel_pipeline.channel.tables import CHANNEL_AVAILABILITY, CHANNEL_BLOCKS, CHANNEL_RATES
from hotel_pipeline.core.warehouse import Tx, Warehouse

#: Statuses that hold a room (a checked-out stay holds it until its check-out day).
HOLDING = ("confirmed", "checked_in", "checked_out")


@dataclass
class MappingIssues:
    """What the configuration does not cover: listed, never pushed."""

    unmapped_room_types: dict[str, int] = field(default_factory=dict)  # room type -> reservations/rooms seen
    unmapped_rate_plans: list[str] = field(default_factory=list)
    room_types_without_units: list[str] = field(default_factory=list)
    unplaced_blocks: list[str] = field(default_factory=list)  # block ids whose room type is unknown

    def messages(self, hotel_id: str) -> list[str]:
        out = [f"{hotel_id}: room type {t!r} ({n} reservations or rooms) has no Beds24 roomId in the channel "
               f"configuration; its availability and bookings are not pushed"
               for t, n in sorted(self.unmapped_room_types.items())]
        out += [f"{hotel_id}: rate plan {p!r} has rates but no Beds24 price slot; its prices are not pushed"
                for p in self.unmapped_rate_plans]
        out += [f"{hotel_id}: room type {t!r} has no rooms in the rooms table and no configured units; it is "
                f"pushed as 0 available" for t in self.room_types_without_units]
        out += [f"{hotel_id}: block {b} names a room of unknown type; it blocks nothing" for b in self.unplaced_blocks]
        return out

    def __bool__(self) -> bool:
        return bool(self.unmapped_room_types or self.unmapped_rate_plans or self.room_types_without_units
                    or self.unplaced_blocks)


def _table(tx: Tx, name: str, sql: str, params: dict, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """The query's rows typed as ``schema`` (an empty Postgres answer has untyped columns); empty if no table."""
    if not tx.table_exists(name):
        return pl.DataFrame(schema=schema)
    frame = tx.query(sql, params)
    return frame.select([pl.col(c).cast(t) for c, t in schema.items()])


def _nights(frame: pl.DataFrame, start: str, end: str) -> pl.DataFrame:
    """One row per night [start, end) of each row (end exclusive)."""
    return frame.with_columns(
        pl.date_ranges(pl.col(start), pl.col(end), interval="1d", closed="left").alias("stay_date")
    ).explode("stay_date").drop_nulls("stay_date")


def compute_availability(tx: Tx, hotel: HotelChannel, as_of: date, computed_at: datetime) -> tuple[
        pl.DataFrame, MappingIssues]:
    """The hotel's availability frame (CHANNEL_AVAILABILITY columns) for nights as_of .. as_of + horizon - 1."""
    h = hotel.hotel_id
    end = as_of + timedelta(days=hotel.horizon_days)
    issues = MappingIssues()
    params = {"h": h, "t": as_of, "e": end}
    rooms = _table(tx, "rooms", "SELECT DISTINCT room_type, room_number FROM rooms WHERE hotel_id = :h", params,
                   {"room_type": pl.String, "room_number": pl.String})
    physical = rooms.group_by("room_type").agg(pl.col("room_number").n_unique().alias("physical_rooms"))
    res = _table(tx, "reservations", """
        SELECT room_type, arrival_date, departure_date, checked_out_on FROM reservations
        WHERE hotel_id = :h AND status IN ('confirmed', 'checked_in', 'checked_out')
          AND departure_date > :t AND arrival_date < :e AND nights > 0""", params,
                 {"room_type": pl.String, "arrival_date": pl.Date, "departure_date": pl.Date,
                  "checked_out_on": pl.Date})
    res = res.with_columns(
        pl.min_horizontal(pl.col("departure_date"), pl.col("checked_out_on").fill_null(pl.col("departure_date")))
        .alias("until"))
    sold = _nights(res, "arrival_date", "until").group_by("room_type", "stay_date").agg(
        pl.len().cast(pl.Int64).alias("rooms_sold"))
    blocks = _table(tx, CHANNEL_BLOCKS.name, """
        SELECT block_id, room_type, room_number, from_date, to_date FROM channel_blocks
        WHERE hotel_id = :h AND active AND to_date >= :t AND from_date < :e""", params,
                    {k: v for k, v in CHANNEL_BLOCKS.polars_schema().items()
                     if k in ("block_id", "room_type", "room_number", "from_date", "to_date")})
    issues.unplaced_blocks = sorted(blocks.filter(pl.col("room_type").is_null())["block_id"].to_list())
    blocked = _nights(blocks.drop_nulls("room_type").with_columns((pl.col("to_date") + pl.duration(days=1)).alias(
        "until")), "from_date", "until").group_by("room_type", "stay_date").agg(
        pl.col("room_number").n_unique().cast(pl.Int64).alias("rooms_out_of_order"))
    rates = _table(tx, CHANNEL_RATES.name, """
        SELECT room_type, rate_plan, stay_date, price, min_stay FROM channel_rates
        WHERE hotel_id = :h AND stay_date >= :t AND stay_date < :e""", params,
                   {k: v for k, v in CHANNEL_RATES.polars_schema().items()
                    if k in ("room_type", "rate_plan", "stay_date", "price", "min_stay")})
    issues.unmapped_rate_plans = sorted(set(rates["rate_plan"].to_list()) - set(hotel.rate_plans))

    seen: dict[str, int] = {}
    for frame, col in ((physical, "physical_rooms"), (res.group_by("room_type").len(), "len")):
        for t, n in frame.select("room_type", col).iter_rows():
            if t is not None:
                seen[t] = seen.get(t, 0) + int(n)
    types = sorted(set(seen) | set(hotel.room_types))
    issues.unmapped_room_types = {t: n for t, n in seen.items() if t not in hotel.room_types}
    units = {t: m.units for t, m in hotel.room_types.items() if m.units is not None}
    physical_of = dict(physical.iter_rows())
    grid = pl.DataFrame({"room_type": types}).join(
        pl.DataFrame({"stay_date": pl.date_range(as_of, end, "1d", closed="left", eager=True)}), how="cross")
    counts = {t: int(physical_of.get(t) or units.get(t) or 0) for t in types}
    issues.room_types_without_units = sorted(t for t in hotel.room_types if counts[t] == 0)
    plan = hotel.base_plan
    mapped_rates = rates.filter(pl.col("rate_plan").is_in(list(hotel.rate_plans)))
    prices = mapped_rates.filter(pl.col("price").is_not_null()).group_by("room_type", "stay_date").agg(
        pl.struct("rate_plan", "price").alias("p"))
    min_stay = mapped_rates.filter(pl.col("rate_plan") == plan).select("room_type", "stay_date", "min_stay")
    out = (grid.join(sold, on=["room_type", "stay_date"], how="left")
           .join(blocked, on=["room_type", "stay_date"], how="left")
           .join(prices, on=["room_type", "stay_date"], how="left")
           .join(min_stay, on=["room_type", "stay_date"], how="left")
           .with_columns(pl.col("room_type").replace_strict(counts, return_dtype=pl.Int64).alias("physical_rooms"),
                         pl.col("rooms_sold").fill_null(0), pl.col("rooms_out_of_order").fill_null(0)))
    taken = pl.col("rooms_sold") + pl.col("rooms_out_of_order")
    out = out.with_columns(
        (pl.col("physical_rooms") - taken).clip(lower_bound=0).alias("units_available"),
        (taken - pl.col("physical_rooms")).clip(lower_bound=0).alias("overbooked"),
        pl.col("p").map_elements(
            lambda items: json.dumps({i["rate_plan"]: i["price"] for i in items}, sort_keys=True),
            return_dtype=pl.String).fill_null("{}").alias("prices"),
        pl.lit(h).alias("hotel_id"), pl.lit(as_of).alias("as_of_date"), pl.lit(computed_at).alias("computed_at"),
    )
    return CHANNEL_AVAILABILITY.conform(out).sort("room_type", "stay_date"), issues


def refresh_availability(warehouse: Warehouse, hotel: HotelChannel, as_of: date, computed_at: datetime) -> tuple[
        pl.DataFrame, MappingIssues]:
    """Recompute and replace the hotel's rows of ``channel_availability`` in one transaction."""
    with warehouse.transaction() as tx:
        tx.ensure_table(CHANNEL_AVAILABILITY)
        tx.lock_for_rewrite(CHANNEL_AVAILABILITY.name)
        frame, issues = compute_availability(tx, hotel, as_of, computed_at)
        tx.execute("DELETE FROM channel_availability WHERE hotel_id = :h", {"h": hotel.hotel_id})
        tx.insert_frame(CHANNEL_AVAILABILITY.name, frame)
    return frame, issues
