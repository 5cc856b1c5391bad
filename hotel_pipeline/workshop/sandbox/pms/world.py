"""The sandbox's world: the bundled data set as a PMS would know it at any instant of a settable clock.

Why: connectors must be tested against a service whose answers change over time exactly like the booking history
does, so that incremental pulls, reconciliation and the nightly recorder can be checked against
``dataset.state_as_of``. Every vendor handler renders rows of this one world in its own words.

Event times. The data set knows events only by date; the contract counts such an event at the end of its business
day. The world stamps each event at a deterministic instant between 23:00 and 23:59 hotel-local on its date
(creation first, then check-in, then the final event), so that at 03:00 on day S exactly the events dated S-1 or
earlier are visible: ``World.state(h, local_instant(S, tz, 3))`` equals ``state_as_of(history, S - 1)``.

Rooms. Bookings that actually stayed (final status checked_out) get a room of their *assigned* room type, chosen
greedily so that no two stays share a room on any night (rooms are named ``<type><100+n>``, e.g. ``A101``).
Cancelled and no-show bookings never get a room. Guests get seeded fake names, e-mails and phones.
"""

from __future__ import annotations

import heapq
import threading
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl

from hotel_pipeline.sources.csv.dataset import MEAL_PLANS, load_history

FIRST_NAMES = [
    "Ana", "João", "Maria", "Pedro", "Inês", "Tiago", "Sofia", "Miguel", "Beatriz", "Rui", "Emma", "Liam", "Olivia",
    "Noah", "Mia", "Lucas", "Léa", "Hugo", "Clara", "Paul", "Anna", "Jonas", "Giulia", "Marco", "Elena", "Pablo",
    "Lucía", "Hannah", "Oliver", "Chloe", "Sven", "Ingrid", "Yuki", "Omar", "Fatima", "Ivan",
]
LAST_NAMES = [
    "Silva", "Santos", "Ferreira", "Pereira", "Oliveira", "Costa", "Rodrigues", "Martins", "Smith", "Jones",
    "Brown", "Müller", "Schmidt", "Dubois", "Martin", "Rossi", "Bianchi", "García", "López", "Novak", "Jensen",
    "Andersson", "Kowalski", "O'Brien", "Tanaka", "Haddad", "Petrov", "Moreau", "Weber", "Fischer",
]

#: Seconds after 23:00 local at which each event kind is stamped (plus a per-booking offset below 3,000 s).
EVENT_OFFSETS = {"created": 0, "checkin": 10, "final": 20}


def _mix(refs: np.ndarray, seed: int, salt: int) -> np.ndarray:
    """splitmix64 of (ref, seed, salt): a cheap, seeded, vectorised hash so a booking's fakes do not depend on
    which subset of the data set the world serves."""
    with np.errstate(over="ignore"):
        z = refs.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(seed * 1_000_003 + salt)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _pick(refs: np.ndarray, seed: int, salt: int, n: int) -> np.ndarray:
    return (_mix(refs, seed, salt) % np.uint64(n)).astype(np.int64)


def _event_instant(day: pl.Expr, offset: pl.Expr, timezone: str) -> pl.Expr:
    """23:00 local on ``day`` + ``offset`` seconds, as an aware UTC datetime."""
    local = day.cast(pl.Datetime("us")) + pl.duration(hours=23) + pl.duration(seconds=offset)
    return local.dt.replace_time_zone(timezone, ambiguous="earliest", non_existent="null").dt.convert_time_zone("UTC")


def assign_rooms(stays: pl.DataFrame) -> dict[int, str]:
    """booking_ref -> room name, per hotel and room type, with no two stays in one room on one night.

    ``stays`` holds booking_ref, hotel_id, room_type (the assigned type), arrival_date, departure_date. A 0-night
    stay holds its room for the arrival night so that it still gets a number.
    """
    rooms: dict[int, str] = {}
    ordered = stays.sort(["hotel_id", "room_type", "arrival_date", "booking_ref"])
    groups: dict[tuple[str, str], list[tuple[int, date, date]]] = defaultdict(list)
    for ref, hotel, rtype, arrival, departure in ordered.select(
        "booking_ref", "hotel_id", "room_type", "arrival_date", "departure_date"
    ).iter_rows():
        groups[(hotel, rtype)].append((ref, arrival, max(departure, arrival + timedelta(days=1))))
    for (_hotel, rtype), items in groups.items():
        busy: list[tuple[date, int]] = []  # (free from, room index)
        free: list[int] = []  # room indexes free now (lowest first)
        count = 0
        for ref, arrival, departure in items:
            while busy and busy[0][0] <= arrival:
                heapq.heappush(free, heapq.heappop(busy)[1])
            if free:
                index = heapq.heappop(free)
            else:
                index = count
                count += 1
            heapq.heappush(busy, (departure, index))
            rooms[ref] = f"{rtype}{101 + index}"
    return rooms


