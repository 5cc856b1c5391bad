"""On Postgres the historian is range-partitioned by snapshot date, one partition per month, made by the pipeline as
it writes; every partition is as append-only as the whole; a historian an older release created unpartitioned is
left as it is."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from hotel_pipeline.core.portfolio import load_portfolio
from hotel_pipeline.core.sql_models import ensure_model_table, model
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.core.warehouse.monthly_partitions import is_partitioned, month_starts, partitions
from hotel_pipeline.pacing.recorder import take_snapshots
from hotel_pipeline.sources.csv.importer import import_file
from hotel_pipeline_tests.pacing.helpers import small_historian
from hotel_pipeline_tests.pacing.test_append_only import raw_sql
from hotel_pipeline_tests.pipeline_helpers import clock_at


def test_month_starts_cover_the_range_across_a_year_end() -> None:
    assert month_starts(date(2015, 11, 30), date(2016, 2, 1)) == [
        date(2015, 11, 1), date(2015, 12, 1), date(2016, 1, 1), date(2016, 2, 1)]
    assert month_starts(date(2016, 7, 5), date(2016, 7, 31)) == [date(2016, 7, 1)]


def test_postgres_historian_is_partitioned_by_month_as_it_is_written(postgres_warehouse: Warehouse, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    small_historian(postgres_warehouse, tmp_path / "data", monkeypatch)  # snapshots of 2015-07-01 .. 07-04
    with postgres_warehouse.transaction() as tx:
        assert is_partitioned(tx, "pacing_snapshots")
        assert partitions(tx, "pacing_snapshots") == ["pacing_snapshots_y2015m07"]
    # The same export again, as of August 1st (nothing changed since), lets later snapshots be reconstructed: the
    # ones of another month get their own partition, and every row is where its snapshot date says.
    export = next((tmp_path / "data" / "inbox").glob("H1_*.csv"))
    later_export = export.with_name("H1_hotel_bookings_asof_2015-08-01.csv")
    later_export.write_bytes(export.read_bytes())
    later = date(2015, 8, 2)
    import_file(postgres_warehouse, later_export, load_portfolio(), clock_at(later, 2))
    outcomes = take_snapshots(postgres_warehouse, load_portfolio(), clock_at(later), date(2015, 7, 30),
                              date(2015, 8, 1), ["H1"])
    assert [o.status for o in outcomes] == ["reconstructed"] * 3, outcomes
    per_partition = postgres_warehouse.query(
        "SELECT tableoid::regclass::text AS part, MIN(snapshot_date) AS lo, MAX(snapshot_date) AS hi, COUNT(*) AS n "
        "FROM pacing_snapshots GROUP BY 1 ORDER BY 1").to_dicts()
    assert [(r["part"], r["lo"].month, r["hi"].month) for r in per_partition] == [
        ("pacing_snapshots_y2015m07", 7, 7), ("pacing_snapshots_y2015m08", 8, 8)]
    assert sum(r["n"] for r in per_partition) == 365 * (4 + 3)
    # One month's partition refuses rewrites as the whole table does (TRUNCATE triggers are not inherited).
    for statement in ("UPDATE pacing_snapshots_y2015m07 SET rooms_sold = 0", "DELETE FROM pacing_snapshots_y2015m08",
                      "TRUNCATE pacing_snapshots_y2015m07", "TRUNCATE pacing_snapshots"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            raw_sql(postgres_warehouse, statement)
    # A partition whose guard was dropped gets it back on the next write.
    raw_sql(postgres_warehouse, "DROP TRIGGER pacing_snapshots_no_truncate ON pacing_snapshots_y2015m08")
    take_snapshots(postgres_warehouse, load_portfolio(), clock_at(later), date(2015, 8, 1), date(2015, 8, 1), ["H1"])
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        raw_sql(postgres_warehouse, "TRUNCATE pacing_snapshots_y2015m08")


def test_an_unpartitioned_historian_from_an_older_release_is_left_as_it_is(postgres_warehouse: Warehouse,
                                                                           tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    m = model("pacing_snapshots")
    with postgres_warehouse.transaction() as tx:
        tx.execute(m.table.ddl("postgres").replace(" PARTITION BY RANGE (snapshot_date)", ""))
        ensure_model_table(tx, m)
    small_historian(postgres_warehouse, tmp_path / "data", monkeypatch)
    with postgres_warehouse.transaction() as tx:
        assert not is_partitioned(tx, "pacing_snapshots") and partitions(tx, "pacing_snapshots") == []
    assert postgres_warehouse.query("SELECT COUNT(*) AS n FROM pacing_snapshots")["n"][0] == 4 * 365


def test_duckdb_historian_has_no_partitions(duckdb_warehouse: Warehouse) -> None:
    ddl = model("pacing_snapshots").table.ddl("duckdb")
    assert "PARTITION" not in ddl and "PRIMARY KEY (hotel_id, snapshot_date, stay_date)" in ddl
