"""Newbook connector: Newbook ``bookings_list`` records in the unified model.

Why it looks the way it does: Newbook takes every call as ``POST /rest/<action>`` with HTTP Basic plus ``api_key`` and
``region`` in the JSON body (so the body is a secret carrier and must never reach the raw zone as sent);
``list_type=all`` with ``period_from``/``period_to`` returns bookings created or modified in that period, cancelled
ones included; paging is ``data_offset``/``data_limit`` (<= 1000) against ``data_total``. Errors may come back as
``{"success": false, "message": ...}``. Client code budgets about 100 requests per minute.

Status mapping in Newbook words: Unconfirmed / Confirmed -> confirmed; Arrived -> checked_in; Departed ->
checked_out; Cancelled -> cancelled; No Show -> no_show; Quote (a price offered, not booked) and Waitlist are not
bookings: skipped and counted. Anything else is quarantined naming the value. Meals: the words of the inventory
items' descriptions and the tariff name (``meal_plan_from_words``): "DBB" / "Dinner" (e.g. "Dinner Bed & Breakfast")
-> HB, with lunch or "Full Board" -> FB; "Breakfast" / "B&B" -> BB; "Room Only" -> RO; anything else unknown.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from hotel_pipeline.core.vocabularies import DINNER_PLANS, OFF_THE_BOOKS
from hotel_pipeline.sources.pms.base import (
    ExtractContext,
    ListingPage,
    Normalised,
    NotABooking,
    PmsConnector,
    Window,
    assemble,
    meal_plan_from_words,
    read_listing,
    records_of,
)
from hotel_pipeline.sources.pms.errors import AuthError
from hotel_pipeline.sources.pms.http import RateLimit, RetryBody

SOURCE = "newbook"

STATUS_FROM_NEWBOOK = {
    "unconfirmed": "confirmed",
    "confirmed": "confirmed",
    "arrived": "checked_in",
    "departed": "checked_out",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "no show": "no_show",
    "no_show": "no_show",
    "noshow": "no_show",
}


#: booking_status values that are not bookings (skipped, counted).
NOT_BOOKINGS = {"quote", "waitlist", "wait list"}


class NewbookRecordError(ValueError):
    """A Newbook booking the connector cannot read."""


def meal_plan_from(items: list[Mapping[str, Any]], tariff_name: str | None) -> str:
    """Inventory item descriptions + tariff name -> RO/BB/HB/FB/unknown (see module doc)."""
    return meal_plan_from_words(*(str(i.get("description", "")) for i in items or []), tariff_name)


def _date(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(str(text)[:10])
    except ValueError:
        raise NewbookRecordError(f"unreadable Newbook date {text!r}") from None


def _int(value: Any) -> int | None:
    return None if value in (None, "") else int(value)


def _contact(guest: Mapping[str, Any], kinds: tuple[str, ...]) -> str | None:
    for detail in guest.get("contact_details") or []:
        if str(detail.get("type", "")).lower() in kinds:
            return detail.get("content")
    return None


def normalise(record: Mapping[str, Any]) -> dict[str, Any]:
    """One Newbook booking -> unified fields + ``external_id``, ``source_modified_at`` (naive, property-local) and
    ``guest``. The stay total is the sum of ``tariffs_quoted`` over the booked nights (``tariff_total`` if absent)."""
    raw = str(record.get("booking_status") or "").strip().lower()
    if raw in NOT_BOOKINGS:
        raise NotABooking(f"newbook booking_status {record.get('booking_status')}")
    if raw not in STATUS_FROM_NEWBOOK:
        raise NewbookRecordError(f"unknown Newbook booking_status {record.get('booking_status')!r}")
    status = STATUS_FROM_NEWBOOK[raw]
    arrival = _date(record.get("booking_arrival"))
    departure = _date(record.get("booking_departure"))
    if arrival is None or departure is None:
        raise NewbookRecordError("Newbook booking without booking_arrival/booking_departure")
    tariffs = [t for t in record.get("tariffs_quoted") or [] if arrival <= _date(t.get("stay_date")) < departure]
    if tariffs:
        net = round(sum(float(t.get("calculated_amount") or 0.0) for t in tariffs), 2)
    else:
        net = float(record.get("tariff_total") or 0.0)
    guests = record.get("guests") or []
    primary = next((g for g in guests if str(g.get("primary_client", "")) == "1"), guests[0] if guests else {})
    meal = meal_plan_from(record.get("inventory_items") or [], record.get("tariff_name"))
    modified = record.get("booking_modified") or record.get("booking_placed")
    return {
        "external_id": str(record["booking_id"]),
        "status": status,
        "booked_on": _date(record.get("booking_placed")),
        "cancelled_on": _date(record.get("booking_cancelled")) if status in OFF_THE_BOOKS else None,
        "checked_out_on": (_date(record.get("booking_departed")) or departure) if status == "checked_out" else None,
        "arrival_date": arrival,
        "departure_date": departure,
        "nights": (departure - arrival).days,
        "room_type": record.get("category_name"),
        "room_number": record.get("site_name"),
        "adults": _int(record.get("booking_adults")),
        "children": _int(record.get("booking_children")),
        "babies": _int(record.get("booking_infants")),
        "meal_plan": meal,
        "is_dbb": meal in DINNER_PLANS,
        "is_package": False,
        "net_amount": net,
        "gross_amount": None,
        "currency": None,  # Newbook amounts are in the property's currency: the connector fills it from the portfolio
        "channel": record.get("booking_source_name"),
        "source_modified_at": datetime.strptime(str(modified)[:19], "%Y-%m-%d %H:%M:%S"),
        "guest": {
            "first_name": primary.get("firstname"),
            "last_name": primary.get("lastname"),
            "email": _contact(primary, ("email",)),
            "phone": _contact(primary, ("mobile", "phone")),
        },
    }


# -- the connector -------------------------------------------------------------------------------------------------
def _check(response: Any, data: Any) -> None:
    """Newbook reports errors in-body: ``success: false`` with a message. A bad key is final; anything else
    unreadable is retried."""
    if not isinstance(data, dict):
        raise RetryBody("newbook: the body is not a JSON object")
    if data.get("success") is False:
        message = str(data.get("message") or "")
        if "key" in message.lower() or "region" in message.lower():
            raise AuthError(f"newbook: the API refused the api_key/region ({message[:80]})")
        raise RetryBody(f"newbook: success false ({message[:80]})")
    if not isinstance(data.get("data"), list):
        raise RetryBody("newbook: the body has no data list")


class NewbookConnector(PmsConnector):
    """Newbook: ``bookings_list`` with ``list_type=all`` over the created/modified period, data_offset/data_limit.

    Credentials: username, password (HTTP Basic) and api_key (in the body; redacted in the raw zone). Options:
    ``region`` (not secret), ``history_start``, ``data_limit`` (<= 1000). Client budget 100 requests per minute.
    """

    source: ClassVar[str] = "newbook"
    rate_limit: ClassVar[RateLimit | None] = RateLimit(100, 60.0)
    credential_options: ClassVar[dict[str, str]] = {"username": "username_env", "password": "password_env",
                                                    "api_key": "api_key_env"}
    default_options: ClassVar[dict[str, Any]] = {"region": "eu", "history_start": "2013-01-01 00:00:00",
                                                 "data_limit": 1000, "reconcile_days": 7}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        basic = base64.b64encode(f"{self.credentials['username']}:{self.credentials['password']}".encode()).decode()
        self._auth = {"Authorization": f"Basic {basic}"}
        self.http.add_secret(basic)

    def fetch(self, window: Window) -> None:
        tz = ZoneInfo(self.hotel.timezone)
        if window.mode == "full":
            start = str(self.options["history_start"])
        else:
            since = window.since or window.until - timedelta(days=int(self.options["reconcile_days"]))
            start = since.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
        end = window.until.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
        limit = min(int(self.options["data_limit"]), 1000)

        def page(index: int) -> ListingPage:
            body = {"api_key": self.credentials["api_key"], "region": self.options["region"], "list_type": "all",
                    "period_from": start, "period_to": end, "data_offset": index * limit, "data_limit": limit}
            data = self.http.call("POST", "/rest/bookings_list", json_body=body, headers=self._auth, check=_check,
                                  label="bookings")
            total = int(data.get("data_total") or 0)
            return [str(b.get("booking_id")) for b in data["data"]], (index + 1) * limit < total, total

        read_listing(page, what=f"newbook bookings_list {start}..{end}")

    @classmethod
    def normalise(cls, pages: list[dict[str, Any]], ctx: ExtractContext) -> Normalised:
        records = records_of(pages, "bookings", lambda body: (body or {}).get("data"), key="booking_id")
        return assemble(records, normalise, ctx, "newbook booking", (NewbookRecordError,))



CONNECTOR = NewbookConnector
