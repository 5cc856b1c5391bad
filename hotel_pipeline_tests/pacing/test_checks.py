"""The asset checks on a real warehouse (DuckDB and PostgreSQL): pass on good tables, fail naming corrupted rows."""

from __future__ import annotations

from datetime import date

import dagster as dg
import pytest

from hotel_pipeline.core.clock import Clock
from hotel_pipeline.core.portfolio import load_portfolio as _load_portfolio
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.defs.pacing import checks
from hotel_pipeline.defs.pacing.definitions import build_defs as _pacing_build_defs
from hotel_pipeline_tests.quality.helpers import (
    SNAPSHOT_DATES,
    TODAY,
    at,
    build_warehouse,
    reservation,
    sample_reservations,
)

pacing_defs = _pacing_build_defs(_load_portfolio())

WHOLE = checks.SnapshotScope()


def json_meta(result: dg.AssetCheckResult, key: str) -> list[dict]:
    return result.metadata[key].value  # type: ignore[return-value]


def test_blocking_checks_pass_on_good_tables(warehouse: Warehouse, frozen_clock: Clock) -> None:
    build_warehouse(warehouse, frozen_clock)
    results = {
        "reservations": checks.check_reservations(warehouse),
        "daily_metrics": checks.check_daily_metrics(warehouse),
        "pacing_snapshots": checks.check_pacing_snapshots(warehouse, WHOLE),
        "pickup": checks.check_pickup(warehouse),
    }
    for table, result in results.items():
        assert result.passed, (table, result.description, result.metadata)
        assert result.severity == dg.AssetCheckSeverity.ERROR
        assert result.metadata["failing_row_count"].value == 0
    assert results["reservations"].metadata["rows_checked"].value == 8
    assert results["daily_metrics"].metadata["rows_checked"].value == 2 * 365
    assert results["pacing_snapshots"].metadata["rows_checked"].value == 2 * 365 * len(SNAPSHOT_DATES)
    assert results["pickup"].metadata["rows_checked"].value == 2 * 365


def test_pickup_check_names_a_zero_for_a_missing_baseline(warehouse: Warehouse, frozen_clock: Clock) -> None:
    """The known mistake (a 0 where no baseline exists), broken pace arithmetic, an ADR without a sale."""
    build_warehouse(warehouse, frozen_clock)
    first, second, unsold = date(2016, 8, 10), date(2016, 8, 11), date(2016, 12, 1)
    with warehouse.transaction() as tx:
        assert tx.query("SELECT COUNT(*) AS n FROM pickup WHERE rooms_sold_stly IS NULL AND pace_vs_stly IS NULL"
                        )["n"][0] == 2 * 365  # no snapshot of T-364 in this warehouse: pace is null everywhere
        tx.execute("UPDATE pickup SET pace_vs_stly = 0 WHERE hotel_id = 'H1' AND stay_date = :d", {"d": first})
        tx.execute("UPDATE pickup SET rooms_sold_stly = 0, pace_vs_stly = 5 WHERE hotel_id = 'H1' AND stay_date = :d",
                   {"d": second})
        tx.execute("UPDATE pickup SET adr = 80 WHERE hotel_id = 'H2' AND stay_date = :d", {"d": unsold})
    result = checks.check_pickup(warehouse)
    assert not result.passed and result.severity == dg.AssetCheckSeverity.ERROR
    rows = [(r["hotel_id"], r["stay_date"], r["failed_checks"]) for r in json_meta(result, "failing_rows")]
    assert rows == [
        ("H1", "2016-08-10", "pace_is_rooms_minus_stly"),
        ("H1", "2016-08-11", "pace_is_rooms_minus_stly"),
        ("H2", "2016-12-01", "adr_only_when_sold"),
    ]
    assert json_meta(result, "failures_by_check") == {"adr_only_when_sold": 1, "pace_is_rooms_minus_stly": 2}


