"""One declaration per table: SQL headers, specs, pandera contracts and the data dictionary say the same thing."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import re
import sys
from pathlib import Path

import pandera.polars as pa
import pytest

import hotel_pipeline
from hotel_pipeline.core import reservation_table, vocabularies
from hotel_pipeline.core.schemas import DailyMetrics, PacingSnapshots, Pickup, Reservations, from_table
from hotel_pipeline.core.schemas.daily_metrics import DAILY_METRICS
from hotel_pipeline.core.schemas.pacing_snapshots import PACING_SNAPSHOTS
from hotel_pipeline.core.schemas.pickup import PICKUP
from hotel_pipeline.core.settings import SQL_MODELS_DIR
from hotel_pipeline.core.sql_models import ModelError, load_models, parse_model, sql_list
from hotel_pipeline.core.table_agreement import (
    contract_disagreements,
    dictionary_disagreements,
    disagreements,
    header_disagreements,
)
from hotel_pipeline.core.warehouse import TableSpec
from hotel_pipeline.core.warehouse_docs import DOC, declared_specs
from hotel_pipeline.dining import schemas as dining
from hotel_pipeline.dining.alerts import ALERT_EVENTS
from hotel_pipeline.dining.store import SLOT_EVENTS
from hotel_pipeline.sources.pms import base as pms_base
from hotel_pipeline.unified import RESERVATION_VERSIONS

#: Every table with a data contract: its one declaration, and the pandera model the asset checks run.
CONTRACTED: dict[str, tuple[TableSpec, type[pa.DataFrameModel]]] = {
    "reservations": (reservation_table.RESERVATIONS, Reservations), "daily_metrics": (DAILY_METRICS, DailyMetrics),
    "pacing_snapshots": (PACING_SNAPSHOTS, PacingSnapshots), "pickup": (PICKUP, Pickup),
    **{spec.name: (spec, dining.SCHEMAS[spec.name]) for spec in (
        SLOT_EVENTS, dining.VENUE_METRICS, dining.MARKET_METRICS, ALERT_EVENTS, dining.ALERT_FUNNEL)},
}
CONTRACTS = {name: model for name, (_, model) in CONTRACTED.items()}
#: Contracts of what a source hands over before it is a table row (a PMS record, a CSV row): no table to derive from.
INPUT_CONTRACTS = {"NormalisedReservation", "CsvBookingRow"}


def test_headers_specs_contracts_and_the_dictionary_agree() -> None:
    specs = {name: spec for name, (spec, _) in declared_specs().items()}
    assert disagreements(load_models(), specs, DOC.read_text(encoding="utf-8"), CONTRACTS) == []
    # Every contracted table's spec is among those compared, the very object the contract is made from.
    assert all(specs[name] is spec for name, (spec, _) in CONTRACTED.items())


def test_a_spec_that_strays_from_its_header_or_the_dictionary_is_named() -> None:
    """Planted: a copy of the daily_metrics spec with rooms_sold renamed, and of the slot_events spec with a type
    changed: the first strays from its SQL header, the second from the data dictionary."""
    renamed = dataclasses.replace(DAILY_METRICS, columns=tuple(
        dataclasses.replace(c, name="rooms_on_books") if c.name == "rooms_sold" else c for c in DAILY_METRICS.columns))
    retyped = dataclasses.replace(SLOT_EVENTS, columns=tuple(
        dataclasses.replace(c, type="BIGINT") if c.name == "party_size" else c for c in SLOT_EVENTS.columns))
    specs = {**{name: spec for name, (spec, _) in declared_specs().items()},
             "daily_metrics": renamed, "slot_events": retyped}
    assert disagreements(load_models(), specs, DOC.read_text(encoding="utf-8"), CONTRACTS) == [
        "daily_metrics.sql header vs daily_metrics spec: column rooms_on_books is missing",
        "daily_metrics.sql header vs daily_metrics spec: column rooms_sold is not declared",
        "docs/warehouse.md slot_events: column party_size is INTEGER, declared BIGINT",
    ]


def test_every_table_contract_is_made_from_its_spec() -> None:
    """Columns, order, nullability, per-column rules and frame checks of each contract are its spec's."""
    for name, (spec, model) in CONTRACTED.items():
        schema = model.to_schema()
        assert list(schema.columns) == spec.column_names, name
        assert {n: c.nullable for n, c in schema.columns.items()} == {c.name: c.nullable for c in spec.columns}, name
        assert [c.name for c in schema.checks] == [c.name for c in spec.checks], name
        ruled = {c.name for c in spec.columns if c.rules}
        assert {n for n, c in schema.columns.items() if c.checks} == ruled, name
    # No hand-written model of a table is left: every DataFrameModel of the package is made by from_table.contract,
    # or checks a source's input before it becomes a row.
    for info in pkgutil.walk_packages(hotel_pipeline.__path__, "hotel_pipeline."):
        if ".workshop" not in info.name and not info.name.endswith("__main__"):
            importlib.import_module(info.name)
    written = {cls.__name__ for module in list(sys.modules.values()) if module.__name__.startswith("hotel_pipeline")
               for cls in vars(module).values() if isinstance(cls, type) and issubclass(cls, pa.DataFrameModel)
               and cls is not pa.DataFrameModel and cls.__module__ == module.__name__
               and module.__name__ != from_table.__name__}
    assert written == INPUT_CONTRACTS


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