def fake_guests(refs: pl.Series, seed: int) -> pl.DataFrame:
    """Seeded fake first name, last name, e-mail and phone of each booking's guest (vectorised)."""
    r = refs.to_numpy()
    first = pl.Series("first_name", FIRST_NAMES).gather(_pick(r, seed, 1, len(FIRST_NAMES)))
    last = pl.Series("last_name", LAST_NAMES).gather(_pick(r, seed, 2, len(LAST_NAMES)))
    frame = pl.DataFrame({"first_name": first, "last_name": last, "ref": refs})
    plain = (pl.col("first_name") + "." + pl.col("last_name")).str.to_lowercase().str.replace_all("'", "")
    for a, b in (("ã", "a"), ("ç", "c"), ("é", "e"), ("í", "i"), ("ê", "e"), ("ü", "u"), ("ó", "o"), ("ú", "u")):
        plain = plain.str.replace_all(a, b, literal=True)
    p1 = pl.Series(_pick(r, seed, 3, 60) + 10)
    p2 = pl.Series(_pick(r, seed, 4, 900) + 100)
    p3 = pl.Series(_pick(r, seed, 5, 900) + 100)
    return frame.with_columns(
        (plain + (pl.col("ref") % 1000).cast(pl.String) + "@example.org").alias("email"),
        pl.format("+351 9{} {} {}", pl.lit(p1), pl.lit(p2), pl.lit(p3)).alias("phone"),
    ).drop("ref")