def test_reservations_check_fails_with_the_corrupted_rows(warehouse: Warehouse, frozen_clock: Clock) -> None:
    build_warehouse(warehouse, frozen_clock, snapshots=False)
    with warehouse.transaction() as tx:
        tx.execute("INSERT INTO reservations SELECT * FROM reservations WHERE external_id = '1'")
        tx.execute("UPDATE reservations SET departure_date = :d WHERE external_id = '2'", {"d": date(2016, 7, 29)})
        tx.execute("UPDATE reservations SET babies = -1 WHERE external_id = '6'")
    result = checks.check_reservations(warehouse)
    assert not result.passed
    rows = json_meta(result, "failing_rows")
    assert [(r["external_id"], r["failed_checks"]) for r in rows] == [
        ("1", "multiple_fields_uniqueness"),
        ("1", "multiple_fields_uniqueness"),
        ("2", "departure_is_arrival_plus_nights"),
        ("6", "greater_than_or_equal_to(0)[babies]"),
    ]
    assert rows[2]["departure_date"] == "2016-07-29"
    assert result.metadata["failing_row_count"].value == 4
    assert json_meta(result, "failures_by_check") == {
        "departure_is_arrival_plus_nights": 1, "greater_than_or_equal_to(0)[babies]": 1,
        "multiple_fields_uniqueness": 2}
    table = result.metadata["failing_rows_table"].value
    assert table.splitlines()[0].startswith("| source | hotel_id | external_id |")
    assert "| csv | H1 | 2 |" in table and "departure_is_arrival_plus_nights" in table
    assert result.description.startswith("4 of 9 rows break the contract")


def test_daily_metrics_check_names_the_gap_and_the_negative_count(warehouse: Warehouse, frozen_clock: Clock) -> None:
    build_warehouse(warehouse, frozen_clock, snapshots=False)
    with warehouse.transaction() as tx:
        tx.execute("DELETE FROM daily_metrics WHERE hotel_id = 'H2' AND stay_date = :d", {"d": date(2016, 9, 1)})
        tx.execute("UPDATE daily_metrics SET rooms_sold = -1 WHERE hotel_id = 'H1' AND stay_date = :d",
                   {"d": date(2016, 8, 1)})
    result = checks.check_daily_metrics(warehouse)
    assert not result.passed
    assert json_meta(result, "failures_by_check") == {"dense_horizon": 364,
                                                      "greater_than_or_equal_to(0)[rooms_sold]": 1}
    negative = [r for r in json_meta(result, "failing_rows") if r["hotel_id"] == "H1"]
    assert negative == [{**negative[0], "stay_date": "2016-08-01", "rooms_sold": -1}]
    assert json_meta(result, "incomplete_horizons") == [
        {"hotel_id": "H2", "as_of_date": "2016-07-31", "rows": 364, "missing_stay_dates": ["2016-09-01"],
         "outside_horizon": 0}]


