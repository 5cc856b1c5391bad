"""PMS connectors: one module per vendor over one shared HTTP core, raw zone, and extract runner.

``connector_classes()`` maps each source type to the ``CONNECTOR`` class its vendor module exports.
"""

from __future__ import annotations

import importlib
from functools import cache

from hotel_pipeline.core.vendors import PMS_VENDORS
from hotel_pipeline.sources.pms.base import PmsConnector


@cache
def connector_classes() -> dict[str, type[PmsConnector]]:
    """source type -> connector class."""
    classes = (importlib.import_module(f"{__name__}.{name}").CONNECTOR for name in PMS_VENDORS)
    return {cls.source: cls for cls in classes}
