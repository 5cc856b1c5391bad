"""One declaration per table: SQL headers, specs, pandera contracts and the data dictionary say the same thing."""

from __future__ import annotations

import re
from pathlib import Path

import pandera.polars as pa
import pytest

from hotel_pipeline.core import reservation_table, vocabularies
from hotel_pipeline.core.schemas import DailyMetrics, PacingSnapshots, Pickup, Reservations
from hotel_pipeline.core.settings import SQL_MODELS_DIR
from hotel_pipeline.core.sql_models import ModelError, load_models, parse_model, sql_list
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


#: A meal plan as a SQL string literal: what a model would write if it spelled a list itself. (Statuses are not
#: searched: dinner_gaps rightly spells the restaurant systems' own words, ``canceled`` and ``no_show`` among them.)
SPELLED = re.compile(r"'(" + "|".join(map(re.escape, vocabularies.MEAL_PLANS)) + r")'")


def spelled_vocabulary(directory: Path = SQL_MODELS_DIR) -> dict[str, list[str]]:
    """Per model file, the meal plans its SELECT spells as literals instead of ``vocabulary()``."""
    found = {}
    for path in sorted(directory.glob("*.sql")):
        body = "\n".join(line for line in path.read_text(encoding="utf-8").splitlines()
                         if not line.lstrip().startswith("--"))
        if words := SPELLED.findall(body):
            found[path.name] = words
    return found


def test_the_models_take_meal_plans_from_the_vocabularies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """room_nights tests a night's board against the declared plans; a list spelled in a model would drift."""
    assert spelled_vocabulary() == {}
    room_nights = load_models()["room_nights"].sql
    assert f"in {sql_list(vocabularies.DINNER_PLANS)} as is_dbb" in room_nights
    assert f"in {sql_list(vocabularies.BREAKFAST_PLANS)}) as breakfast_included" in room_nights
    # The check sees a spelled list (room_nights as it was), and the rendering follows the declaration.
    planted = tmp_path / "room_nights.sql"
    planted.write_text(load_models()["room_nights"].path.read_text(encoding="utf-8").replace(
        "{{ vocabulary('dinner_plans') }} as is_dbb", "('HB', 'FB') as is_dbb"), encoding="utf-8")
    assert spelled_vocabulary(tmp_path) == {"room_nights.sql": ["HB", "FB"]}
    monkeypatch.setitem(vocabularies.SQL_VOCABULARIES, "dinner_plans", ("HB", "FB", "AI"))
    assert "in ('HB', 'FB', 'AI')) as dinner_included" in parse_model(planted).sql
    planted.write_text(planted.read_text(encoding="utf-8").replace("vocabulary('dinner_plans')",
                                                                   "vocabulary('dinner_plan')"), encoding="utf-8")
    with pytest.raises(ModelError, match="room_nights.sql: vocabulary\\(\\) names no vocabulary: 'dinner_plan'"):
        parse_model(planted)
