"""The shared resources keep secrets out of the code location: the warehouse URL (a Postgres password) is bound as
``dg.EnvVar``, so the UI's resource config names the variable and the value only reaches the run."""

from __future__ import annotations

import dagster as dg
import pytest
from dagster._core.remote_representation.external_data import RepositorySnap
from dagster_shared.serdes import serialize_value

from hotel_pipeline.core.portfolio import load_portfolio
from hotel_pipeline.definitions import build_defs
from hotel_pipeline.resources import default_resources

PASSWORD = "pw-6c1f0e9b-not-in-the-ui"


@pytest.fixture
def postgres_url(monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"postgresql://pipeline:{PASSWORD}@127.0.0.1:5432/test"
    monkeypatch.setenv("HOTEL_WAREHOUSE_URL", url)
    return url


def test_the_warehouse_url_is_bound_by_variable_name(postgres_url: str) -> None:
    fields = default_resources()["warehouse"]._get_non_default_public_field_values()
    assert isinstance(fields["url"], dg.EnvVar) and fields["url"].env_var_name == "HOTEL_WAREHOUSE_URL"


def test_the_ui_shows_the_variable_not_the_password(postgres_url: str) -> None:
    """What the UI serves (the repository snapshot) names HOTEL_WAREHOUSE_URL and never holds the password."""
    repository = build_defs(load_portfolio()).get_repository_def()
    snap = RepositorySnap.from_def(repository)
    assert PASSWORD not in serialize_value(snap)  # not as a configured value, nor as a field's default
    [warehouse] = [r for r in snap.resources if r.name == "warehouse"]
    assert "HOTEL_WAREHOUSE_URL" in serialize_value(warehouse.configured_values["url"])


def test_the_run_sees_the_value(postgres_url: str) -> None:
    """Resolved for a run, the resource carries the URL the variable holds."""
    @dg.asset
    def url_seen(warehouse: dg.ResourceParam[object]) -> str:  # the resolved resource as the run gets it
        return warehouse.url  # type: ignore[attr-defined]

    result = dg.materialize([url_seen], resources={"warehouse": default_resources()["warehouse"]})
    assert result.output_for_node("url_seen") == postgres_url


def test_without_the_variable_the_local_duckdb_default_stays(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOTEL_WAREHOUSE_URL", raising=False)
    assert default_resources()["warehouse"].url.startswith("duckdb:///")
