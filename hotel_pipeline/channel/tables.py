"""The channel domain's tables: what we intend Beds24 to hold, what it acknowledged, and the outbox between them."""

from __future__ import annotations

from hotel_pipeline.core.warehouse import spec

CHANNEL_BLOCKS = spec(
    "channel_blocks",
    [
        ("block_id", "VARCHAR", "id of the block (the CSV's block_id, or a digest of hotel, room, from and to)"),
        ("hotel_id", "VARCHAR", "portfolio hotel id"),
        ("room_number", "VARCHAR", "the room taken out of order"),
        ("room_type", "VARCHAR", "its room type (from the CSV, else from the rooms table)"),
        ("from_date", "DATE", "first night out of order"),
        ("to_date", "DATE", "last night out of order (inclusive, as Beds24's from/to)"),
        ("reason", "VARCHAR", "maintenance, housekeeping, ... as the hotel wrote it"),
        ("active", "BOOLEAN", "false once the block was removed (action=remove); kept for history"),
        ("origin", "VARCHAR", "the inbox file that delivered it, or 'table' for rows written directly"),
        ("updated_at", "TIMESTAMP", "when the pipeline accepted this state (UTC)"),
    ],
    primary_key=("block_id",),
    doc="Maintenance and housekeeping blocks: rooms out of order between two dates, which the channel must not sell.",
    grain="(block_id)",
)

CHANNEL_RATES = spec(
    "channel_rates",
    [
        ("hotel_id", "VARCHAR", "portfolio hotel id"),
        ("room_type", "VARCHAR", "PMS room type"),
        ("rate_plan", "VARCHAR", "rate plan code (mapped to a Beds24 price slot in the channel configuration)"),
        ("stay_date", "DATE", "the night"),
        ("price", "DOUBLE", "price of the night in the hotel's currency"),
        ("min_stay", "INTEGER", "minimum stay in nights for arrivals on this night; null = no restriction"),
        ("origin", "VARCHAR", "the rates CSV that delivered it, or 'mews' (rates/getPricing)"),
        ("updated_at", "TIMESTAMP", "when the pipeline accepted it (UTC)"),
    ],
    primary_key=("hotel_id", "room_type", "rate_plan", "stay_date"),
    doc="Nightly rate and minimum stay per room type and rate plan: the rate source of the channel push.",
    grain="(hotel_id, room_type, rate_plan, stay_date)",
)

CHANNEL_AVAILABILITY = spec(
    "channel_availability",
    [
        ("hotel_id", "VARCHAR", "portfolio hotel id"),
        ("room_type", "VARCHAR", "PMS room type"),
        ("stay_date", "DATE", "the night, from the business date T to T + 364"),
        ("physical_rooms", "INTEGER", "rooms of the type (rooms table, else the configured units)"),
        ("rooms_sold", "INTEGER", "room nights on the books (unified model, every source)"),
        ("rooms_out_of_order", "INTEGER", "rooms of the type blocked this night"),
        ("units_available", "INTEGER", "physical - sold - out of order, never below zero"),
        ("overbooked", "INTEGER", "how far sold + out of order exceed the physical rooms (0 = not overbooked)"),
        ("min_stay", "INTEGER", "minimum stay of the night (the configured min-stay rate plan); null = none"),
        ("prices", "VARCHAR", "JSON {rate_plan: price} of the night's rates"),
        ("as_of_date", "DATE", "the business date T it was computed for"),
        ("computed_at", "TIMESTAMP", "clock instant of the computation (UTC)"),
    ],
    primary_key=("hotel_id", "room_type", "stay_date"),
    doc="What the channel should sell: per hotel, room type and night of the next 365, the units free and their rate.",
    grain="(hotel_id, room_type, stay_date)",
)

CHANNEL_CALENDAR_STATE = spec(
    "channel_calendar_state",
    [
        ("hotel_id", "VARCHAR", "portfolio hotel id"),
        ("room_id", "BIGINT", "Beds24 roomId"),
        ("stay_date", "DATE", "the night"),
        ("planned", "VARCHAR", "JSON of the values last queued for this night (numAvail, minStay, priceN)"),
        ("planned_outbox_id", "BIGINT", "the channel_outbox row that carries them"),
        ("pushed", "VARCHAR", "JSON of the values Beds24 last acknowledged; null = never pushed"),
        ("pushed_at", "TIMESTAMP", "when Beds24 acknowledged them (UTC)"),
    ],
    primary_key=("hotel_id", "room_id", "stay_date"),
    doc="Per Beds24 room and night: the values queued last and the values Beds24 acknowledged (the push's diff base).",
    grain="(hotel_id, room_id, stay_date)",
)