def test_pacing_snapshots_check_fails_on_appended_bad_rows(warehouse: Warehouse, frozen_clock: Clock) -> None:
    """The historian is append-only (Postgres forbids UPDATE/DELETE), so the corruption is appended rows."""
    build_warehouse(warehouse, frozen_clock)
    partial_day = date(2016, 7, 28)
    with warehouse.transaction() as tx:
        # a stray row before its snapshot date, negative, in an otherwise complete snapshot
        tx.execute(
            "INSERT INTO pacing_snapshots (hotel_id, snapshot_date, stay_date, rooms_sold, capacity_count, net_revenue,"
            " gross_revenue, origin, recorded_at) VALUES ('H1', :s, :d, -2, 187, 0, NULL, 'reconstructed', :t)",
            {"s": date(2016, 7, 30), "d": date(2016, 7, 29), "t": at(TODAY)})
        # a snapshot that stops after 10 stay dates
        tx.execute(
            "INSERT INTO pacing_snapshots SELECT hotel_id, :p, stay_date, rooms_sold, capacity_count, net_revenue,"
            " gross_revenue, origin, recorded_at FROM pacing_snapshots"
            " WHERE hotel_id = 'H2' AND snapshot_date = :s AND stay_date < :e",
            {"p": partial_day, "s": date(2016, 7, 29), "e": date(2016, 8, 8)})
    result = checks.check_pacing_snapshots(warehouse, WHOLE)
    assert not result.passed
    counts = json_meta(result, "failures_by_check")
    assert counts == {"dense_horizon": 366 + 10, "greater_than_or_equal_to(0)[rooms_sold]": 1,
                      "stay_date_in_horizon": 1}
    stray = [r for r in json_meta(result, "failing_rows") if r["stay_date"] == "2016-07-29" and r["hotel_id"] == "H1"]
    assert len(stray) == 1 and "stay_date_in_horizon" in stray[0]["failed_checks"]
    gaps = {(g["hotel_id"], g["snapshot_date"]): g for g in json_meta(result, "incomplete_horizons")}
    assert gaps[("H1", "2016-07-30")]["outside_horizon"] == 1
    assert gaps[("H2", "2016-07-28")]["rows"] == 10
    # scoped to the snapshot dates a run materialised, the untouched ones pass
    scoped = checks.check_pacing_snapshots(warehouse, checks.SnapshotScope(TODAY, TODAY))
    assert scoped.passed and scoped.metadata["rows_checked"].value == 2 * 365
    assert scoped.metadata["snapshot_dates_checked"].value == "2016-07-31 .. 2016-07-31"


def test_warning_checks_name_the_anomalies(warehouse: Warehouse, frozen_clock: Clock) -> None:
    rows = [*sample_reservations(), reservation("7", arrival=date(2016, 8, 11), nights=1)]  # overlaps "1" on 08-11
    build_warehouse(warehouse, frozen_clock, rows, capacity={"H1": 1}, snapshots=False)
    adr = checks.warn_adr_outliers(warehouse)
    assert not adr.passed and adr.severity == dg.AssetCheckSeverity.WARN
    assert [(r["external_id"], r["adr"]) for r in json_meta(adr, "flagged_rows")] == [("14970", -6.38),
                                                                                       ("48516", 5400.0)]
    assert checks.warn_adr_outliers(warehouse, floor=-10, ceiling=6000).passed
    guests = checks.warn_zero_guests(warehouse)
    assert not guests.passed and guests.severity == dg.AssetCheckSeverity.WARN
    assert [r["external_id"] for r in json_meta(guests, "flagged_rows")] == ["5"]
    over = checks.warn_over_capacity(warehouse, "daily_metrics")
    assert not over.passed and over.severity == dg.AssetCheckSeverity.WARN
    assert [(r["hotel_id"], r["stay_date"], r["rooms_sold"], r["capacity_count"], r["occupancy"])
            for r in json_meta(over, "flagged_rows")] == [("H1", "2016-08-11", 2, 1, 2.0)]
    # soft anomalies never block: the hard contract still passes on the same tables
    assert checks.check_reservations(warehouse).passed


def test_adr_check_invoked_directly_takes_its_ceiling_from_config(duckdb_warehouse: Warehouse,
                                                                  frozen_clock: Clock) -> None:
    build_warehouse(duckdb_warehouse, frozen_clock, snapshots=False)
    result = checks.reservations_adr_outliers(config=checks.AdrOutlierConfig(ceiling=6000.0),
                                              warehouse=duckdb_warehouse)
    assert [r["external_id"] for r in json_meta(result, "flagged_rows")] == ["14970"]
    assert result.metadata["adr_ceiling"].value == 6000.0


def test_checks_fail_when_the_table_is_missing(duckdb_warehouse: Warehouse) -> None:
    result = checks.check_daily_metrics(duckdb_warehouse)
    assert not result.passed and "does not exist" in (result.description or "")


