"""The ``pms`` resource: how every PMS connector runs (raw zone root, throttle, retry budget).

It lives with the connectors, not with the assets, because the extract asset, the webhook apply and the CLI all build
connectors from it; vendor credentials never pass through it (each connector reads its own environment variables).
"""

import dagster as dg
from pydantic import Field

from hotel_pipeline.core import settings
from hotel_pipeline.core.portfolio import Hotel, Source
from hotel_pipeline.sources.pms import connector_classes
from hotel_pipeline.sources.pms.base import PmsConnector
from hotel_pipeline.sources.pms.http import RetryPolicy


class PmsConnectors(dg.ConfigurableResource):
    """How connectors run: raw zone root, client-side throttle, retry budget (resource key ``pms``)."""

    raw_dir: str = Field(default_factory=lambda: str(settings.raw_dir()),
                         description="Root of the raw landing zone (default $HOTEL_PIPELINE_DATA_DIR/raw).")
    throttle: bool = Field(default=True, description="Stay within each vendor's documented request budget.")
    max_attempts: int = Field(default=8, description="Attempts per request before a typed error.")
    timeout_seconds: float = Field(default=30.0, description="HTTP timeout per attempt.")
    backoff_base_seconds: float = Field(default=0.5, description="First backoff ceiling (doubles per attempt).")

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(max_attempts=self.max_attempts, timeout_seconds=self.timeout_seconds,
                           backoff_base_seconds=self.backoff_base_seconds)

    def connector(self, hotel: Hotel, source: Source) -> PmsConnector:
        """The connector of ``source`` for ``hotel``, with this resource's retry budget and throttle."""
        return connector_classes()[source.type](hotel, source, retry=self.retry_policy(), throttle=self.throttle)
