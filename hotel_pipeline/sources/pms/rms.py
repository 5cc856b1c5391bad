"""RMS Cloud connector: RMS reservations in the unified model.

Why it looks the way it does: RMS authenticates with ``POST /authToken`` (agent + client credentials, token in the
``authtoken`` header), searches with ``POST /reservations/search`` (``modifiedFrom``/``modifiedTo``,
``listOfStatus``, ``limit``/``offset``) and limits that endpoint to 60 requests per 10 seconds; failed logins lock the
account for an hour, so the connector never retries an auth failure. Meals are only a ``mealPlanId``: the connector
reads the property's ``GET /mealPlans`` once per run and maps the plan *names*.

Amounts: the search answer carries none; ``POST /reservations/dailyRevenue/search`` (``{"ids": [...]}``) gives each
night's ``accommodation`` (tax inclusive on tax-inclusive properties), ``accommodationTax`` and ``accommodationGST``.
The stay's net is the sum over the booked nights of accommodation (minus its tax and GST when the ``tax_inclusive``
option is true); the gross adds them (or is accommodation itself on tax-inclusive properties).

Status mapping in RMS words (the reservationSearch enum, any case): unconfirmed/confirmed/pencil -> confirmed
(pencil is a hold RMS cancels itself when it expires); arrived -> checked_in; departed -> checked_out; cancelled ->
cancelled; noShow -> no_show. maintenance, ownerOccupied, quote and stopSell rows, and rows whose reservationType is
Maintenance, Blocking or RoomMoveHeader, are not guest bookings: skipped and counted. Anything else is quarantined
naming the value.
"""

from __future__ import annotations

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
    answer_token,
    assemble,
    pages_with,
    read_listing,
    records_of,
)
from hotel_pipeline.sources.pms.http import RateLimit, RetryBody

SOURCE = "rms"

STATUS_FROM_RMS = {
    "unconfirmed": "confirmed",
    "confirmed": "confirmed",
    "pencil": "confirmed",
    "arrived": "checked_in",
    "departed": "checked_out",
    "cancelled": "cancelled",
    "noshow": "no_show",
}
#: Statuses of rows that block a room or quote a price but are not guest bookings (skipped, counted).
NOT_RESERVATIONS = {"maintenance", "owneroccupied", "quote", "stopsell"}
#: reservationType values that are not guest bookings.
NOT_RESERVATION_TYPES = {"maintenance", "blocking", "roommoveheader"}

#: Every status the connector asks for in ``listOfStatus``, spelled as the reservationSearch enum (RMS filters by
#: status; cancellations and pencils must be asked for).
LIST_OF_STATUS = ["unconfirmed", "confirmed", "pencil", "arrived", "departed", "cancelled", "noShow"]
#: Reservation ids per ``dailyRevenue/search`` call.
REVENUE_BATCH = 500


class RmsRecordError(ValueError):
    """An RMS reservation the connector cannot read."""


def _key(status: str) -> str:
    return status.replace(" ", "").replace("-", "").replace("_", "").lower()


def meal_plan_from_name(name: str | None) -> str:
    """An RMS meal-plan name -> RO/BB/HB/FB/unknown (names are property setup, so match by words)."""
    text = (name or "").lower()
    if "full" in text:
        return "FB"
    if "half" in text or "dinner" in text or "dbb" in text:
        return "HB"
    if "breakfast" in text or "b&b" in text:
        return "BB"
    if "room only" in text or text.strip() == "ro":
        return "RO"
    return "unknown"


