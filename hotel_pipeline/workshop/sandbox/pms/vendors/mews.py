"""Mews Connector API as the sandbox serves it (MewsSystems/gitbook-connector-api, operations/*.md).

Every call is a POST with ``ClientToken``, ``AccessToken`` and ``Client`` in the JSON body. A reservation carries no
amount and no guest name: amounts are order items (one ``SpaceOrder`` item per night, ``Amount {Currency, NetValue,
GrossValue}``), names are customers, meal plans are product order items of board products (BFST, HB, FB, BRD-TBC).
Traps reproduced: ``UpdatedUtc`` intervals longer than 3 months answer 400; a query matching more than
``heavy_query_limit`` reservations answers 408 (shrink the interval and retry); 200 requests per AccessToken per 30 s;
a request missing what the operation's page marks required (``Limitation``; ``Extent`` for customers and resources;
``ServiceIds`` for resource categories and products; ``ResourceCategoryIds`` for assignments; a filter for order items
and customers) answers 400 with Mews' error body. The order items of a cancelled booking are ``Canceled`` *with the
reservation*; some stays also carry a night re-priced (the old item ``Canceled`` on its own) or a night rebated
(a ``NightRebate`` item taking back an extra charge), so only a reading of the documented accounting rules gives the
stay's amount. Names are served in ``en-GB`` (the property's language), not ``en-US``.
Ids are deterministic UUIDs (uuid5) of the booking, so every run serves the same ids.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import polars as pl

from hotel_pipeline.core.collector import collector_paused
from hotel_pipeline.workshop.sandbox.pms.base import (
    RateLimitSpec,
    SandboxError,
    SandboxRequest,
    SandboxResponse,
    VendorHandler,
    iso_z,
    parse_instant,
)

NAMESPACE = uuid.UUID("6f1d8a52-3c1e-4b8e-9a57-0d7f4e2b9c11")
_NS = NAMESPACE.bytes
API = "/api/connector/v1/"
MAX_COUNT = 1000
MAX_INTERVAL = timedelta(days=92)  # "at most 3 months"

STATE = {"confirmed": "Confirmed", "checked_in": "Started", "checked_out": "Processed", "cancelled": "Canceled",
         "no_show": "Canceled"}
#: Board products of the sandbox property: (ShortName, name) per unified meal plan (RO has none).
BOARD_PRODUCTS = {"BB": ("BFST", "Breakfast"), "HB": ("HB", "Half board"), "FB": ("FB", "Full board"),
                  "unknown": ("BRD-TBC", "Board to be confirmed")}
AGE_CATEGORIES = {"adults": ("Adult", 18, None), "children": ("Child", 3, 17), "babies": ("Child", 0, 2)}
VAT = 0.06
LOCALE = "en-GB"


def mews_id(kind: str, hotel_id: str, key: object) -> str:
    """The deterministic Mews id (a name-based, version-5-shaped UUID) of a world object.

    Same construction as ``uuid.uuid5`` (SHA-1 of namespace + name) without building UUID objects: the sandbox
    mints tens of thousands per request."""
    h = hashlib.sha1(_NS + f"{kind}:{hotel_id}:{key}".encode(), usedforsecurity=False).hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:32]}"


@cache
def _iso_local(day: date, hour: int, tz: str) -> str:
    return iso_z(local_instant(day, hour, tz)) or ""


@cache
def _ids(kind: str, hotel_id: str, refs: tuple[int, ...]) -> dict[int, str]:
    return {r: mews_id(kind, hotel_id, r) for r in refs}


def local_instant(day: date, hour: int, tz: str) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo(tz))


class MewsHandler(VendorHandler):
    name: ClassVar[str] = "mews"
    rate_limit: ClassVar[RateLimitSpec | None] = RateLimitSpec(200, 30.0)
    credential_fields: ClassVar[tuple[str, ...]] = ("client_token", "access_token")

    heavy_query_limit: int = 20_000

    @classmethod
    def reservation_id(cls, hotel_id: str, booking_ref: int) -> str:
        return mews_id("reservation", hotel_id, booking_ref)

    # -- protocol ----------------------------------------------------------------------------------------------
    def error_response(self, status: int, message: str, headers: dict[str, str] | None = None) -> SandboxResponse:
        return SandboxResponse(status, {"Message": message, "RequestId": None}, dict(headers or {}))

    def authenticate(self, request: SandboxRequest) -> tuple[str, str]:
        if request.method != "POST":
            raise SandboxError(405, "Every Connector API operation is a POST.")
        body = request.json()
        hotel_id = self.hotel_for("access_token", body.get("AccessToken"))
        if hotel_id is None or self.credentials[hotel_id].get("client_token") != body.get("ClientToken"):
            raise SandboxError(401, "Invalid ClientToken or AccessToken.")
        if not body.get("Client"):
            raise SandboxError(400, "Client is required.")
        return hotel_id, str(body["AccessToken"])

    def route(self, request: SandboxRequest, hotel_id: str) -> SandboxResponse:
        op = request.path.removeprefix(API).rstrip("/")
        body = request.json()
        ops = {
            "reservations/getAll/2023-06-06": self.reservations,
            "orderItems/getAll": self.order_items,
            "customers/getAll": self.customers,
            "resources/getAll": self.resources,
            "resourceCategories/getAll": self.resource_categories,
            "resourceCategoryAssignments/getAll": self.resource_category_assignments,
            "products/getAll": self.products,
            "ageCategories/getAll": self.age_categories,
            "services/getAll": self.services,
            "rates/getPricing": self.rates_pricing,
        }
        if op not in ops:
            raise SandboxError(404, f"Unknown operation {op}.")
        return SandboxResponse(200, ops[op](hotel_id, body))

    def spoilable(self, request: SandboxRequest) -> bool:
        """Planted bad records are reservations (order items and catalogues stay intact)."""
        return "reservations/getAll" in request.path

    # -- helpers -----------------------------------------------------------------------------------------------
    def _limitation(self, body: dict) -> tuple[int, str | None]:
        lim = body.get("Limitation") or {}
        count = lim.get("Count")
        if not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
            raise SandboxError(400, f"Limitation.Count must be between 1 and {MAX_COUNT}.")
        return count, lim.get("Cursor")

    def _page(self, items: list[dict], body: dict) -> tuple[list[dict], str | None]:
        """Keyset paging by Id (``items`` sorted by Id): items after the cursor, ``Cursor`` null at the end."""
        count, cursor = self._limitation(body)
        start = 0
        if cursor:
            start = next((n for n, i in enumerate(items) if i["Id"] > cursor), len(items))
        if start > 0 and self.dice.page_fault() == "repeat":
            start = max(0, start - count)  # keyset paging cannot skip; a repeat serves the previous page again
        page = items[start:start + count]
        end = start + count >= len(items)
        return page, None if end or not page else page[-1]["Id"]

    def _ids_filter(self, body: dict, key: str) -> list[str] | None:
        ids = body.get(key)
        if ids is None:
            return None
        if not isinstance(ids, list) or len(ids) > MAX_COUNT:
            raise SandboxError(400, f"{key} must be a list of at most {MAX_COUNT} ids.")
        return ids

    def _state(self, hotel_id: str) -> pl.DataFrame:
        """The world's state of the hotel with the Mews ids of reservations and customers, kept per clock instant:
        a full extract asks for it on every page (hundreds of times), and mapping the ids was most of its cost."""
        key = (hotel_id, self.world.now)
        cached = self.__dict__.setdefault("_state_cache", {})
        state = cached.get(key)
        if state is None:
            state = self._mews_state(hotel_id)
            if len(cached) >= 4:
                cached.clear()  # instants of an earlier clock
            cached[key] = state
        return state

    def _mews_state(self, hotel_id: str) -> pl.DataFrame:
        state = self.world.state(hotel_id)
        refs = tuple(self.world.bookings.filter(pl.col("hotel_id") == hotel_id)["booking_ref"].to_list())
        return state.with_columns(
            pl.col("booking_ref").replace_strict(_ids("reservation", hotel_id, refs), return_dtype=pl.String)
            .alias("mews_id"),
            pl.col("booking_ref").replace_strict(_ids("customer", hotel_id, refs), return_dtype=pl.String)
            .alias("customer_id"),
        )

    # -- operations --------------------------------------------------------------------------------------------
    def reservations(self, hotel_id: str, body: dict) -> dict:
        self._require(body)
        state = self._state(hotel_id)
        ids = self._ids_filter(body, "ReservationIds")
        if ids is not None:
            state = state.filter(pl.col("mews_id").is_in(ids))
        interval = body.get("UpdatedUtc")
        if interval:
            start = parse_instant(interval.get("StartUtc"), "UpdatedUtc.StartUtc")
            end = parse_instant(interval.get("EndUtc"), "UpdatedUtc.EndUtc")
            if start is None or end is None or end < start:
                raise SandboxError(400, "UpdatedUtc needs StartUtc <= EndUtc.")
            if end - start > MAX_INTERVAL:
                raise SandboxError(400, "The UpdatedUtc interval must not be longer than 3 months.")
            state = state.filter((pl.col("modified_at") >= start) & (pl.col("modified_at") <= end))
        elif ids is None:
            raise SandboxError(400, "Either ReservationIds or UpdatedUtc must be specified.")
        states = body.get("States")
        if states:
            state = state.filter(pl.col("status").replace_strict(STATE, return_dtype=pl.String).is_in(states))
        if state.height > self.heavy_query_limit:
            raise SandboxError(408, "The request took too long to process. Narrow the interval and retry.")
        tz = self.world.timezones[hotel_id]
        count, cursor = self._limitation(body)
        state = state.sort("mews_id")
        if cursor:
            state = state.filter(pl.col("mews_id") > cursor)
        rows = state.head(count + 1).to_dicts()
        items = [self._reservation(r, hotel_id, tz) for r in rows]
        page, next_cursor = items[:count], (items[count - 1]["Id"] if len(items) > count else None)
        if cursor and page and self.dice.page_fault() == "repeat":
            # the page again with the cursor not advanced: the client sees duplicates, never a gap
            next_cursor = cursor
        return {"Reservations": page, "Cursor": next_cursor}

    def _reservation(self, r: dict[str, Any], hotel_id: str, tz: str) -> dict[str, Any]:
        start = local_instant(r["arrival_date"], 14, tz)
        end = local_instant(r["departure_date"], 12, tz) if r["nights"] else start + timedelta(hours=1)
        person_counts = []
        for column, (_cls, lo, _hi) in AGE_CATEGORIES.items():
            if r[column]:
                person_counts.append({"AgeCategoryId": mews_id("age", hotel_id, f"{column}{lo}"), "Count": r[column]})
        return {
            "Id": r["mews_id"],
            "ServiceId": mews_id("service", hotel_id, "accommodation"),
            "AccountId": mews_id("customer", hotel_id, r["booking_ref"]),
            "AccountType": "Customer",
            "Number": str(r["booking_ref"]),
            "State": STATE[r["status"]],
            "Origin": "Distributor" if r["channel"] in ("TA/TO", "GDS") else "Commander",
            "OriginDetails": r["channel"],
            "CreatedUtc": iso_z(r["created_at"]),
            "UpdatedUtc": iso_z(r["modified_at"]),
            "CancelledUtc": iso_z(r["cancelled_at"]),
            "CancellationReason": ("NoShow" if r["status"] == "no_show" else "Other")
            if r["status"] in ("cancelled", "no_show") else None,
            "RateId": mews_id("rate", hotel_id, "BAR"),
            "RequestedResourceCategoryId": mews_id("category", hotel_id, r["room_type"]),
            "AssignedResourceId": mews_id("resource", hotel_id, r["room_number"]) if r["room_number"] else None,
            "ScheduledStartUtc": iso_z(start),
            "ScheduledEndUtc": iso_z(end),
            "ActualStartUtc": iso_z(r["checked_in_at"]),
            "ActualEndUtc": iso_z(r["checked_out_at"]),
            "Purpose": "Leisure",
            "PersonCounts": person_counts,
        }

    @staticmethod
    def _require(body: dict, *names: str) -> None:
        """400 unless every documented-required field is present (Limitation is checked by ``_page``)."""
        missing = [n for n in names if body.get(n) in (None, [], {})]
        if missing:
            raise SandboxError(400, f"Missing required parameter(s): {', '.join(missing)}.")
        if "Limitation" not in body:
            raise SandboxError(400, "Missing required parameter(s): Limitation.")

    def order_items(self, hotel_id: str, body: dict) -> dict:
        ids = self._ids_filter(body, "ServiceOrderIds")
        self._require(body)
        if not ids:  # "At least one of OrderItemIds, ServiceOrderIds, ServiceIds, ... must be specified"
            raise SandboxError(400, "At least one of the OrderItemIds, ServiceOrderIds, ServiceIds, BillIds, "
                                    "CreatedUtc, UpdatedUtc, ClosedUtc filters must be specified.")
        key = (hotel_id, self.world.now, tuple(ids))
        cache = self.__dict__.setdefault("_item_cache", {})
        items = cache.get(key)
        if items is None:
            # tens of thousands of small dicts for a full extract's batch: with the collector on, its passes over
            # them were two thirds of building them (the items hold no reference cycles)
            with collector_paused():
                items = sorted(self._order_items(hotel_id, ids), key=lambda i: i["Id"])
            if len(cache) >= 4:
                cache.clear()  # pages of one id batch are asked in a row (a client may page a few batches at once)
            cache[key] = items
        page, cursor = self._page(items, body)
        return {"OrderItems": page, "Cursor": cursor}

    def _order_items(self, hotel_id: str, ids: list[str]) -> list[dict]:
        state = self._state(hotel_id).filter(pl.col("mews_id").is_in(ids))
        tz = self.world.timezones[hotel_id]
        items: list[dict] = []
        for r in state.iter_rows(named=True):
            accounting = "Canceled" if r["status"] in ("cancelled", "no_show") else "Open"
            with_reservation = accounting == "Canceled"
            for n in range(r["nights"]):
                net = r["adr"]
                consumed = _iso_local(r["arrival_date"] + timedelta(days=n), 12, tz)
                items.append(self._item(hotel_id, r, f"night{n}", "SpaceOrder", net, round(net * (1 + VAT), 2),
                                        consumed, accounting, None, with_reservation))
                if n == 0 and r["booking_ref"] % 7 == 0:  # the night was re-priced: its first item canceled alone
                    items.append(self._item(hotel_id, r, "night0-old", "SpaceOrder", net + 10.0,
                                            round((net + 10.0) * (1 + VAT), 2), consumed, "Canceled", None, False))
                if n == 1 and r["booking_ref"] % 11 == 0:  # an extra charge on the night, rebated
                    extra = self._item(hotel_id, r, "night1-extra", "SpaceOrder", 20.0, round(20.0 * (1 + VAT), 2),
                                       consumed, accounting, None, with_reservation)
                    items.append(extra)
                    items.append(self._item(hotel_id, r, "night1-rebate", "NightRebate", -20.0,
                                            -round(20.0 * (1 + VAT), 2), consumed, accounting,
                                            {"Discriminator": "Rebate", "Rebate": {
                                                "ProductId": None, "RebatedItemId": extra["Id"]}}, with_reservation))
            board = BOARD_PRODUCTS.get(r["meal_plan"])
            # a board product is posted once per night, consumed on that night (a 0-night booking still gets one)
            for n in range(max(r["nights"], 1)) if board else ():
                items.append(self._item(hotel_id, r, "board" if n == 0 else f"board{n}", "ProductOrder", 0.0, 0.0,
                                        _iso_local(r["arrival_date"] + timedelta(days=n), 12, tz), accounting,
                                        {"Discriminator": "Product",
                                         "Product": {"ProductId": mews_id("product", hotel_id, board[0])}},
                                        accounting == "Canceled"))
        return items

    def _item(self, hotel_id: str, r: dict, key: str, kind: str, net: float, gross: float, consumed: str,
              accounting: str, data: dict | None, with_reservation: bool = False) -> dict:
        amount = {"Currency": r["currency"], "NetValue": net, "GrossValue": gross,
                  "TaxValues": [{"Code": "PT-2016-R", "Value": round(gross - net, 2)}]}
        item = {
            "Id": mews_id("item", hotel_id, f"{r['booking_ref']}:{key}"),
            "AccountId": r["customer_id"],
            "ServiceOrderId": r["mews_id"],
            "Type": kind,
            "UnitCount": 1,
            "Amount": amount,
            "ConsumedUtc": consumed,
            "AccountingState": accounting,
            "Options": {"CanceledWithReservation": with_reservation},
        }
        if data:
            item["Data"] = data
        return item

    def customers(self, hotel_id: str, body: dict) -> dict:
        ids = self._ids_filter(body, "CustomerIds")
        self._require(body, "Extent")
        if not ids:
            raise SandboxError(400, "CustomerIds must be specified.")
        state = self._state(hotel_id).filter(pl.col("customer_id").is_in(ids))
        items = [
            {"Id": r["customer_id"], "FirstName": r["first_name"], "LastName": r["last_name"], "Email": r["email"],
             "Phone": r["phone"], "NationalityCode": None if r["country"] in (None, "NULL") else r["country"],
             "CreatedUtc": iso_z(r["created_at"]), "UpdatedUtc": iso_z(r["created_at"])}
            for r in state.sort("customer_id").select("customer_id", "first_name", "last_name", "email", "phone",
                                                      "country", "created_at").iter_rows(named=True)
        ]
        page, cursor = self._page(sorted(items, key=lambda i: i["Id"]), body)
        return {"Customers": page, "Cursor": cursor}

    def resources(self, hotel_id: str, body: dict) -> dict:
        self._require(body, "Extent")
        items = [{"Id": mews_id("resource", hotel_id, room), "IsActive": True, "Name": room, "State": "Clean",
                  "Data": {"Discriminator": "Space", "Value": {"FloorNumber": room[1:2]}}}
                 for room in self.world.rooms(hotel_id)["room_number"].to_list()]
        page, cursor = self._page(sorted(items, key=lambda i: i["Id"]), body)
        return {"Resources": page, "Cursor": cursor}

    def resource_categories(self, hotel_id: str, body: dict) -> dict:
        self._require(body, "ServiceIds")
        items = [{"Id": mews_id("category", hotel_id, t), "ServiceId": mews_id("service", hotel_id, "accommodation"),
                  "IsActive": True, "Type": "Room", "Names": {LOCALE: f"Room type {t}"}, "ShortNames": {LOCALE: t}}
                 for t in self.world.room_types(hotel_id)]
        page, cursor = self._page(sorted(items, key=lambda i: i["Id"]), body)
        return {"ResourceCategories": page, "Cursor": cursor}

    def resource_category_assignments(self, hotel_id: str, body: dict) -> dict:
        self._require(body, "ResourceCategoryIds")
        items = [{"Id": mews_id("assignment", hotel_id, room), "IsActive": True,
                  "ResourceId": mews_id("resource", hotel_id, room), "CategoryId": mews_id("category", hotel_id, t)}
                 for room, t in self.world.rooms(hotel_id).iter_rows()]
        page, cursor = self._page(sorted(items, key=lambda i: i["Id"]), body)
        return {"ResourceCategoryAssignments": page, "Cursor": cursor}

    def products(self, hotel_id: str, body: dict) -> dict:
        self._require(body, "ServiceIds")
        items = [{"Id": mews_id("product", hotel_id, short), "ServiceId": mews_id("service", hotel_id, "accommodation"),
                  "IsActive": True, "Names": {LOCALE: name}, "ShortNames": {LOCALE: short},
                  "Classifications": {"Food": short != "BRD-TBC", "Beverage": False, "Wellness": False,
                                      "CityTax": False},
                  "ExternalIdentifier": f"PROD-{short}"}
                 for short, name in BOARD_PRODUCTS.values()]
        page, cursor = self._page(sorted(items, key=lambda i: i["Id"]), body)
        return {"Products": page, "Cursor": cursor}

    def rates_pricing(self, hotel_id: str, body: dict) -> dict:
        """``rates/getPricing``: see workshop/sandbox/channel/mews_pricing.py (the channel push prices from it)."""
        from hotel_pipeline.workshop.sandbox.channel.mews_pricing import get_pricing

        categories = [mews_id("category", hotel_id, t) for t in self.world.room_types(hotel_id)]
        return get_pricing(categories, self.world.currencies[hotel_id], body)

    def services(self, hotel_id: str, body: dict) -> dict:
        """``services/getAll`` (services.md): the property's one bookable service, accommodation."""
        self._require(body)
        items = [{"Id": mews_id("service", hotel_id, "accommodation"), "EnterpriseId": mews_id("enterprise", hotel_id, 1),
                  "IsActive": True, "Name": "Accommodation", "Names": {LOCALE: "Accommodation"},
                  "Data": {"Discriminator": "Bookable", "Value": {}}}]
        page, cursor = self._page(items, body)
        return {"Services": page, "Cursor": cursor}

    def age_categories(self, hotel_id: str, body: dict) -> dict:
        self._require(body)
        items = [{"Id": mews_id("age", hotel_id, f"{column}{lo}"), "ServiceId": mews_id("service", hotel_id, "accommodation"),
                  "MinimalAge": lo, "MaximalAge": hi, "Names": {LOCALE: column.title()}, "Classification": cls,
                  "IsActive": True}
                 for column, (cls, lo, hi) in AGE_CATEGORIES.items()]
        page, cursor = self._page(sorted(items, key=lambda i: i["Id"]), body)
        return {"AgeCategories": page, "Cursor": cursor}


HANDLER = MewsHandler
