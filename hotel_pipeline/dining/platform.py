"""The credentials the poller uses on the reservation platform, as a Dagster resource (key ``dining``).

Which platform and which venues is configuration (the ``dining:`` section of the portfolio); the credentials come
only from environment variables, bound with ``dg.EnvVar`` in ``hotel_pipeline.resources`` (``HOTEL_DINING_API_KEY``,
``HOTEL_DINING_EMAIL``, ``HOTEL_DINING_PASSWORD``), so Dagster shows the variable names and never the values.
"""

from __future__ import annotations

import dagster as dg
from pydantic import Field

#: Environment variable behind each field (bound only when set; a configured poller refuses to run without them).
ENV_VARS = {
    "api_key": "HOTEL_DINING_API_KEY",
    "email": "HOTEL_DINING_EMAIL",
    "password": "HOTEL_DINING_PASSWORD",
}


class DiningPlatform(dg.ConfigurableResource):
    """The credentials of one account on a Resy-compatible platform."""

    api_key: str = Field(default="", description="ResyAPI api_key (env HOTEL_DINING_API_KEY)")
    email: str = Field(default="", description="account e-mail for the session token (env HOTEL_DINING_EMAIL)")
    password: str = Field(default="", description="account password (env HOTEL_DINING_PASSWORD)")

    def credentials(self) -> dict[str, str]:
        """The three credentials, or ``dg.Failure`` naming the variables that are not set."""
        values = {"api_key": self.api_key, "email": self.email, "password": self.password}
        missing = [ENV_VARS[k] for k, v in values.items() if not v]
        if missing:
            raise dg.Failure(f"dining credentials missing: set {', '.join(missing)}")
        return values