def test_blocking_check_stops_downstream_assets(duckdb_warehouse: Warehouse, frozen_clock: Clock) -> None:
    """In a real run a failed contract on reservations keeps reservation_nights from materialising."""
    from hotel_pipeline.definitions import defs as root

    build_warehouse(duckdb_warehouse, frozen_clock, snapshots=False)
    with duckdb_warehouse.transaction() as tx:  # a version whose departure contradicts its nights
        tx.execute("UPDATE reservation_versions SET departure_date = :d WHERE external_id = '1'",
                   {"d": date(2016, 8, 30)})
    assets = [root.get_assets_def(k) for k in ("reservations", "reservation_nights")]
    result = dg.materialize(
        [*assets, checks.reservations_contract, checks.reservations_zero_guests],
        resources={"warehouse": duckdb_warehouse, "clock": frozen_clock}, raise_on_error=False,
    )
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not evaluations["reservations_contract"].passed
    assert evaluations["reservations_zero_guests"].severity == dg.AssetCheckSeverity.WARN
    materialized = {m.asset_key.to_user_string() for m in result.get_asset_materialization_events()}
    assert materialized == {"reservations"}
    meta = result.asset_materializations_for_node("reservations")[0].metadata  # counted in the model's transaction
    rows = duckdb_warehouse.query("SELECT COUNT(*) AS n FROM reservations")["n"][0]
    assert meta["dagster/row_count"].value == meta["rows_written"].value == rows > 0


def test_pacing_check_reads_only_the_run_partition(duckdb_warehouse: Warehouse, frozen_clock: Clock) -> None:
    from hotel_pipeline.definitions import defs as root

    build_warehouse(duckdb_warehouse, frozen_clock)
    with duckdb_warehouse.transaction() as tx:  # an incomplete older snapshot, outside the run's partition
        tx.execute("INSERT INTO pacing_snapshots SELECT hotel_id, :p, stay_date, rooms_sold, capacity_count,"
                   " net_revenue, gross_revenue, origin, recorded_at FROM pacing_snapshots"
                   " WHERE snapshot_date = :s AND stay_date = :s", {"p": date(2016, 7, 1), "s": TODAY})
    result = dg.materialize(
        [root.get_assets_def("pacing_snapshots"), checks.pacing_snapshots_contract],
        partition_key=TODAY.isoformat(),
        resources={"warehouse": duckdb_warehouse, "clock": frozen_clock, "portfolio": root.resources["portfolio"]},
    )
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.passed
    assert evaluation.metadata["snapshot_dates_checked"].value == "2016-07-31 .. 2016-07-31"
    assert evaluation.metadata["rows_checked"].value == 2 * 365
    assert not checks.check_pacing_snapshots(duckdb_warehouse, WHOLE).passed


def test_the_project_carries_the_pacing_checks() -> None:
    from hotel_pipeline.definitions import build_definitions

    merged = build_definitions()
    dg.Definitions.validate_loadable(merged)
    keys = {k.to_user_string() for k in merged.resolve_asset_graph().asset_check_keys}
    assert {"reservations:reservations_contract", "daily_metrics:daily_metrics_contract",
            "pacing_snapshots:pacing_snapshots_contract", "reservations:reservations_adr_outliers",
            "pacing_snapshots:pacing_snapshots_over_capacity", "pickup:pickup_contract"} <= keys
    specs = {s.key.name: s for c in pacing_defs.asset_checks or [] for s in c.check_specs}
    assert {n for n, s in specs.items() if s.blocking} == {
        "reservations_contract", "daily_metrics_contract", "pacing_snapshots_contract", "pacing_snapshots_integrity",
        "pickup_contract"}


@pytest.mark.parametrize("name", ["reservations_contract", "daily_metrics_contract", "pacing_snapshots_contract",
                                  "pacing_snapshots_integrity", "pickup_contract"])
def test_contract_checks_are_documented(name: str) -> None:
    spec = next(s for c in pacing_defs.asset_checks or [] for s in c.check_specs if s.key.name == name)
    assert spec.description and len(spec.description) > 20
