"""Dining benchmark (``make bench``): transition throughput over a simulated week, aggregate rebuild time, memory.

The poll rounds of the week (default market, 60 s) are generated up front, one frame pair per simulated day, so the
timed part is only the transition engine. Then the events are loaded into a scratch DuckDB warehouse and the three
dining models are rebuilt in one transaction (timed). Memory is the process's peak resident set (polars allocates
outside Python's allocator, so tracemalloc would miss most of it).
"""

from __future__ import annotations

import resource
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.dining.store import ensure_dining_tables, insert_new_events
from hotel_pipeline.dining.transitions import advance
from hotel_pipeline.workshop.dining.market import generate_market, simulate
from hotel_pipeline.workshop.dining.simulate import chunks, simulated_polls
from hotel_pipeline.workshop.dining_demo import DEMO_START, rebuild_dining_models


def run_dining_bench(days: float = 7.0, interval_s: float = 60.0) -> dict:
    """Measure and return the figures (also printed by ``make bench``)."""
    market = generate_market()
    end = DEMO_START + timedelta(days=days)
    t = time.perf_counter()
    simulate(market, DEMO_START, end)
    total = int((end - DEMO_START).total_seconds() // interval_s)
    batches = [simulated_polls(market, DEMO_START, interval_s, r) for r in chunks(total, 1440)]
    generate_s = time.perf_counter() - t
    keys = slots = None
    events = []
    t = time.perf_counter()
    for i, (attempts, obs) in enumerate(batches):
        adv = advance(attempts, obs, keys, slots, prune_before=DEMO_START + timedelta(days=i + 1))
        keys, slots = adv.key_state, adv.slot_state
        events.append(adv.events)
    transition_s = time.perf_counter() - t
    polls = sum(a.height for a, _ in batches)
    n_events = sum(e.height for e in events)
    with tempfile.TemporaryDirectory() as tmp:
        wh = Warehouse(url=f"duckdb:///{Path(tmp) / 'bench.duckdb'}")
        with wh.transaction() as tx:
            ensure_dining_tables(tx)
            tx.insert_frame("dining_poll_state", keys)
            tx.insert_frame("dining_slot_state", slots)
            for e in events:
                insert_new_events(tx, e, end)
        t = time.perf_counter()
        rebuild_dining_models(wh, end)
        rebuild_s = time.perf_counter() - t
    return {
        "polls": polls,
        "events": n_events,
        "generate_polls_s": round(generate_s, 2),
        "transition_s": round(transition_s, 2),
        "polls_per_second": round(polls / transition_s),
        "aggregates_rebuild_s": round(rebuild_s, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


if __name__ == "__main__":
    print(run_dining_bench())
