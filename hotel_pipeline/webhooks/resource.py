"""The ``webhooks`` resource: where the receiver stores deliveries, read by the apply asset and its sensor."""

import dagster as dg
from pydantic import Field

from hotel_pipeline.core import settings
from hotel_pipeline.webhooks.spool import Spool


class WebhookSpool(dg.ConfigurableResource):
    """Where the receiver stores deliveries (resource key ``webhooks``)."""

    root: str = Field(default_factory=lambda: str(settings.raw_dir() / "webhooks"),
                      description="The receiver's spool (default $HOTEL_PIPELINE_DATA_DIR/raw/webhooks).")

    def spool(self) -> Spool:
        return Spool(self.root)
