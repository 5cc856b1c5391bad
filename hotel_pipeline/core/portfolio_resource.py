"""The portfolio as a Dagster resource, apart from ``portfolio`` so that reading a portfolio imports no Dagster.

Why apart: the webhook receiver reads the portfolio for its routes, and a Dagster import (seconds of CPU on a busy
machine, a heap the garbage collector walks) would sit in every restart of the receiver and in its answers.
"""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
from pydantic import Field

from hotel_pipeline.core.portfolio import Portfolio, parse_portfolio


class PortfolioResource(dg.ConfigurableResource):
    """The portfolio the code location was built from (resource key ``portfolio``): what assets read at run time.

    It holds the parsed content, not just the path, so a run sees exactly the portfolio its definitions were built
    for. A portfolio holds no secrets (sources name the environment variables of their credentials).
    """

    document: str = Field(description="the portfolio's YAML mapping, as JSON")
    path: str = Field(default="", description="the file it was read from, if any")

    @classmethod
    def of(cls, portfolio: Portfolio) -> PortfolioResource:
        return cls(document=json.dumps(portfolio.document, default=str, sort_keys=True),
                   path=str(portfolio.path or ""))

    def get(self) -> Portfolio:
        return parse_portfolio(json.loads(self.document), Path(self.path) if self.path else None)
