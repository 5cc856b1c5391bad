"""RMS Cloud connector: RMS reservations in the unified model.

Why it looks the way it does: RMS authenticates with ``POST /authToken`` (agent + client credentials, token in the
``authtoken`` header), searches with ``POST /reservations/search`` (``modifiedFrom``/``modifiedTo``,
``listOfStatus``, ``limit``/``offset``) and limits that endpoint to 60 requests per 10 seconds; failed logins lock the
account for an hour, so the connector never retries an auth failure. Meals are only a ``mealPlanId``: the connector
reads the property's ``GET /mealPlans`` once per run and maps the plan *names*.

Status mapping in RMS words: Unconfirmed/Confirmed/Pencil -> confirmed; Arrived -> checked_in; Departed ->
checked_out; Cancelled -> cancelled; NoShow ("No Show") -> no_show. Maintenance, OwnerOccupied and Quote rows are not
guest reservations and are skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from hotel_pipeline.sources.pms.base import (
    ExtractContext,
    ListingPage,
    Normalised,
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
#: Statuses of rows that block a room but are not guest reservations.
NOT_RESERVATIONS = {"maintenance", "owneroccupied", "quote"}

#: Every status the connector asks for in ``listOfStatus`` (RMS filters by status; cancellations must be asked for).
LIST_OF_STATUS = ["Unconfirmed", "Confirmed", "Arrived", "Departed", "Cancelled", "NoShow"]


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
    """``2016-08-22 19:25:00`` (property-local) -> naive datetime."""
    return datetime.strptime(text[:19], "%Y-%m-%d %H:%M:%S")


def _date(text: str | None) -> date | None:
    return None if not text else date.fromisoformat(text[:10])


def normalise(record: Mapping[str, Any], meal_plans: Mapping[int, str]) -> dict[str, Any] | None:
    """One RMS reservation -> unified fields + ``external_id``, ``source_modified_at``, ``guest``; None for a
    non-guest row (maintenance, owner occupied, quote). ``meal_plans`` is ``GET /mealPlans`` as id -> name."""
    raw = str(record.get("status") or "")
    key = _key(raw)
    if key in NOT_RESERVATIONS:
        return None
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
    total = record.get("accommodationTotal")
    return {
        "external_id": str(record["id"]),
        "status": status,
        "booked_on": _date(record.get("createdDate")),
        "cancelled_on": _date(record.get("cancelledDate")) if status in ("cancelled", "no_show") else None,
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
        "is_dbb": meal in ("HB", "FB"),
        "is_package": False,
        "net_amount": None if total is None else float(total),
        "gross_amount": None,
        "currency": None,  # RMS amounts are in the property's currency: the connector fills it from the portfolio
        "channel": record.get("bookingSourceName"),
        "source_modified_at": parse_rms_datetime(modified),
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
                                                 "reconcile_days": 7, "module_type": "revenueManagement"}

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
        body = {"modifiedFrom": _local(since, tz), "modifiedTo": _local(window.until, tz),
                "listOfStatus": LIST_OF_STATUS}
        size = int(self.options["page_size"])

        def page(index: int) -> ListingPage:
            data = self.http.call("POST", "/reservations/search", params={"limit": size, "offset": index * size},
                                  json_body=body, headers=self._headers, check=_expect_list, label="reservations")
            return [str(r.get("id")) for r in data], len(data) >= size, None  # a bare list: the end is a short page

        read_listing(page, what=f"rms reservations/search modified {body['modifiedFrom']}..{body['modifiedTo']}")

    @classmethod
    def normalise(cls, pages: list[dict[str, Any]], ctx: ExtractContext) -> Normalised:
        plans: dict[int, str] = {}
        for page in pages_with(pages, "mealPlans"):
            plans.update({int(p["id"]): str(p.get("name")) for p in page.get("body") or []})
        records = records_of(pages, "reservations", lambda body: body)
        return assemble(records, lambda item: normalise(item, plans), ctx, "rms reservation", (RmsRecordError,))


def _num(value: str) -> int | str:
    return int(value) if value.isdigit() else value


CONNECTOR = RmsConnector
