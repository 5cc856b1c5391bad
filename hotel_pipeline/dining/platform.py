"""The reservation platform the poller talks to, as a Dagster resource (key ``dining``).

Empty ``base_url`` (the default) means the loopback sandbox, simulated around each poll round. For a real endpoint the
credentials are bound with ``dg.EnvVar`` in ``hotel_pipeline.resources`` (``HOTEL_DINING_BASE_URL``,
``HOTEL_DINING_API_KEY``, ``HOTEL_DINING_EMAIL``, ``HOTEL_DINING_PASSWORD``), so Dagster shows the variable names and
never the values.
"""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from hotel_pipeline.workshop.dining import sandbox as sb

#: Environment variable behind each field (bound only when set; unset fields keep the sandbox defaults).
ENV_VARS = {
    "base_url": "HOTEL_DINING_BASE_URL",
    "api_key": "HOTEL_DINING_API_KEY",
    "email": "HOTEL_DINING_EMAIL",
    "password": "HOTEL_DINING_PASSWORD",
}


class DiningPlatform(dg.ConfigurableResource):
    """A Resy-compatible endpoint and the credentials to poll it."""

    base_url: str = Field(default="", description="Resy-compatible base URL; empty = the loopback sandbox")
    api_key: str = Field(default=sb.API_KEY, description="ResyAPI api_key (sandbox value by default)")
    email: str = Field(default=sb.LOGIN_EMAIL, description="account e-mail for the session token")
    password: str = Field(default=sb.LOGIN_PASSWORD, description="account password for the session token")

    @property
    def is_sandbox(self) -> bool:
        return not self.base_url

    def credentials(self) -> dict[str, str]:
        return {"api_key": self.api_key, "email": self.email, "password": self.password}
