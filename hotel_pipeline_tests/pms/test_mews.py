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


#: What each operation's documentation page marks required besides the three tokens (see docs/connectors.md "Mews").
REQUIRED = {"reservations/getAll/2023-06-06": ["Limitation"], "orderItems/getAll": ["Limitation", "ServiceOrderIds"],
            "customers/getAll": ["Limitation", "Extent", "CustomerIds"], "resources/getAll": ["Limitation", "Extent"],
            "resourceCategories/getAll": ["Limitation", "ServiceIds"],
            "resourceCategoryAssignments/getAll": ["Limitation", "ResourceCategoryIds"],
            "products/getAll": ["Limitation", "ServiceIds"], "ageCategories/getAll": ["Limitation"]}


def test_requests_carry_the_documented_required_fields_and_the_sandbox_refuses_them_missing(sb, tmp_path: Path) -> None:
    import os
    from datetime import timedelta

    import httpx

    from hotel_pipeline.sources.pms import connector_classes
    from hotel_pipeline.sources.pms.base import Window
    from hotel_pipeline_tests.pms.helpers import FAST_RETRY

    os.environ.update(sb.env)
    hotel = sb.hotel(VENDOR, "H1")
    connector = connector_classes()[VENDOR](hotel, hotel.sources[0], retry=FAST_RETRY, throttle=False, seed=1)
    try:
        connector.fetch(Window("incremental", until=NOW, since=NOW - timedelta(days=2)))
        sent: dict[str, dict] = {}
        for page in connector.http.pages:
            sent[page.path.split("/api/connector/v1/", 1)[1]] = page.request["json"]
    finally:
        connector.close()
    assert set(sent) == set(REQUIRED)
    for operation, fields in REQUIRED.items():
        assert all(sent[operation].get(f) not in (None, [], {}) for f in fields), (operation, sent[operation])
    # the sandbox answers what Mews answers to a request without one of them: 400 with its error body
    creds = sb.credentials[VENDOR]["H1"]
    tokens = {"ClientToken": creds["client_token"], "AccessToken": creds["access_token"], "Client": "test"}
    for operation, fields in REQUIRED.items():
        body = {**sent[operation], **tokens}
        url = sb.server.base_url(VENDOR) + "/api/connector/v1/" + operation
        assert httpx.post(url, json=body).status_code == 200, operation
        for field in fields:
            refused = httpx.post(url, json={k: v for k, v in body.items() if k != field})
            assert refused.status_code == 400, (operation, field)
            assert set(refused.json()) == {"Message", "RequestId"}, (operation, field)
