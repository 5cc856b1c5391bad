"""Occupancy assets: the hotels' guest policies, per-night board from the raw zone, and room nights.

``room_nights`` is a Python asset around its SQL model (dbt_like_sql/room_nights.sql) because it keeps history:
each run replaces only the nights from the hotel's business date on, so a past night keeps the rooms, board and
guests it had when it was last "tonight" (until retention purges it). ``room_conflicts``, ``residents_daily``,
``restaurant_bookings`` and ``dinner_gaps`` are plain SQL models.
"""

from collections.abc import Iterator

import dagster as dg

from hotel_pipeline.core import settings
from hotel_pipeline.core.clock import Clock
from hotel_pipeline.core.portfolio import Portfolio
from hotel_pipeline.core.sql_models import column_schema, model
from hotel_pipeline.core.warehouse import WAREHOUSE_POOL, Warehouse
from hotel_pipeline.defs.tables import owned_specs, written
from hotel_pipeline.occupancy.night_meals import NIGHT_MEALS, update_night_meals
from hotel_pipeline.occupancy.policies import HOTEL_POLICIES, write_policies
from hotel_pipeline.occupancy.restaurant import RESTAURANT_BOOKING_RECORDS, restaurant_sources, sync_restaurant
from hotel_pipeline.occupancy.room_nights import write_room_nights


def _schema(table_spec) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(c.name, c.type, description=c.doc) for c in table_spec.columns])


def build_assets(portfolio: Portfolio) -> list[dg.AssetsDefinition]:
    """The domain's Python assets for ``portfolio``."""

    @dg.asset(name="hotel_policies", group_name="occupancy", kinds={"python", "duckdb", "postgres"},
              pool=WAREHOUSE_POOL, metadata={"dagster/column_schema": _schema(HOTEL_POLICIES)})
    def hotel_policies(warehouse: Warehouse) -> dg.MaterializeResult:
        """Each hotel's guest display policy (default none) and retention, as the portfolio says."""
        with warehouse.transaction() as tx:
            rows = write_policies(tx, portfolio)
        return dg.MaterializeResult(metadata={"dagster/row_count": rows})

    @dg.multi_asset(
        name="night_meals",
        specs=[dg.AssetSpec("night_meals", group_name="occupancy", kinds={"python", "duckdb", "postgres"},
                            deps=["pms_extract"], metadata={"dagster/column_schema": _schema(NIGHT_MEALS)}),
               *owned_specs("night_meals", "occupancy")],
        pool=WAREHOUSE_POOL, can_subset=True)
    def night_meals(context: dg.AssetExecutionContext, warehouse: Warehouse,
                    clock: Clock) -> Iterator[dg.MaterializeResult]:
        """Board per night where the vendor posts it per night (Mews order items, Newbook dated inventory items),
        read from the raw zone's new extracts."""
        done = update_night_meals(warehouse, settings.raw_dir(), clock.now_naive_utc())
        rows = int(warehouse.query("SELECT COUNT(*) AS n FROM night_meals")["n"][0])
        yield from written(context, warehouse, dg.MaterializeResult(asset_key="night_meals", metadata={
            "dagster/row_count": rows, "raw_files_read": done["files"], "nights_read": done["nights"]}))

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
                                   clock: Clock) -> Iterator[dg.MaterializeResult]:
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
        yield from written(context, warehouse, dg.MaterializeResult(
            asset_key="restaurant_booking_records",
            metadata={"dagster/row_count": rows, "landed": dg.MetadataValue.json(landed)}))

    return [hotel_policies, night_meals, room_nights, restaurant_booking_records]
