"""Mews Connector API -> unified model (MewsSystems/gitbook-connector-api, operations/*.md).

Why it looks the way it does:
- every call is a POST carrying ``ClientToken``/``AccessToken``/``Client`` in the body (redacted in the raw zone)
  plus what each operation's page marks *required* (``Limitation`` everywhere; ``Extent`` for customers and
  resources; ``ServiceIds`` for resource categories and products; ``ResourceCategoryIds`` for assignments; one filter
  for order items and customers). docs/connectors.md "Mews" lists every field read, with its page;
- changes come from ``reservations/getAll/2023-06-06`` with ``UpdatedUtc``, whose interval may span at most
  3 months: windows are cut into 90-day chunks, and a chunk the API refuses as too heavy (408) is halved and retried;
- keyset paging: ``Limitation {Count<=1000, Cursor}`` until the returned ``Cursor`` is null;
- a reservation has no amount, no guest name and no meal plan: the extract also reads ``orderItems/getAll`` for the
  reservations (``ServiceOrderIds``), ``customers/getAll`` (names -> tokens), ``products/getAll`` (board products),
  the room catalogue (``resources``, ``resourceCategories``, ``resourceCategoryAssignments``) and ``ageCategories``;
- budget: 200 requests per AccessToken per 30 s (documented).
Amounts: the stay is its ``SpaceOrder`` items plus their ``NightRebate`` items (negative), ``Amount.NetValue`` /
``GrossValue``; an item whose ``AccountingState`` is ``Canceled`` is not counted, unless it was canceled *with the
reservation* (``Options.CanceledWithReservation``): that is what the cancelled booking was worth.
Status mapping (Mews ``State``): Optional/Confirmed -> confirmed, Started -> checked_in, Processed -> checked_out,
Canceled -> cancelled, or no_show when ``CancellationReason`` is NoShow; Inquired (an inquiry) and Requested (the
waitlist) are not bookings: skipped and counted. Any other state is quarantined naming it.
People: ``PersonCounts`` by age category: Classification Adult -> adults; Child with MaximalAge <= 2 -> babies;
other Child -> children; an age category the extract did not list is quarantined (never guessed to be a child).
Meal plans: the board product ordered with the reservation, by its ShortName in any locale through the
``meal_products`` option (default BFST -> BB, HB -> HB, FB -> FB, BRD-TBC -> unknown), else by the words of its names
(``meal_plan_from_words``: "Breakfast" -> BB...); no board product -> RO.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, ClassVar

from hotel_pipeline.core.vocabularies import BREAKFAST_PLANS, OFF_THE_BOOKS
from hotel_pipeline.privacy.pii import pii_key
from hotel_pipeline.sources.pms.base import (
    ExtractContext,
    Normalised,
    NotABooking,
    PmsConnector,
    Window,
    assemble,
    guest_token,
    guests_frame,
    local_date,
    meal_plan_from_words,
    pages_with,
    parse_utc,
    rooms_frame,
)
from hotel_pipeline.sources.pms.errors import HeavyQueryError, MalformedResponseError
from hotel_pipeline.sources.pms.http import RateLimit, RetryBody

API = "/api/connector/v1/"
PAGE = 1000
CHUNK = timedelta(days=90)
MIN_CHUNK = timedelta(hours=1)

STATUS_FROM_MEWS = {"Optional": "confirmed", "Confirmed": "confirmed", "Started": "checked_in",
                    "Processed": "checked_out", "Canceled": "cancelled"}
#: Service order states that are not bookings (skipped, counted): an inquiry, the waitlist.
NOT_BOOKINGS = {"Inquired": "inquiry", "Requested": "waitlist"}
#: Order item types that make the stay's amount (a NightRebate is negative: it rebates a night).
STAY_ITEMS = {"SpaceOrder", "NightRebate"}
#: Locales tried first for names; any other locale is read when these are missing.
LOCALES = ("en-US", "en-GB")
MEAL_RANK = {"RO": 0, "unknown": 1, "BB": 2, "HB": 3, "FB": 4}


def localized(texts: Any) -> str | None:
    """A Mews localized text (``{"en-US": "...", "pt-PT": "..."}``): en-US, else en-GB, else any locale given."""
    if not isinstance(texts, dict) or not texts:
        return None
    for locale in LOCALES:
        if texts.get(locale):
            return str(texts[locale])
    return next((str(v) for v in texts.values() if v), None)


def board_plan(product: dict[str, Any], meal_products: dict[str, str]) -> str | None:
    """The meal plan a Mews product stands for (None: not a board product): its ShortName in any locale through
    ``meal_products``, else the words of its names (``meal_plan_from_words``) when they name a board."""
    short = product.get("ShortNames")
    for name in ([short.get(k) for k in LOCALES] + list(short.values())) if isinstance(short, dict) else []:
        if name in meal_products:
            return meal_products[name]
    names = product.get("Names")
    plan = meal_plan_from_words(*(names.values() if isinstance(names, dict) else ()))
    return plan if plan in BREAKFAST_PLANS else None


def counts_toward_stay(item: dict[str, Any]) -> bool:
    """Whether an order item is part of the stay's amount (see the module doc)."""
    if item.get("AccountingState") == "Canceled":
        return bool((item.get("Options") or {}).get("CanceledWithReservation"))
    return True


