"""Mews through the sandbox, what only Mews does: 408 shrinking, the 3-month interval cap, wrong tokens (the
checks all vendors share run in vendors/test_extract_path.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline_tests.pms.helpers import (
    NOW,
    SCOPES,
    check_bad_credentials_keep_the_cursor,
    extract,
    mismatches,
    serving,
)

VENDOR = "mews"


@pytest.fixture
def sb(scope_world):
    with serving(scope_world(VENDOR), VENDOR) as running:
        yield running


def test_heavy_queries_are_split_not_lost(sb, duckdb_warehouse: Warehouse, tmp_path: Path) -> None:
    sb.sandbox.handlers[VENDOR].heavy_query_limit = 300
    result = extract(sb, duckdb_warehouse, VENDOR, "H1", NOW, tmp_path / "raw")
    assert result.stats.errors > 0  # the 408s happened
    assert mismatches(sb, duckdb_warehouse, VENDOR, "H1", NOW, SCOPES[VENDOR].columns) == {}


def test_bad_credentials_fail_typed_and_keep_the_cursor(sb, duckdb_warehouse: Warehouse, tmp_path: Path) -> None:
    check_bad_credentials_keep_the_cursor(sb, duckdb_warehouse, VENDOR, tmp_path, "MEWS_ACCESS_TOKEN_H1")


def test_sandbox_refuses_intervals_longer_than_three_months(sb) -> None:
    import httpx

    creds = sb.credentials[VENDOR]["H1"]
    body = {"ClientToken": creds["client_token"], "AccessToken": creds["access_token"], "Client": "test",
            "UpdatedUtc": {"StartUtc": "2016-01-01T00:00:00Z", "EndUtc": "2016-04-15T00:00:00Z"},
            "Limitation": {"Count": 10}}
    url = sb.server.base_url(VENDOR) + "/api/connector/v1/reservations/getAll/2023-06-06"
    refused = httpx.post(url, json=body)
    assert refused.status_code == 400 and "3 months" in refused.json()["Message"]
    body["UpdatedUtc"]["EndUtc"] = "2016-03-15T00:00:00Z"
    assert httpx.post(url, json=body).status_code == 200
