"""Occupancy assets: the hotels' guest policies, per-night board from the raw zone, and room nights.

``room_nights`` is a Python asset around its SQL model (dbt_like_sql/room_nights.sql) because it keeps history:
each run replaces only the nights from the hotel's business date on, so a past night keeps the rooms, board and
guests it had when it was last "tonight" (until retention purges it). ``room_conflicts``, ``residents_daily``,
``restaurant_bookings`` and ``dinner_gaps`` are plain SQL models.
"""

import dagster as dg
import polars as pl

from hotel_pipeline.core import settings
from hotel_pipeline.core.clock import Clock
from hotel_pipeline.core.portfolio import Portfolio
from hotel_pipeline.core.sql_models import column_schema, model, stage_model
from hotel_pipeline.core.warehouse import WAREHOUSE_POOL, Tx, Warehouse, spec
from hotel_pipeline.occupancy.night_meals import NIGHT_MEALS, update_night_meals
from hotel_pipeline.occupancy.restaurant import RESTAURANT_BOOKING_RECORDS, restaurant_sources, sync_restaurant

HOTEL_POLICIES = spec(
    "hotel_policies",
    [
        ("hotel_id", "VARCHAR", "portfolio hotel id"),
        ("guest_display", "VARCHAR", "what a residents list may show of a name: none, initials, surname or full"),
        ("retention_days", "INTEGER", "days after departure room-level detail and names are kept"),
    ],
    primary_key=("hotel_id",),
    doc="Per hotel: the guest display policy and the retention of room-level detail (from the portfolio).",
    grain="hotel_id",
)


def _schema(table_spec) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(c.name, c.type, description=c.doc) for c in table_spec.columns])


def write_policies(tx: Tx, portfolio: Portfolio) -> int:
    """Replace ``hotel_policies`` with the portfolio's (inside the caller's transaction)."""
    tx.ensure_table(HOTEL_POLICIES)
    tx.execute("DELETE FROM hotel_policies")
    return tx.insert_frame("hotel_policies", HOTEL_POLICIES.conform(pl.DataFrame(
        [{"hotel_id": h.id, "guest_display": h.guest_display, "retention_days": h.retention_days}
         for h in portfolio.hotels])))


def write_room_nights(tx: Tx, run_at) -> int:
    """Replace the room nights from each hotel's business date on with the model's rows; earlier nights stay."""
    m = model("room_nights")
    tx.ensure_table(NIGHT_MEALS)  # empty until a vendor posts board per night
    if not tx.table_exists(m.name):
        tx.lock_ddl()
        tx.execute(m.table.ddl(tx.dialect))
    stage = stage_model(tx, m, {"run_at": run_at})
    tx.execute("DELETE FROM room_nights WHERE EXISTS (SELECT 1 FROM hotels h WHERE h.hotel_id = room_nights.hotel_id "
               "AND room_nights.stay_date >= h.business_date)")
    return tx.execute(f"INSERT INTO room_nights ({m.column_list}) SELECT {m.column_list} FROM {stage}")  # noqa: S608


def build_assets(portfolio: Portfolio) -> list[dg.AssetsDefinition]:
    """The domain's Python assets for ``portfolio``."""

    @dg.asset(name="hotel_policies", group_name="occupancy", kinds={"python", "duckdb", "postgres"},
              pool=WAREHOUSE_POOL, metadata={"dagster/column_schema": _schema(HOTEL_POLICIES)})
    def hotel_policies(warehouse: Warehouse) -> dg.MaterializeResult:
        """Each hotel's guest display policy (default none) and retention, as the portfolio says."""
        with warehouse.transaction() as tx:
            rows = write_policies(tx, portfolio)
        return dg.MaterializeResult(metadata={"dagster/row_count": rows})

    @dg.asset(name="night_meals", group_name="occupancy", kinds={"python", "duckdb", "postgres"},
              pool=WAREHOUSE_POOL, deps=["pms_extract"], metadata={"dagster/column_schema": _schema(NIGHT_MEALS)})
    def night_meals(warehouse: Warehouse, clock: Clock) -> dg.MaterializeResult:
        """Board per night where the vendor posts it per night (Mews order items, Newbook dated inventory items),
        read from the raw zone's new extracts."""
        done = update_night_meals(warehouse, settings.raw_dir(), clock.now_naive_utc())
        rows = int(warehouse.query("SELECT COUNT(*) AS n FROM night_meals")["n"][0])
        return dg.MaterializeResult(metadata={"dagster/row_count": rows, "raw_files_read": done["files"],
                                              "nights_read": done["nights"]})

    m = model("room_nights")

    @dg.asset(name="room_nights", group_name="occupancy", description=m.description,
              kinds={"sql", "duckdb", "postgres"}, pool=WAREHOUSE_POOL, deps=[*m.deps, "daily_metrics"],
              metadata={"dagster/column_schema": column_schema(m),
                        "sql_file": dg.MetadataValue.path(str(m.path.relative_to(settings.REPO_ROOT)))})
    def room_nights(warehouse: Warehouse, clock: Clock) -> dg.MaterializeResult:
        with warehouse.transaction() as tx:
            written = write_room_nights(tx, clock.now_naive_utc())
            rows = int(tx.query("SELECT COUNT(*) AS n FROM room_nights")["n"][0])
        return dg.MaterializeResult(metadata={"dagster/row_count": rows, "rows_written": written})

    @dg.asset(name="restaurant_booking_records", group_name="occupancy", kinds={"python", "duckdb", "postgres"},
              pool=WAREHOUSE_POOL, metadata={"dagster/column_schema": _schema(RESTAURANT_BOOKING_RECORDS)})
    def restaurant_booking_records(context: dg.AssetExecutionContext, warehouse: Warehouse,
                                   clock: Clock) -> dg.MaterializeResult:
        """Restaurant bookings of every hotel with a restaurant source (Resos-shaped API, CSV inbox), landed raw
        first; diners' names only in the encrypted guest store."""
        warehouse.ensure_tables(RESTAURANT_BOOKING_RECORDS)
        landed: dict[str, int] = {}
        for hotel in portfolio.hotels:
            if not restaurant_sources(hotel):
                continue
            done = sync_restaurant(warehouse, hotel, clock.business_date(hotel.timezone), clock.now(),
                                   settings.raw_dir(), settings.inbox_dir())
            landed.update({f"{hotel.id}/{k}": v for k, v in done.items()})
            context.log.info(f"{hotel.id}: restaurant bookings landed {done}")
        rows = int(warehouse.query("SELECT COUNT(*) AS n FROM restaurant_booking_records")["n"][0])
        return dg.MaterializeResult(metadata={"dagster/row_count": rows, "landed": dg.MetadataValue.json(landed)})

    return [hotel_policies, night_meals, room_nights, restaurant_booking_records]