def parse_rms_datetime(text: str) -> datetime:
    """``2024-08-22 19:25:00`` (property-local) -> naive datetime."""
    try:
        return datetime.strptime(text[:19].replace("T", " "), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise RmsRecordError(f"unreadable RMS date-time {text!r}") from None


def _date(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(str(text)[:10])
    except ValueError:
        raise RmsRecordError(f"unreadable RMS date {text!r}") from None


def stay_amounts(nights: list[Mapping[str, Any]] | None, arrival: date, departure: date,
                 tax_inclusive: bool) -> tuple[float | None, float | None]:
    """(net, gross) of the booked nights' ``dailyRevenue`` entries (accommodation only; None when RMS returned no
    revenue for the reservation, 0 for a reservation listed without nights)."""
    if nights is None:
        return None, None
    net = gross = 0.0
    for night in nights:
        if not arrival <= _date(night.get("theDate")) < departure:
            continue
        room = float(night.get("accommodation") or 0.0)
        tax = float(night.get("accommodationTax") or 0.0) + float(
            night.get("accommodationGST", night.get("accommodationGst")) or 0.0)
        net += room - tax if tax_inclusive else room
        gross += room if tax_inclusive else room + tax
    return round(net, 2), round(gross, 2)


def normalise(record: Mapping[str, Any], meal_plans: Mapping[int, str],
              revenue: Mapping[int, list[Mapping[str, Any]]] | None = None,
              tax_inclusive: bool = False) -> dict[str, Any]:
    """One RMS reservation -> unified fields + ``external_id``, ``source_modified_at``, ``guest``; NotABooking for a
    non-guest row. ``meal_plans`` is ``GET /mealPlans`` as id -> name, ``revenue`` the ``dailyRevenue`` entries by
    reservation id."""
    raw = str(record.get("status") or "")
    key = _key(raw)
    if key in NOT_RESERVATIONS:
        raise NotABooking(f"rms status {raw}")
    kind = str(record.get("reservationType") or "")
    if _key(kind) in NOT_RESERVATION_TYPES:
        raise NotABooking(f"rms reservationType {kind}")
    if key not in STATUS_FROM_RMS:
        raise RmsRecordError(f"unknown RMS status {raw!r}")
    status = STATUS_FROM_RMS[key]
    arrival = _date(record["arrivalDate"])
    departure = _date(record["departureDate"])
    if arrival is None or departure is None:
        raise RmsRecordError("RMS reservation without arrivalDate/departureDate")
    modified = record.get("ModifiedDate") or record.get("modifiedDate")
    if not modified:
        raise RmsRecordError("RMS reservation without ModifiedDate")
    meal = meal_plan_from_name(meal_plans.get(int(record.get("mealPlanId") or 0)))
    net, gross = stay_amounts((revenue or {}).get(int(record["id"])), arrival, departure, tax_inclusive)
    return {
        "external_id": str(record["id"]),
        "status": status,
        "booked_on": _date(record.get("createdDate")),
        "cancelled_on": _date(record.get("cancelledDate")) if status in OFF_THE_BOOKS else None,
        "checked_out_on": (_date(record.get("departedDate")) or departure) if status == "checked_out" else None,
        "arrival_date": arrival,
        "departure_date": departure,
        "nights": (departure - arrival).days,
        "room_type": record.get("categoryName"),
        "room_number": record.get("areaName"),
        "adults": record.get("adults"),
        "children": record.get("children"),
        "babies": record.get("infants"),
        "meal_plan": meal,
        "is_dbb": meal in DINNER_PLANS,
        "is_package": False,
        "net_amount": net,
        "gross_amount": gross,
        "currency": None,  # RMS amounts are in the property's currency: the connector fills it from the portfolio
        "channel": record.get("bookingSourceName"),
        "source_modified_at": parse_rms_datetime(str(modified)),
        "guest": {
            "first_name": record.get("guestGiven"),
            "last_name": record.get("guestSurname"),
            "email": record.get("guestEmail"),
            "phone": record.get("guestMobile"),
        },
    }


# -- the connector -------------------------------------------------------------------------------------------------
def _local(instant: datetime, timezone: str) -> str:
    return instant.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M:%S")


def _expect_list(response: Any, data: Any) -> None:
    if not isinstance(data, list):
        raise RetryBody("rms: a search page must be a JSON list")


class RmsConnector(PmsConnector):
    """RMS Cloud: ``/authToken`` then ``/reservations/search`` by modified time, every status listed explicitly.

    Credentials (environment variables named by the source): ``agent_id`` + ``agent_password`` (the integrator's
    agent credentials) and ``client_id`` + ``client_password`` (the property's client credentials): RMS's docs
    treat each id/password pair as one credential ("Live agent credentials", 403 "Invalid Credentials"). Options:
    ``history_start`` (first modified instant a full extract reads), ``page_size`` (<= 500). The client budget is
    60 searches per 10 s, RMS's documented limit.
    """

    source: ClassVar[str] = "rms"
    rate_limit: ClassVar[RateLimit | None] = RateLimit(60, 10.0)
    credential_options: ClassVar[dict[str, str]] = {"agent_id": "agent_id_env", "agent_password": "agent_password_env",
                                                    "client_id": "client_id_env",
                                                    "client_password": "client_password_env"}
    default_options: ClassVar[dict[str, Any]] = {"history_start": "2013-01-01T00:00:00Z", "page_size": 500,
                                                 "reconcile_days": 7, "module_type": "revenueManagement",
                                                 "tax_inclusive": False}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.use_token(self._acquire)
        # the ids are often a few digits: redacted as whole field values, never searched for inside other text
        self.http.secret_fields |= {"agentId", "agentPassword", "clientId", "clientPassword"}

    def _acquire(self) -> tuple[str, float | None]:
        """``POST /authToken``; a refusal is final (``auth_request``: failed logins lock the agent for an hour).
        RMS answers an ``expiryDate`` in the property's local time, not a lifetime: the token is renewed on 401."""
        body = {"agentId": _num(self.credentials["agent_id"]), "agentPassword": self.credentials["agent_password"],
                "clientId": _num(self.credentials["client_id"]),
                "clientPassword": self.credentials["client_password"], "useTrainingDatabase": False,
                "moduleType": [self.options["module_type"]]}
        data = self.http.call("POST", "/authToken", json_body=body, auth_request=True)
        return answer_token(data, "token", "rms POST /authToken")

    def _headers(self) -> dict[str, str]:
        return {"authtoken": self.auth.get()}

    def fetch(self, window: Window) -> None:
        tz = self.hotel.timezone
        self.http.call("GET", "/mealPlans", headers=self._headers, label="mealPlans")
        if window.mode == "full":
            since = datetime.fromisoformat(str(self.options["history_start"]).replace("Z", "+00:00"))
        else:
            since = window.since or window.until - timedelta(days=int(self.options["reconcile_days"]))
        body = {"modifiedFrom": _local(since, tz), "modifiedTo": _local(window.until, tz)}
        self._search(body, f"rms reservations/search modified {body['modifiedFrom']}..{body['modifiedTo']}")

    def fetch_ids(self, ids: list[str]) -> None:
        """``POST /reservations/search`` with ``reservationIds`` (the search's id filter) for the named
        reservations, then their nightly revenue, as an extract reads them."""
        self.http.call("GET", "/mealPlans", headers=self._headers, label="mealPlans")
        wanted = sorted({int(i) for i in ids if i.isdigit()})
        size = int(self.options["page_size"])
        for start in range(0, len(wanted), size):
            chunk = wanted[start:start + size]
            self._search({"reservationIds": chunk}, f"rms reservations/search {chunk[0]}..{chunk[-1]} by id")

    def _search(self, criteria: dict[str, Any], what: str) -> None:
        """Every page of ``POST /reservations/search`` with ``criteria`` (every status listed), then the
        ``dailyRevenue`` of the reservations found."""
        body = {**criteria, "listOfStatus": LIST_OF_STATUS}
        size = int(self.options["page_size"])

        ids: set[int] = set()

        def page(index: int) -> ListingPage:
            data = self.http.call("POST", "/reservations/search", params={"limit": size, "offset": index * size},
                                  json_body=body, headers=self._headers, check=_expect_list, label="reservations")
            ids.update(r["id"] for r in data if isinstance(r, dict) and isinstance(r.get("id"), int))
            return [str(r.get("id")) for r in data], len(data) >= size, None  # a bare list: the end is a short page

        read_listing(page, what=what)
        ordered = sorted(ids)
        for i in range(0, len(ordered), REVENUE_BATCH):
            self.http.call("POST", "/reservations/dailyRevenue/search", json_body={"ids": ordered[i:i + REVENUE_BATCH]},
                           headers=self._headers, check=_expect_list, label="dailyRevenue")

    @classmethod
    def normalise(cls, pages: list[dict[str, Any]], ctx: ExtractContext) -> Normalised:
        plans: dict[int, str] = {}
        for page in pages_with(pages, "mealPlans"):
            plans.update({int(p["id"]): str(p.get("name")) for p in page.get("body") or []})
        revenue: dict[int, list[dict[str, Any]]] = {}
        for page in pages_with(pages, "dailyRevenue"):
            for entry in page.get("body") or []:
                if isinstance(entry, dict) and entry.get("reservationId") is not None:
                    revenue[int(entry["reservationId"])] = list(entry.get("dailyRevenue") or [])
        tax_inclusive = bool(ctx.options.get("tax_inclusive", False))
        records = records_of(pages, "reservations", lambda body: body)
        return assemble(records, lambda item: normalise(item, plans, revenue, tax_inclusive), ctx, "rms reservation",
                        (RmsRecordError,))


def _num(value: str) -> int | str:
    return int(value) if value.isdigit() else value


CONNECTOR = RmsConnector