def _z(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class MewsConnector(PmsConnector):
    source: ClassVar[str] = "mews"
    rate_limit: ClassVar[RateLimit | None] = RateLimit(200, 30.0)
    concurrent_requests: ClassVar[int] = 2
    credential_options: ClassVar[dict[str, str]] = {"client_token": "client_token_env",
                                                    "access_token": "access_token_env"}
    default_options: ClassVar[dict[str, Any]] = {
        "client": "hotel-pipeline 0.1",
        "history_start": "2013-01-01T00:00:00Z",
        "meal_products": {"BFST": "BB", "HB": "HB", "FB": "FB", "BRD-TBC": "unknown"},
        "reconcile_days": 7,
    }

    # -- fetch ---------------------------------------------------------------------------------------------------
    def _post(self, operation: str, body: dict[str, Any], label: str) -> dict[str, Any]:
        payload = {"ClientToken": self.credentials["client_token"], "AccessToken": self.credentials["access_token"],
                   "Client": self.options["client"], **body}
        data = self.http.call("POST", API + operation, json_body=payload, label=label, check=_expect_object)
        return data

    def _all(self, operation: str, body: dict[str, Any], key: str, label: str) -> list[dict[str, Any]]:
        """Every item of a listing, following ``Cursor`` to the end (duplicates from repeated pages kept;
        normalisation dedupes by id)."""
        items: list[dict[str, Any]] = []
        cursor = None
        for _ in range(100_000):
            limitation = {"Count": PAGE, **({"Cursor": cursor} if cursor else {})}
            data = self._post(operation, {**body, "Limitation": limitation}, label)
            page = data.get(key)
            if not isinstance(page, list):
                raise MalformedResponseError(f"mews {operation}: the answer has no {key} list")
            items.extend(page)
            cursor = data.get("Cursor")
            if not cursor or not page:
                return items
        raise MalformedResponseError(f"mews {operation}: paging never ended")

    def _changed(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Reservations updated in [start, end], in chunks the API accepts (<= 3 months, halved on 408). Each chunk
        is a cursor chain of its own, so chunks are read concurrently (``HttpCore.parallel``; pages kept in chunk
        order)."""
        bounds = []
        chunk_start = start
        while chunk_start < end:
            chunk_end = min(chunk_start + CHUNK, end)
            bounds.append((chunk_start, chunk_end))
            chunk_start = chunk_end
        parts = self.http.parallel([partial(self._chunk, s, e) for s, e in bounds])
        return [r for part in parts for r in part]

    def _chunk(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        return list(self._interval(start, end))

    def _interval(self, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
        body = {"UpdatedUtc": {"StartUtc": _z(start), "EndUtc": _z(end)}}
        try:
            yield from self._all("reservations/getAll/2023-06-06", body, "Reservations", "reservations")
        except HeavyQueryError:
            if end - start <= MIN_CHUNK:
                raise
            middle = start + (end - start) / 2
            yield from self._interval(start, middle)
            yield from self._interval(middle, end)

    def fetch(self, window: Window) -> None:
        if window.mode == "full":
            since = datetime.fromisoformat(str(self.options["history_start"]).replace("Z", "+00:00"))
        else:
            since = window.since or window.until
        self._with_details(self._changed(since, window.until))

    def fetch_ids(self, ids: list[str]) -> None:
        """``reservations/getAll/2023-06-06`` with ``ReservationIds`` (the page's filter for named reservations;
        then no ``UpdatedUtc`` is needed), and the same details as an extract."""
        reservations: list[dict[str, Any]] = []
        for i in range(0, len(ids), PAGE):
            reservations += self._all("reservations/getAll/2023-06-06", {"ReservationIds": ids[i:i + PAGE]},
                                      "Reservations", "reservations")
        self._with_details(reservations)

    def _with_details(self, reservations: list[dict[str, Any]]) -> None:
        """Order items, customers and the catalogues the normaliser needs beside ``reservations``."""
        if not reservations:
            return
        ids = sorted({r["Id"] for r in reservations})
        accounts = sorted({r["AccountId"] for r in reservations if r.get("AccountId")})
        services = sorted({r["ServiceId"] for r in reservations if r.get("ServiceId")}
                          | set(self.options.get("service_ids") or []))
        # Every listing below is independent of the others (its own cursor chain), but the category assignments
        # need the categories: they run as one task. Read concurrently, recorded in this order (``parallel``).
        tasks = [partial(self._all, "orderItems/getAll", {"ServiceOrderIds": ids[i:i + PAGE]}, "OrderItems",
                         "orderItems") for i in range(0, len(ids), PAGE)]
        tasks += [partial(self._all, "customers/getAll", {"CustomerIds": accounts[i:i + PAGE],
                                                          "Extent": {"Customers": True, "Addresses": False}},
                          "Customers", "customers") for i in range(0, len(accounts), PAGE)]
        tasks += [partial(self._all, "resources/getAll", {"Extent": {"Resources": True, "Inactive": False}},
                          "Resources", "resources"),
                  partial(self._categories, services),
                  partial(self._all, "products/getAll", {"ServiceIds": services}, "Products", "products"),
                  partial(self._all, "ageCategories/getAll", {"ServiceIds": services}, "AgeCategories",
                          "ageCategories")]
        self.http.parallel(tasks)

    def _categories(self, services: list[str]) -> None:
        """The resource categories of ``services``, then their resource assignments (which name the categories)."""
        categories = self._all("resourceCategories/getAll", {"ServiceIds": services}, "ResourceCategories",
                               "resourceCategories")
        category_ids = sorted({c["Id"] for c in categories if isinstance(c, dict) and c.get("Id")})
        for i in range(0, len(category_ids), PAGE):
            self._all("resourceCategoryAssignments/getAll", {"ResourceCategoryIds": category_ids[i:i + PAGE]},
                      "ResourceCategoryAssignments", "resourceCategoryAssignments")

    # -- normalise -----------------------------------------------------------------------------------------------
    @classmethod
    def normalise(cls, pages: list[dict[str, Any]], ctx: ExtractContext) -> Normalised:
        def items(label: str, key: str) -> list[dict[str, Any]]:
            out: dict[str, dict[str, Any]] = {}
            for page in pages_with(pages, label):
                for item in page["body"].get(key) or []:
                    out[item["Id"]] = item
            return list(out.values())

        reservations = items("reservations", "Reservations")
        categories = {c["Id"]: localized(c.get("ShortNames")) or localized(c.get("Names"))
                      for c in items("resourceCategories", "ResourceCategories")}
        resources = {r["Id"]: r.get("Name") for r in items("resources", "Resources")}
        assignment = {a["ResourceId"]: a["CategoryId"] for a in items("resourceCategoryAssignments",
                                                                      "ResourceCategoryAssignments")}
        meal_products = dict(ctx.options.get("meal_products") or cls.default_options["meal_products"])
        key = pii_key()

        products = {p["Id"]: board_plan(p, meal_products) for p in items("products", "Products")}
        ages = {a["Id"]: a for a in items("ageCategories", "AgeCategories")}
        net: dict[str, float] = defaultdict(float)
        gross: dict[str, float] = defaultdict(float)
        meals: dict[str, str] = {}
        for item in items("orderItems", "OrderItems"):
            if not counts_toward_stay(item):
                continue
            order = item.get("ServiceOrderId")
            amount = item.get("Amount") or {}
            if item.get("Type") in STAY_ITEMS:
                net[order] += float(amount.get("NetValue") or 0)
                gross[order] += float(amount.get("GrossValue") or 0)
            elif item.get("Type") == "ProductOrder":
                product = ((item.get("Data") or {}).get("Product") or {}).get("ProductId")
                plan = products.get(product)
                if plan and MEAL_RANK[plan] > MEAL_RANK.get(meals.get(order, "RO"), 0):
                    meals[order] = plan

        def convert(r: dict[str, Any]) -> dict[str, Any]:
            state = r.get("State")
            if state in NOT_BOOKINGS:
                raise NotABooking(f"mews {NOT_BOOKINGS[state]} {state}")
            if state not in STATUS_FROM_MEWS:
                raise ValueError(f"unknown Mews State {state!r}")
            status = STATUS_FROM_MEWS[state]
            if state == "Canceled" and r.get("CancellationReason") == "NoShow":
                status = "no_show"
            arrival = local_date(r.get("ScheduledStartUtc"), ctx.timezone)
            departure = local_date(r.get("ScheduledEndUtc"), ctx.timezone)
            counts = {"adults": 0, "children": 0, "babies": 0}
            for pc in r.get("PersonCounts") or []:
                age = ages.get(pc.get("AgeCategoryId"))
                if age is None or age.get("Classification") not in ("Adult", "Child"):
                    raise ValueError(f"unknown Mews age category {pc.get('AgeCategoryId')!r} in PersonCounts")
                if age.get("Classification") == "Adult":
                    counts["adults"] += int(pc.get("Count") or 0)
                elif (age.get("MaximalAge") is not None) and int(age["MaximalAge"]) <= 2:
                    counts["babies"] += int(pc.get("Count") or 0)
                else:
                    counts["children"] += int(pc.get("Count") or 0)
            resource = r.get("AssignedResourceId")
            return {
                "external_id": r["Id"],
                "status": status,
                "booked_on": local_date(r.get("CreatedUtc"), ctx.timezone),
                "cancelled_on": local_date(r.get("CancelledUtc"), ctx.timezone) if status in OFF_THE_BOOKS
                else None,
                "checked_out_on": local_date(r.get("ActualEndUtc"), ctx.timezone) if status == "checked_out" else None,
                "arrival_date": arrival,
                "departure_date": departure,
                "nights": (departure - arrival).days if arrival and departure else None,
                "room_type": categories.get(r.get("RequestedResourceCategoryId")),
                "room_number": resources.get(resource) if resource else None,
                "guest_token": guest_token(ctx, r.get("AccountId"), key),
                **counts,
                "meal_plan": meals.get(r["Id"], "RO"),
                "net_amount": round(net.get(r["Id"], 0.0), 2),
                "gross_amount": round(gross.get(r["Id"], 0.0), 2),
                "currency": ctx.currency,
                "channel": r.get("OriginDetails") or r.get("Origin"),
                "source_modified_at": parse_utc(r.get("UpdatedUtc") or r.get("CreatedUtc")),
            }

        loaded = assemble({r["Id"]: r for r in reservations}, convert, ctx, "mews reservation")
        guests = [{"external_id": c["Id"], "first_name": c.get("FirstName"), "last_name": c.get("LastName"),
                   "email": c.get("Email"), "phone": c.get("Phone"), "country": c.get("NationalityCode")}
                  for c in items("customers", "Customers")]
        rooms = [{"external_id": rid, "room_number": name, "room_type": categories.get(assignment.get(rid))}
                 for rid, name in resources.items()]
        loaded.rooms = rooms_frame(rooms, ctx)
        loaded.guests = guests_frame(guests, ctx)
        return loaded


def _expect_object(response: Any, data: Any) -> None:
    if not isinstance(data, dict):
        raise RetryBody("mews: the body is not a JSON object")


CONNECTOR = MewsConnector