CHANNEL_BOOKINGS = spec(
    "channel_bookings",
    [
        ("hotel_id", "VARCHAR", "portfolio hotel id"),
        ("source", "VARCHAR", "source of the reservation (never beds24: those are not pushed back)"),
        ("external_id", "VARCHAR", "the source's reservation id"),
        ("api_reference", "VARCHAR", "idempotency reference sent as apiReference (hp:<hotel>:<source>:<id>)"),
        ("beds24_id", "BIGINT", "the Beds24 booking id, once the create is acknowledged"),
        ("planned_version", "INTEGER", "reservations.version last queued"),
        ("planned", "VARCHAR", "JSON of the booking last queued (what Beds24 should hold)"),
        ("planned_status", "VARCHAR", "Beds24 status last queued (confirmed or cancelled)"),
        ("pushed", "VARCHAR", "JSON of the booking Beds24 last acknowledged"),
        ("pushed_at", "TIMESTAMP", "when Beds24 acknowledged it (UTC)"),
    ],
    primary_key=("hotel_id", "source", "external_id"),
    doc="Per reservation taken outside Beds24: its Beds24 booking id and what was queued and acknowledged.",
    grain="(hotel_id, source, external_id)",
)

OUTBOX_STATES = ("pending", "sent", "acknowledged", "failed")

CHANNEL_OUTBOX = spec(
    "channel_outbox",
    [
        ("outbox_id", "BIGINT", "increasing id: rows of one entity are applied in this order"),
        ("hotel_id", "VARCHAR", "portfolio hotel id"),
        ("kind", "VARCHAR", "calendar or booking"),
        ("entity", "VARCHAR", "what it changes: room:<roomId> or booking:<source>:<external_id>"),
        ("operation", "VARCHAR", "calendar, create, update or cancel"),
        ("payload", "VARCHAR", "the Beds24 request item (JSON), as it will be sent"),
        ("api_reference", "VARCHAR", "idempotency reference of a booking (apiReference); null for calendar rows"),
        ("state", "VARCHAR", "pending, sent (a request may have reached Beds24), acknowledged or failed"),
        ("attempts", "INTEGER", "requests made for this row"),
        ("last_error", "VARCHAR", "the latest error (never a secret)"),
        ("result", "VARCHAR", "Beds24's answer for this item (JSON: success, errors, warnings, new id)"),
        ("beds24_id", "BIGINT", "Beds24 booking id (booking rows, once known)"),
        ("created_at", "TIMESTAMP", "when the change was queued (UTC)"),
        ("sent_at", "TIMESTAMP", "latest request for it (UTC)"),
        ("acknowledged_at", "TIMESTAMP", "when Beds24 acknowledged it (UTC)"),
    ],
    primary_key=("outbox_id",),
    doc="Durable outbox of every intended change to Beds24, queued in the same transaction as the intent it carries.",
    grain="(outbox_id)",
)

CHANNEL_DRIFT = spec(
    "channel_drift",
    [
        ("checked_at", "TIMESTAMP", "clock instant of the read-back (UTC)"),
        ("hotel_id", "VARCHAR", "portfolio hotel id"),
        ("kind", "VARCHAR", "calendar or booking"),
        ("entity", "VARCHAR", "room:<roomId> or booking:<source>:<external_id>"),
        ("stay_date", "DATE", "the night (calendar drift); null for bookings"),
        ("field", "VARCHAR", "the field that differs (numAvail, minStay, price1, status, arrival, ...; missing)"),
        ("intended", "VARCHAR", "what we acknowledged as pushed"),
        ("actual", "VARCHAR", "what Beds24 holds"),
        ("trigger", "VARCHAR", "schedule, webhook or command"),
    ],
    doc="Differences between what Beds24 holds and what it acknowledged from us, found by the reconciliation read-back.",
    grain="one row per (read-back, entity, night, field) that differs",
)

CHANNEL_TABLES = (CHANNEL_BLOCKS, CHANNEL_RATES, CHANNEL_AVAILABILITY, CHANNEL_CALENDAR_STATE, CHANNEL_BOOKINGS,
                  CHANNEL_OUTBOX, CHANNEL_DRIFT)
