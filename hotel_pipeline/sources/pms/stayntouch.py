"""Stayntouch connector: Stayntouch Connect reservations in the unified model.

Why it looks the way it does: Stayntouch uses OAuth2 client credentials (``POST /oauth/token``, credentials in the
form body), pages with ``page``/``per_page`` and answers ``{results, total_count}``; ``date_filter=updated`` with
``from_date``/``to_date`` gives changes by day. Amounts are per night (``stay_dates[]``), so the stay total is their
sum over the booked nights; room types are ids, resolved through ``GET /connect/room_types`` once per run.

Status mapping in Stayntouch words (case-insensitive): reserved / pre_checkin / checking_in -> confirmed;
checked_in / checkedin / checking_out -> checked_in; checked_out / checkedout -> checked_out; canceled / cancelled ->
cancelled; no_show / noshow -> no_show. Meals: add-ons included in the rate named Breakfast / Lunch / Dinner (or
"Half board", "Full board", "DBB"); a rate code ending ``-RO`` is room only; nothing is unknown.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from hotel_pipeline.core.vocabularies import DINNER_PLANS, OFF_THE_BOOKS
from hotel_pipeline.sources.pms.base import (
    ExtractContext,
    ListingPage,
    Normalised,
    PmsConnector,
    Window,
    answer_token,
    assemble,
    local_date,
    meal_plan_from_words,
    pages_with,
    parse_utc,
    read_listing,
    records_of,
)
from hotel_pipeline.sources.pms.http import RateLimit, RetryBody

SOURCE = "stayntouch"

STATUS_FROM_STAYNTOUCH = {
    "reserved": "confirmed",
    "pre_checkin": "confirmed",
    "checking_in": "confirmed",
    "checked_in": "checked_in",
    "checkedin": "checked_in",
    "checking_out": "checked_in",
    "checked_out": "checked_out",
    "checkedout": "checked_out",
    "canceled": "cancelled",
    "cancelled": "cancelled",
    "no_show": "no_show",
    "noshow": "no_show",
}


class StayntouchRecordError(ValueError):
    """A Stayntouch reservation the connector cannot read."""


def meal_plan_from(addons: list[Mapping[str, Any]], rate_code: str | None) -> str:
    """Included add-on names (``meal_plan_from_words``), else a rate code ending ``-RO`` -> RO/BB/HB/FB/unknown."""
    names = [str(a.get("name", "")) for a in addons or [] if a.get("included_in_rate", True)]
    plan = meal_plan_from_words(*names)
    if plan == "unknown" and rate_code and rate_code.upper().endswith("-RO"):
        return "RO"
    return plan


def _num(value: Any) -> float | None:
    return None if value in (None, "") else float(value)


def normalise(record: Mapping[str, Any], room_types: Mapping[int, str], timezone: str = "UTC") -> dict[str, Any]:
    """One Stayntouch reservation -> unified fields + ``external_id``, ``source_modified_at``, ``guest``.

    ``room_types`` is ``GET /connect/room_types`` as id -> code; ``timezone`` the hotel's, for business dates of
    instants. ``source_modified_at`` is ``updated_time`` as an aware datetime.
    """
    raw = str(record.get("status") or "").lower()
    if raw not in STATUS_FROM_STAYNTOUCH:
        raise StayntouchRecordError(f"unknown Stayntouch status {record.get('status')!r}")
    status = STATUS_FROM_STAYNTOUCH[raw]
    arrival = local_date(record["arrival_date"], timezone)
    departure = local_date(record["departure_date"], timezone)
    if arrival is None or departure is None:
        raise StayntouchRecordError("Stayntouch reservation without arrival_date/departure_date")
    nights = (departure - arrival).days
    stay = sorted(record.get("stay_dates") or [], key=lambda s: s["date"])
    booked = [s for s in stay if arrival <= date.fromisoformat(s["date"]) < departure]
    net = sum(_num(s.get("net_amount")) or _num(s.get("amount")) or 0.0 for s in booked) if stay else None
    taxes = [_num(s.get("tax_amount")) for s in booked]
    gross = None if not booked or any(t is None for t in taxes) else sum(_num(s.get("amount")) or 0.0 for s in booked)
    first = stay[0] if stay else {}
    room = record.get("room") or first.get("room") or {}
    rt_id = first.get("room_type_id") or room.get("room_type_id")
    guests = record.get("guests") or []
    primary = next((g for g in guests if g.get("is_primary")), guests[0] if guests else {})
    meal = meal_plan_from(record.get("addons") or [], first.get("rate_code"))
    updated = parse_utc(record.get("updated_time") or record.get("created_time"))
    cancelled_on = None
    if status in OFF_THE_BOOKS:
        cancelled_on = local_date(record.get("canceled_date") or record.get("updated_time"), timezone)
    checked_out_on = None
    if status == "checked_out":
        checked_out_on = date.fromisoformat(record.get("checked_out_date") or departure.isoformat())
    return {
        "external_id": str(record["id"]),
        "status": status,
        # the hotel's business date of the instant, whether it is written with the hotel's offset, another one or Z
        "booked_on": local_date(record.get("created_time"), timezone),
        "cancelled_on": cancelled_on,
        "checked_out_on": checked_out_on,
        "arrival_date": arrival,
        "departure_date": departure,
        "nights": nights,
        "room_type": room_types.get(int(rt_id)) if rt_id is not None else None,
        "room_number": room.get("number"),
        "adults": first.get("adults"),
        "children": first.get("children"),
        "babies": first.get("infants"),
        "meal_plan": meal,
        "is_dbb": meal in DINNER_PLANS,
        "is_package": False,
        "net_amount": None if net is None else round(net, 2),
        "gross_amount": None if gross is None else round(gross, 2),
        "currency": record.get("currency_code"),
        "channel": record.get("source_code"),
        "source_modified_at": updated,
        "guest": {
            "first_name": primary.get("first_name"),
            "last_name": primary.get("last_name"),
            "email": primary.get("email"),
            "phone": primary.get("mobile_phone") or primary.get("home_phone"),
        },
    }


# -- the connector -------------------------------------------------------------------------------------------------
def _expect_results(response: Any, data: Any) -> None:
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise RetryBody("stayntouch: the body has no results list")


class StayntouchConnector(PmsConnector):
    """Stayntouch Connect: OAuth2 client credentials, ``date_filter=updated`` by hotel-local day, page/per_page.

    Options: ``hotel_code`` (Stayntouch hotel_id, default the portfolio id), ``history_start`` (first day of a full
    extract), ``per_page`` (<= 100). Days are inclusive, so an incremental run re-reads the cursor's whole day:
    duplicates are harmless (unchanged versions), gaps would not be.
    """

    source: ClassVar[str] = "stayntouch"
    rate_limit: ClassVar[RateLimit | None] = RateLimit(300, 60.0)
    credential_options: ClassVar[dict[str, str]] = {"client_id": "client_id_env", "client_secret": "client_secret_env"}
    default_options: ClassVar[dict[str, Any]] = {"hotel_code": None, "history_start": "2013-01-01", "per_page": 100,
                                                 "reconcile_days": 7}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.use_token(self._acquire)

    def _acquire(self) -> tuple[str, float | None]:
        """``POST /oauth/token`` (client credentials in the form body, as go-stayntouch's AuthStyleInParams)."""
        data = self.http.call("POST", "/oauth/token", data={"grant_type": "client_credentials",
                                                            "client_id": self.credentials["client_id"],
                                                            "client_secret": self.credentials["client_secret"]},
                              auth_request=True)
        return answer_token(data, "access_token", "stayntouch POST /oauth/token", "expires_in")

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.auth.get()}"}

    def fetch(self, window: Window) -> None:
        tz = ZoneInfo(self.hotel.timezone)
        hotel = str(self.options.get("hotel_code") or self.hotel.id)
        self.http.call("GET", "/connect/room_types", params={"hotel_id": hotel}, headers=self._headers,
                       check=_expect_results, label="room_types")
        if window.mode == "full":
            start = date.fromisoformat(str(self.options["history_start"]))
        else:
            since = window.since or window.until - timedelta(days=int(self.options["reconcile_days"]))
            start = since.astimezone(tz).date()
        end = window.until.astimezone(tz).date()
        per_page = int(self.options["per_page"])

        def page(index: int) -> ListingPage:
            params = {"hotel_id": hotel, "date_filter": "updated", "from_date": start.isoformat(),
                      "to_date": end.isoformat(), "page": index + 1, "per_page": per_page}
            data = self.http.call("GET", "/connect/reservations", params=params, headers=self._headers,
                                  check=_expect_results, label="reservations")
            total = int(data.get("total_count") or 0)
            ids = [str(r.get("id")) for r in data["results"]]
            return ids, (index + 1) * per_page < total, total

        read_listing(page, what=f"stayntouch reservations updated {start}..{end}")

    @classmethod
    def normalise(cls, pages: list[dict[str, Any]], ctx: ExtractContext) -> Normalised:
        room_types: dict[int, str] = {}
        for page in pages_with(pages, "room_types"):
            room_types.update({int(r["id"]): str(r["code"]) for r in (page.get("body") or {}).get("results") or []})
        records = records_of(pages, "reservations", lambda body: (body or {}).get("results"))
        return assemble(records, lambda item: normalise(item, room_types, ctx.timezone), ctx, "stayntouch reservation",
                        (StayntouchRecordError,))



CONNECTOR = StayntouchConnector
