"""``make bench`` figures of the restaurant side: a 7-night residents list of one hotel, names decrypted, on DuckDB
and on Postgres.

Set-up: the whole data set imported (legacy CSV path) as of 2016-07-31, room nights built, and every booking on the
books in the week given a guest with a fake name in the encrypted store, under policy ``full`` (the most work: every
name decrypted). The figure is the median of 5 productions of the list (query, decryption, pii_access_log write).
"""

from __future__ import annotations

import dataclasses
import statistics
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

import polars as pl

from hotel_pipeline.core import settings
from hotel_pipeline.core.clock import Clock, local_instant
from hotel_pipeline.core.portfolio import Portfolio, load_portfolio
from hotel_pipeline.core.sql_models import run_model
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.occupancy.policies import write_policies
from hotel_pipeline.occupancy.residents import residents_list
from hotel_pipeline.occupancy.room_nights import write_room_nights
from hotel_pipeline.pacing.hotels import write_hotels
from hotel_pipeline.privacy.vault import GUEST_KEYS, GUEST_VAULT, store_guests
from hotel_pipeline.workshop.bench import CSV_PORTFOLIO, Figure, import_dataset, postgres_schema, verdict
from hotel_pipeline.workshop.sandbox.pms.world import fake_guests

T = date(2016, 7, 31)
NIGHTS = 7
TARGET_S = 1.0


def _prepare(warehouse: Warehouse, portfolio: Portfolio, clock: Clock, dataset: Path) -> None:
    import_dataset(warehouse, dataset, portfolio, clock)
    with warehouse.transaction() as tx:
        # the data set has no guests: give every reservation a token, as a PMS source would
        tx.execute("UPDATE reservation_versions SET guest_token = 'bench-' || hotel_id || '-' || external_id")
        write_hotels(tx, portfolio, clock)
        for name in ("reservations", "reservation_nights", "daily_metrics"):
            run_model(tx, name, {"run_at": clock.now_naive_utc()})
        write_policies(tx, portfolio)
        write_room_nights(tx, clock.now_naive_utc())
    week = warehouse.query("SELECT DISTINCT hotel_id, source, guest_token, external_id FROM room_nights "
                           "WHERE stay_date < :e", {"e": date.fromordinal(T.toordinal() + NIGHTS)})
    refs = week["external_id"].cast(pl.Int64)
    guests = pl.concat([week, fake_guests(refs, seed=7)], how="horizontal")
    with warehouse.transaction() as tx:
        store_guests(tx, guests, clock.now_naive_utc())


def _time_list(warehouse: Warehouse, portfolio: Portfolio, now: datetime) -> tuple[float, int, int]:
    hotel = dataclasses.replace(portfolio.hotel("H1"), guest_display="full")
    times, rows, names = [], 0, 0
    for _ in range(5):
        t = time.perf_counter()
        listed = residents_list(warehouse, hotel, T, NIGHTS, requested_by="bench", now=now)
        times.append(time.perf_counter() - t)
        rows = listed.height
        names = int((~listed["guest"].str.starts_with("Guest, ")).sum())
    return statistics.median(times), rows, names


def run_occupancy_bench(postgres: bool = True, dataset: Path = settings.DATASET_PATH) -> list[Figure]:
    """The residents-list figures (DuckDB, and Postgres when reachable); ``dataset`` is the data set or a part of it
    (the smoke test's few rows around the week)."""
    clock = Clock(frozen_at=local_instant(T, "Europe/Lisbon", 3, 30).isoformat())
    portfolio = load_portfolio(CSV_PORTFOLIO)  # the data set's hotels as its CSV layout names them
    figures = []
    with tempfile.TemporaryDirectory(prefix="occupancy-bench-") as tmp:
        duck = Warehouse(url=f"duckdb:///{Path(tmp) / 'w.duckdb'}")
        _prepare(duck, portfolio, clock, dataset)
        seconds, rows, names = _time_list(duck, portfolio, clock.now_naive_utc())
        figures.append(Figure("7 occupancy", f"residents list, 7 nights of H1, DuckDB ({rows} room nights, {names} "
                              "names decrypted)", seconds * 1000, "ms", "< 1000 ms", verdict(seconds, TARGET_S)))
        if postgres:
            try:
                with postgres_schema() as pg:
                    with pg.transaction() as tx:
                        for spec in (GUEST_KEYS, GUEST_VAULT):
                            tx.ensure_table(spec)
                        for table in ("room_nights", "guest_keys", "guest_vault"):
                            frame = duck.read_table(table)
                            if table == "room_nights":
                                tx.execute(duck_ddl_for(pg, frame, table))
                            tx.insert_frame(table, frame)
                    seconds, rows, names = _time_list(pg, portfolio, clock.now_naive_utc())
                    figures.append(Figure("7 occupancy", f"residents list, 7 nights of H1, Postgres ({rows} room "
                                          f"nights, {names} names decrypted)", seconds * 1000, "ms", "< 1000 ms",
                                          verdict(seconds, TARGET_S)))
            except Exception as exc:  # noqa: BLE001 - the bench reports what it could not measure
                figures.append(Figure("7 occupancy", "residents list on Postgres", None, "ms",
                                      note=f"not measured: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}"))
    return figures


def duck_ddl_for(warehouse: Warehouse, frame: pl.DataFrame, table: str) -> str:
    """The room_nights table on the target, typed by its model header."""
    from hotel_pipeline.core.sql_models import model

    return model(table).table.ddl(warehouse.dialect)
