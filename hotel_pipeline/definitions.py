"""The code location: every domain's Dagster objects for one portfolio, SQL model assets, resources and executor.

``build_defs(portfolio)`` is the one way Definitions are made; each domain module under ``hotel_pipeline/defs/``
exposes ``build_defs(portfolio) -> dg.Definitions`` and is listed in ``DOMAINS``. Dagster loads this module and
accepts exactly one ``Definitions`` object at its top level: ``defs``, built from the configured portfolio.
"""

from __future__ import annotations

import dagster as dg

from hotel_pipeline.core.portfolio import Portfolio, load_portfolio
from hotel_pipeline.core.portfolio_resource import PortfolioResource
from hotel_pipeline.core.sql_models import model_assets
from hotel_pipeline.defs.catalogue import catalogued
from hotel_pipeline.defs.channel import definitions as channel
from hotel_pipeline.defs.dining import definitions as dining
from hotel_pipeline.defs.exports import definitions as exports
from hotel_pipeline.defs.occupancy import definitions as occupancy
from hotel_pipeline.defs.pacing import definitions as pacing
from hotel_pipeline.defs.reports import definitions as reports
from hotel_pipeline.defs.sources.csv import definitions as csv_source
from hotel_pipeline.defs.sources.pms import definitions as pms_source
from hotel_pipeline.defs.tables import table_assets
from hotel_pipeline.defs.warehouse import definitions as warehouse_defs
from hotel_pipeline.defs.webhooks import definitions as webhooks
from hotel_pipeline.execution import executor_from_env
from hotel_pipeline.resources import default_resources

#: Every domain of the code location, in the order their objects are merged.
DOMAINS = (csv_source, pms_source, pacing, dining, occupancy, webhooks, channel, warehouse_defs, reports,
           exports)


def build_defs(portfolio: Portfolio) -> dg.Definitions:
    """The Definitions of the code location for ``portfolio``."""
    core = dg.Definitions(
        assets=[*model_assets(), *table_assets()],
        resources={**default_resources(), "portfolio": PortfolioResource.of(portfolio)},
        executor=executor_from_env(),
    )
    return catalogued(dg.Definitions.merge(core, *(domain.build_defs(portfolio) for domain in DOMAINS)), portfolio)


def build_definitions() -> dg.Definitions:
    """The Definitions for the configured portfolio (``HOTEL_PIPELINE_CONFIG``)."""
    return build_defs(load_portfolio())


defs = build_definitions()