class World:
    """The bookings of the data set with their event instants, rooms and guests; ``state(hotel, now)`` per instant.

    ``hotel_ids`` and ``arrival_from``/``arrival_to`` restrict the world (tests serve a subset to stay fast).
    """

    def __init__(
        self,
        history: pl.DataFrame | None = None,
        *,
        hotel_ids: list[str] | None = None,
        timezones: dict[str, str] | None = None,
        currencies: dict[str, str] | None = None,
        arrival_from: date | None = None,
        arrival_to: date | None = None,
        seed: int = 7,
        now: datetime | None = None,
    ) -> None:
        history = history if history is not None else load_history()
        if hotel_ids:
            history = history.filter(pl.col("hotel_id").is_in(hotel_ids))
        if arrival_from:
            history = history.filter(pl.col("arrival_date") >= arrival_from)
        if arrival_to:
            history = history.filter(pl.col("arrival_date") <= arrival_to)
        self.seed = seed
        self.hotel_ids = sorted(history["hotel_id"].unique().to_list())
        self.timezones = {h: (timezones or {}).get(h, "Europe/Lisbon") for h in self.hotel_ids}
        self.currencies = {h: (currencies or {}).get(h, "EUR") for h in self.hotel_ids}
        self._lock = threading.Lock()
        self._now = now or datetime(2016, 8, 1, 2, 0, tzinfo=UTC)
        self._cache: dict[tuple[str, datetime], pl.DataFrame] = {}
        self.bookings = self._build(history)

    # -- the clock ---------------------------------------------------------------------------------------------
    @property
    def now(self) -> datetime:
        return self._now

    def set_now(self, instant: datetime) -> None:
        """Move the sandbox clock (aware instant; naive means UTC)."""
        with self._lock:
            self._now = instant if instant.tzinfo else instant.replace(tzinfo=UTC)
            self._cache.clear()

    # -- building ----------------------------------------------------------------------------------------------
    def _build(self, history: pl.DataFrame) -> pl.DataFrame:
        refs = history["booking_ref"].to_list()
        offsets = pl.Series("offset", _pick(history["booking_ref"].to_numpy(), self.seed, 0, 3000))
        guests = fake_guests(history["booking_ref"], self.seed)
        stayed = history.filter(pl.col("status") == "checked_out").select(
            "booking_ref", "hotel_id", pl.col("assigned_room_type").alias("room_type"), "arrival_date", "departure_date"
        )
        rooms = assign_rooms(stayed)
        frame = history.with_columns(
            offsets,
            *guests.get_columns(),
            pl.Series("room_number", [rooms.get(r) for r in refs], dtype=pl.String),
        )
        parts = []
        for hotel_id in self.hotel_ids:
            tz = self.timezones[hotel_id]
            part = frame.filter(pl.col("hotel_id") == hotel_id)
            parts.append(
                part.with_columns(
                    _event_instant(pl.col("booked_on"), pl.col("offset") + EVENT_OFFSETS["created"], tz).alias("created_at"),
                    pl.when(pl.col("status") == "checked_out")
                    .then(_event_instant(pl.col("arrival_date"), pl.col("offset") + EVENT_OFFSETS["checkin"], tz))
                    .alias("checkin_at"),
                    _event_instant(pl.col("status_date"), pl.col("offset") + EVENT_OFFSETS["final"], tz).alias("final_at"),
                    pl.lit(self.currencies[hotel_id]).alias("currency"),
                )
            )
        children = pl.col("children").str.strip_chars()
        return pl.concat(parts).select(
            pl.col("booking_ref"),
            pl.col("booking_ref").cast(pl.String).alias("external_id"),
            "hotel_id",
            pl.col("status").alias("final_status"),
            "booked_on", "arrival_date", "departure_date", "nights",
            pl.col("status_date").alias("final_date"),
            pl.col("reserved_room_type").alias("room_type"),
            pl.col("assigned_room_type"),
            "room_number",
            pl.col("adults").cast(pl.Int32),
            pl.when(children == "NA").then(None).otherwise(children).cast(pl.Int32).alias("children"),
            pl.col("babies").cast(pl.Int32),
            pl.col("meal").str.strip_chars().alias("meal_code"),
            pl.col("meal").str.strip_chars().replace_strict(MEAL_PLANS, default="unknown").alias("meal_plan"),
            pl.col("adr_value").alias("adr"),
            (pl.col("adr_value") * pl.col("nights")).round(2).alias("net_amount"),
            "currency",
            pl.col("distribution_channel").alias("channel"),
            "market_segment", "country",
            "first_name", "last_name", "email", "phone",
            "created_at", "checkin_at", "final_at",
        ).sort("booking_ref")

    # -- state at an instant -----------------------------------------------------------------------------------
    def state(self, hotel_id: str, now: datetime | None = None) -> pl.DataFrame:
        """Bookings of ``hotel_id`` visible at ``now`` (default: the sandbox clock), with their status then.

        Columns: the world columns plus status, cancelled_on, checked_out_on, cancelled_at, checked_in_at,
        checked_out_at and modified_at (latest visible event). Cached per instant.
        """
        now = now or self._now
        key = (hotel_id, now)
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None:
            return cached
        at = pl.lit(now.astimezone(UTC)).dt.convert_time_zone("UTC")
        final_seen = pl.col("final_at") <= at
        checkin_seen = pl.col("checkin_at").is_not_null() & (pl.col("checkin_at") <= at)
        status = (
            pl.when(final_seen).then(pl.col("final_status"))
            .when(checkin_seen).then(pl.lit("checked_in"))
            .otherwise(pl.lit("confirmed"))
        )
        frame = (
            self.bookings.filter((pl.col("hotel_id") == hotel_id) & (pl.col("created_at") <= at))
            .with_columns(status.alias("status"))
            .with_columns(
                pl.when(pl.col("status").is_in(["cancelled", "no_show"])).then(pl.col("final_date")).alias("cancelled_on"),
                pl.when(pl.col("status").is_in(["cancelled", "no_show"])).then(pl.col("final_at")).alias("cancelled_at"),
                pl.when(pl.col("status") == "checked_out").then(pl.col("final_date")).alias("checked_out_on"),
                pl.when(pl.col("status") == "checked_out").then(pl.col("final_at")).alias("checked_out_at"),
                pl.when(checkin_seen).then(pl.col("checkin_at")).alias("checked_in_at"),
                pl.max_horizontal(
                    pl.col("created_at"),
                    pl.when(checkin_seen).then(pl.col("checkin_at")),
                    pl.when(final_seen).then(pl.col("final_at")),
                ).alias("modified_at"),
            )
        )
        with self._lock:
            if len(self._cache) > 16:
                self._cache.clear()
            self._cache[key] = frame
        return frame

    def rooms(self, hotel_id: str) -> pl.DataFrame:
        """Every room of the hotel (room_number, room_type = the room's own type), sorted by name."""
        return (
            self.bookings.filter((pl.col("hotel_id") == hotel_id) & pl.col("room_number").is_not_null())
            .group_by("room_number").agg(pl.col("assigned_room_type").first().alias("room_type"))
            .sort("room_number")
        )

    def room_types(self, hotel_id: str) -> list[str]:
        frame = self.bookings.filter(pl.col("hotel_id") == hotel_id)
        return sorted(set(frame["room_type"].to_list()) | set(frame["assigned_room_type"].to_list()))
