"""Registry of sandbox vendors: each vendor module exports its ``VendorHandler`` subclass as ``HANDLER``."""

from __future__ import annotations

import importlib
from functools import cache

from hotel_pipeline.core.vendors import PMS_VENDORS
from hotel_pipeline.workshop.sandbox.pms.base import VendorHandler


@cache
def vendor_classes() -> dict[str, type[VendorHandler]]:
    """vendor name -> handler class."""
    handlers = (importlib.import_module(f"{__name__}.{name}").HANDLER for name in PMS_VENDORS)
    return {handler.name: handler for handler in handlers}
