"""The receiver's routes fuzzed over real HTTP: from its OpenAPI document with schemathesis (whatever the generated
credentials, parameters and bodies, never a 5xx), and with hypothesis past authentication (arbitrary JSON and bytes
with the right credential: 200, 400 or 413, never a 5xx)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotel_pipeline.core.portfolio import Source
from hotel_pipeline.webhooks.receiver import openapi_document
from hotel_pipeline.webhooks.spool import Spool
from hotel_pipeline.webhooks.vendors import WEBHOOK_VENDORS, endpoint_for
from hotel_pipeline.workshop.sandbox.webhooks.harness import receiver_thread
from hotel_pipeline.workshop.sandbox.webhooks.sender import Target

SECRET = "fuzz-secret"
ENV = {f"HOTEL_{v.upper()}_WEBHOOK_SECRET_H1": SECRET for v in WEBHOOK_VENDORS}
ENDPOINTS = [endpoint_for(v, "H1", Source(type=v), ENV) for v in WEBHOOK_VENDORS]
schema = schemathesis.openapi.from_dict(openapi_document(ENDPOINTS, 4096))


@pytest.fixture(scope="module")
def receiver_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    spool = Spool(Path(tmp_path_factory.mktemp("fuzz")) / "spool")
    with receiver_thread(ENDPOINTS, spool, max_body_bytes=4096) as url:
        yield url


@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_route_answers_5xx(case, receiver_url: str) -> None:
    response = case.call(base_url=receiver_url)
    assert response.status_code < 500, (case.path, response.status_code, response.text[:200])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20)
def _paths(value: object, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


def _replace(value: object, path: tuple, new: object) -> object:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    copy = list(value)  # type: ignore[arg-type]
    copy[head] = _replace(copy[head], rest, new)
    return copy


@st.composite
def mutated(draw: st.DrawFn, vendor: str) -> bytes:
    """The vendor's real body with one part (a leaf or a whole subtree) replaced by any JSON value."""
    from datetime import UTC, datetime

    from hotel_pipeline.workshop.sandbox.webhooks.sender import Change, render

    real = json.loads(render(vendor, Change(7, "H1", datetime(2016, 7, 1, tzinfo=UTC), "final", "cancelled"), 3))
    path = draw(st.sampled_from(_paths(real)))
    return json.dumps(_replace(real, path, draw(json_values))).encode()


def bodies(vendor: str) -> st.SearchStrategy[bytes]:
    return st.one_of(mutated(vendor), st.binary(max_size=300), json_values.map(lambda v: json.dumps(v).encode()),
                     mutated(vendor))


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data(), vendor=st.sampled_from(WEBHOOK_VENDORS))
def test_authenticated_garbage_is_400_or_stored_never_5xx(receiver_url: str, data: st.DataObject,
                                                          vendor: str) -> None:
    body = data.draw(bodies(vendor))
    url, headers = Target(vendor, "H1", receiver_url, SECRET).request(body)
    response = httpx.post(url, content=body, headers=headers, timeout=10)
    assert response.status_code in (200, 400, 413), (vendor, body[:100], response.status_code)
