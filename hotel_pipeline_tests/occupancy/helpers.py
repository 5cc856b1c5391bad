"""Building the occupancy tables in a test the way the nightly run does (one transaction per step)."""

from __future__ import annotations

from pathlib import Path

from hotel_pipeline.core.clock import Clock
from hotel_pipeline.core.portfolio import Portfolio, load_portfolio
from hotel_pipeline.core.sql_models import run_model
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.occupancy.night_meals import update_night_meals
from hotel_pipeline.occupancy.policies import write_policies
from hotel_pipeline.occupancy.room_nights import write_room_nights

#: The occupancy SQL models after room_nights, in dependency order.
MODELS = ("room_conflicts", "residents_daily")


def build_occupancy(warehouse: Warehouse, clock: Clock, raw_root: Path, portfolio: Portfolio | None = None,
                    models: tuple[str, ...] = MODELS) -> None:
    """hotel_policies, night_meals, room_nights and the models after it (the live layer must be built)."""
    update_night_meals(warehouse, raw_root, clock.now_naive_utc())
    with warehouse.transaction() as tx:
        write_policies(tx, portfolio or load_portfolio())
        write_room_nights(tx, clock.now_naive_utc())
    for name in models:
        with warehouse.transaction() as tx:
            run_model(tx, name, {"run_at": clock.now_naive_utc()})
