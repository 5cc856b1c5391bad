"""Mews Connector API -> unified model (MewsSystems/gitbook-connector-api).

Why it looks the way it does:
- every call is a POST carrying ``ClientToken``/``AccessToken``/``Client`` in the body (redacted in the raw zone);
- changes come from ``reservations/getAll/2023-06-06`` with ``UpdatedUtc``, whose interval may span at most
  3 months: windows are cut into 90-day chunks, and a chunk the API refuses as too heavy (408) is halved and retried;
- keyset paging: ``Limitation {Count<=1000, Cursor}`` until the returned ``Cursor`` is null;
- a reservation has no amount, no guest name and no meal plan: the extract also reads ``orderItems/getAll``
  (nightly ``SpaceOrder`` items; their ``Amount.NetValue``/``GrossValue`` sum to the stay total), ``customers/getAll``
  (names -> tokens), ``products/getAll`` (board products), and the room catalogue (``resources``,
  ``resourceCategories``, ``resourceCategoryAssignments``) plus ``ageCategories`` for ``PersonCounts``;
- budget: 200 requests per AccessToken per 30 s (documented).
Status mapping (Mews ``State``): Inquired/Requested/Optional/Confirmed -> confirmed, Started -> checked_in,
Processed -> checked_out, Canceled -> cancelled, or no_show when ``CancellationReason`` is NoShow.
Meal plans: the ShortName of the board product ordered with the reservation, mapped by the ``meal_products`` option
(default BFST -> BB, HB -> HB, FB -> FB, BRD-TBC -> unknown); no board product -> RO.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from hotel_pipeline.sources.pms.base import (
    ExtractContext,
    Normalised,
    PmsConnector,
    Window,
    assemble,
    guest_token,
    guests_frame,
    local_date,
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

STATUS_FROM_MEWS = {"Inquired": "confirmed", "Requested": "confirmed", "Optional": "confirmed",
                    "Confirmed": "confirmed", "Started": "checked_in", "Processed": "checked_out",
                    "Canceled": "cancelled"}
MEAL_RANK = {"RO": 0, "unknown": 1, "BB": 2, "HB": 3, "FB": 4}


def _z(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class MewsConnector(PmsConnector):
    source: ClassVar[str] = "mews"
    rate_limit: ClassVar[RateLimit | None] = RateLimit(200, 30.0)
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

    def _changed(self, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
        """Reservations updated in [start, end], in chunks the API accepts (<= 3 months, halved on 408)."""
        chunk_start = start
        while chunk_start < end:
            chunk_end = min(chunk_start + CHUNK, end)
            yield from self._interval(chunk_start, chunk_end)
            chunk_start = chunk_end

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
        self._with_details(list(self._changed(since, window.until)))

    def fetch_ids(self, ids: list[str]) -> None:
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
        for i in range(0, len(ids), PAGE):
            self._all("orderItems/getAll", {"ServiceOrderIds": ids[i:i + PAGE]}, "OrderItems", "orderItems")
        for i in range(0, len(accounts), PAGE):
            self._all("customers/getAll", {"CustomerIds": accounts[i:i + PAGE]}, "Customers", "customers")
        for operation, key in (("resources/getAll", "Resources"), ("resourceCategories/getAll", "ResourceCategories"),
                               ("resourceCategoryAssignments/getAll", "ResourceCategoryAssignments"),
                               ("products/getAll", "Products"), ("ageCategories/getAll", "AgeCategories")):
            self._all(operation, {}, key, key[0].lower() + key[1:])

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
        categories = {c["Id"]: (c.get("ShortNames") or {}).get("en-US") or (c.get("Names") or {}).get("en-US")
                      for c in items("resourceCategories", "ResourceCategories")}
        resources = {r["Id"]: r.get("Name") for r in items("resources", "Resources")}
        assignment = {a["ResourceId"]: a["CategoryId"] for a in items("resourceCategoryAssignments",
                                                                      "ResourceCategoryAssignments")}
        products = {p["Id"]: (p.get("ShortNames") or {}).get("en-US") for p in items("products", "Products")}
        ages = {a["Id"]: a for a in items("ageCategories", "AgeCategories")}
        meal_products = dict(ctx.options.get("meal_products") or cls.default_options["meal_products"])
        net: dict[str, float] = defaultdict(float)
        gross: dict[str, float] = defaultdict(float)
        meals: dict[str, str] = {}
        for item in items("orderItems", "OrderItems"):
            order = item.get("ServiceOrderId")
            amount = item.get("Amount") or {}
            if item.get("Type") == "SpaceOrder":
                net[order] += float(amount.get("NetValue") or 0)
                gross[order] += float(amount.get("GrossValue") or 0)
            elif item.get("Type") == "ProductOrder":
                product = ((item.get("Data") or {}).get("Product") or {}).get("ProductId")
                plan = meal_products.get(products.get(product) or "")
                if plan and MEAL_RANK[plan] > MEAL_RANK.get(meals.get(order, "RO"), 0):
                    meals[order] = plan
        def convert(r: dict[str, Any]) -> dict[str, Any]:
            state = r.get("State")
            status = STATUS_FROM_MEWS.get(state, state)
            if state == "Canceled" and r.get("CancellationReason") == "NoShow":
                status = "no_show"
            arrival = local_date(r.get("ScheduledStartUtc"), ctx.timezone)
            departure = local_date(r.get("ScheduledEndUtc"), ctx.timezone)
            counts = {"adults": 0, "children": 0, "babies": 0}
            for pc in r.get("PersonCounts") or []:
                age = ages.get(pc.get("AgeCategoryId")) or {}
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
                "cancelled_on": local_date(r.get("CancelledUtc"), ctx.timezone) if status in ("cancelled", "no_show")
                else None,
                "checked_out_on": local_date(r.get("ActualEndUtc"), ctx.timezone) if status == "checked_out" else None,
                "arrival_date": arrival,
                "departure_date": departure,
                "nights": (departure - arrival).days if arrival and departure else None,
                "room_type": categories.get(r.get("RequestedResourceCategoryId")),
                "room_number": resources.get(resource) if resource else None,
                "guest_token": guest_token(ctx, r.get("AccountId")),
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
