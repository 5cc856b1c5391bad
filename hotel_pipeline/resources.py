"""The resources every domain shares, configured once (from the environment)."""

from __future__ import annotations

import os
from typing import Any

import dagster as dg

from hotel_pipeline.core.clock import Clock
from hotel_pipeline.core.settings import WAREHOUSE_URL_VAR
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.dining.platform import ENV_VARS, DiningPlatform
from hotel_pipeline.sources.pms.resource import PmsConnectors


def default_resources() -> dict[str, Any]:
    """``warehouse`` from HOTEL_WAREHOUSE_URL, ``clock`` from HOTEL_PIPELINE_CLOCK (wall clock when unset),
    ``pms`` the shared settings of the PMS connectors (retries, timeouts; credentials stay in env vars),
    ``dining`` the reservation platform the restaurant poller talks to (the loopback sandbox by default)."""
    # Secrets are bound as EnvVar (resolved at run time, shown by name only); unset ones keep the sandbox defaults.
    dining = DiningPlatform(**{field: dg.EnvVar(var) for field, var in ENV_VARS.items() if os.environ.get(var)})
    # A Postgres URL carries its password: the resource config holds the variable's name, the value only the run sees.
    warehouse = Warehouse(url=dg.EnvVar(WAREHOUSE_URL_VAR)) if os.environ.get(WAREHOUSE_URL_VAR) else Warehouse()
    return {"warehouse": warehouse, "clock": Clock(), "pms": PmsConnectors(), "dining": dining}
