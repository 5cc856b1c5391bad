"""One declaration per table: SQL headers, specs, pandera contracts and the data dictionary say the same thing."""

from __future__ import annotations

from pathlib import Path

import pandera.polars as pa

from hotel_pipeline.core import reservation_table, vocabularies
from hotel_pipeline.core.schemas import DailyMetrics, PacingSnapshots, Pickup, Reservations
from hotel_pipeline.core.sql_models import load_models, parse_model
from hotel_pipeline.core.table_agreement import (
    contract_disagreements,
    dictionary_disagreements,
    disagreements,
    header_disagreements,
)
from hotel_pipeline.core.warehouse_docs import DOC, declared_specs
from hotel_pipeline.dining import schemas as dining
from hotel_pipeline.sources.pms import base as pms_base
from hotel_pipeline.unified import RESERVATION_VERSIONS

CONTRACTS: dict[str, type[pa.DataFrameModel]] = {
    "reservations": Reservations, "daily_metrics": DailyMetrics, "pacing_snapshots": PacingSnapshots,
    "pickup": Pickup, "slot_events": dining.SlotEvents, "venue_metrics": dining.VenueMetrics,
    "market_metrics": dining.MarketMetrics, "alert_events": dining.AlertEvents, "alert_funnel": dining.AlertFunnel,
}


def test_headers_specs_contracts_and_the_dictionary_agree() -> None:
    specs = {name: spec for name, (spec, _) in declared_specs().items()}
    assert disagreements(load_models(), specs, DOC.read_text(encoding="utf-8"), CONTRACTS) == []


def test_a_header_that_strays_from_the_spec_is_named(tmp_path: Path) -> None:
    """Planted: reservations.sql with nights as BIGINT, a reworded meaning and a column the spec lacks."""
    text = load_models()["reservations"].path.read_text(encoding="utf-8")
    planted = (text.replace("-- column nights INTEGER:", "-- column nights BIGINT:")
               .replace("first night", "the first night")
               .replace("-- column version INTEGER:", "-- column extra VARCHAR: planted\n-- column version INTEGER:"))
    (tmp_path / "reservations.sql").write_text(planted, encoding="utf-8")
    problems = header_disagreements(parse_model(tmp_path / "reservations.sql"), reservation_table.RESERVATIONS)
    assert problems == [
        "reservations.sql header vs reservations spec: column extra is not declared",
        "reservations.sql header vs reservations spec: column arrival_date means 'the first night', declared "
        "'first night'",
        "reservations.sql header vs reservations spec: column nights is BIGINT, declared INTEGER",
    ]


def test_a_dictionary_or_contract_that_strays_is_named() -> None:
    doc = DOC.read_text(encoding="utf-8")
    columns = load_models()["reservations"].columns
    head, section, rest = doc.partition("### `reservations`\n")
    planted = head + section + rest.replace("| `nights` | INTEGER |", "| `nights` | DOUBLE |", 1)
    assert dictionary_disagreements(planted, "reservations", columns) == [
        "docs/warehouse.md reservations: column nights is DOUBLE, declared INTEGER"]
    assert dictionary_disagreements(doc.replace("### `reservations`\n", "### `gone`\n"), "reservations", columns)

    class Planted(pa.DataFrameModel):
        nights: str
        no_such_column: int

    assert contract_disagreements("reservations", Planted, columns) == [
        "reservations contract Planted: column nights is checked as String, declared INTEGER",
        "reservations contract Planted: column no_such_column is not declared by the table"]


def test_the_reservation_columns_come_from_one_spec() -> None:
    """The change log, the contract and the PMS contract read the same columns, vocabularies and nullability."""
    fields = [c.name for c in reservation_table.FIELDS]
    assert RESERVATION_VERSIONS.column_names[4:4 + len(fields)] == fields
    schema = Reservations.to_schema()
    assert list(schema.columns) == reservation_table.RESERVATIONS.column_names
    assert {n: c.nullable for n, c in schema.columns.items()} == {
        c.name: c.nullable for c in reservation_table.RESERVATIONS.columns}
    assert pms_base.STATUSES is vocabularies.STATUSES and pms_base.MEAL_PLANS is vocabularies.MEAL_PLANS
