"""The dining part of ``make demo``: one simulated week of the default market, polled every 60 s, into the warehouse.

The clock is simulated (the week takes seconds): the generator draws a week of truth, the poll rounds are the
sandbox's answers at each instant (in process, see docs/dining.md), each simulated day is one ``apply_polls``
transaction, the sandbox's client simulator adds alert events, and the dining SQL models are rebuilt in one
transaction. Prints and returns the five scarcest venues.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.dining.alerts import generate_alert_events, store_alert_events
from hotel_pipeline.workshop.dining.market import MarketConfig, generate_market, simulate, truth_parameters
from hotel_pipeline.workshop.dining.simulate import Outage, run_polls

DINING_MODELS = ("venue_metrics", "market_metrics", "alert_funnel")
#: Monday 2016-07-25 00:00 New York .. a week later; the project's demo clock reads 2016-07-31 (Lisbon).
DEMO_START = datetime(2016, 7, 24, 4, 0)


def rebuild_dining_models(warehouse: Warehouse, run_at: datetime) -> dict[str, int]:
    """All dining aggregates in one transaction: a failure leaves the previous aggregates and every event intact."""
    from hotel_pipeline.core.sql_models import run_model
    from hotel_pipeline.dining.alerts import ALERT_EVENTS
    from hotel_pipeline.dining.store import ensure_dining_tables

    with warehouse.transaction() as tx:
        ensure_dining_tables(tx)
        tx.ensure_table(ALERT_EVENTS)  # the funnel of a market without alerts yet is empty, not an error
        return {name: run_model(tx, name, {"run_at": run_at}) for name in DINING_MODELS}


def run_dining_demo(warehouse: Warehouse, *, config: MarketConfig | None = None, start: datetime = DEMO_START,
                    days: float = 7.0, interval_s: float = 60.0, outages: tuple[Outage, ...] = (),
                    verbose: bool = True) -> dict:
    """Simulate, fill slot_events, venue_metrics, market_metrics, alert_events, alert_funnel; return a summary."""
    market = generate_market(config)
    end = start + timedelta(days=days)
    simulate(market, start, end)
    run = run_polls(market, start, end, interval_s, outages=outages, warehouse=warehouse)
    events = warehouse.query("SELECT * FROM slot_events")
    alerts = generate_alert_events(events)
    with warehouse.transaction() as tx:
        alert_result = store_alert_events(tx, [dict(a, occurred_at=datetime.fromisoformat(a["occurred_at"][:-1]),
                                                    source="sandbox", client=a["client"]) for a in alerts], [],
                                          received_at=end, batch_id="sandbox-demo")
    models = rebuild_dining_models(warehouse, end)
    top = warehouse.query(
        "SELECT venue_name, neighborhood, price_range, scarcity_score, drop_frequency_per_day, "
        "avg_drop_duration_seconds, percent_days_fully_booked FROM venue_metrics WHERE computed_at = :t "
        "ORDER BY scarcity_score DESC, venue_id LIMIT 5", {"t": end})
    if verbose:
        print(f"dining: simulated {days:g} days of {market.venues.height} venues at {interval_s:g} s: "
              f"{run.attempts:,} polls, {events.height:,} slot events, {alert_result['inserted']:,} alert events")
        print("five scarcest venues:")
        with pl.Config(tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True, tbl_width_chars=140):
            print(top)
    return {"polls": run.attempts, "slot_events": events.height, "alert_events": alert_result["inserted"],
            "models": models, "scarcest": top, "truth": truth_parameters(market), "stats": run.stats}
