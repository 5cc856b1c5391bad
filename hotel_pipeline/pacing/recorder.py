"""The historian's writer: record today's snapshot, reconstruct past ones, skip what cannot be trusted, never rewrite.

For every (hotel, snapshot_date S) asked for, one outcome:
- already in ``pacing_snapshots``: left exactly as it is (append-only; a re-run only fills missing hotels);
- S after the hotel's business date T: skipped (the future cannot be photographed);
- the hotel's sync is failed, or does not cover S-1: skipped, logged in ``snapshot_log`` (never a partial baseline);
- the hotel's sync is partial (records quarantined): the hotel's ``partial_sync`` policy decides, by default skipped
  and logged naming the count;
- S = T: *recorded*, a photograph of the live layer ``daily_metrics`` built for T (and a recent successful sync);
- S < T: *reconstructed* from booking history by the ``pacing_snapshots`` SQL model, the whole range in one statement
  per slice of about 30 hotels (so memory stays flat and time linear in hotels).
All rows, digests and log entries of a run commit in one transaction (see ``append_only`` for the guards).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import polars as pl

from hotel_pipeline.core.clock import Clock, date_range
from hotel_pipeline.core.horizons import HORIZON_DAYS, SQL_CONSTANTS
from hotel_pipeline.core.portfolio import Hotel, Portfolio
from hotel_pipeline.core.sql_models import SqlModel, ensure_model_table, model
from hotel_pipeline.core.warehouse import Tx, Warehouse, spec
from hotel_pipeline.core.warehouse.monthly_partitions import ensure_month_partitions
from hotel_pipeline.pacing.append_only import (
    digest_new_snapshots,
    ensure_digests,
    ensure_guard,
    ensure_partition_guards,
)

SNAPSHOT_LOG = spec(
    "snapshot_log",
    [
        ("hotel_id", "VARCHAR", "portfolio hotel id"),
        ("snapshot_date", "DATE", "the snapshot date attempted"),
        ("status", "VARCHAR", "recorded, reconstructed or skipped"),
        ("reason", "VARCHAR", "why it was skipped (failed or incomplete sync, stale live layer, future date)"),
        ("logged_at", "TIMESTAMP", "when the outcome was decided (clock, UTC)"),
    ],
    primary_key=("hotel_id", "snapshot_date"),
    doc="Outcome of the latest attempt per hotel and snapshot date; a skipped date has no pacing rows.",
    grain="(hotel_id, snapshot_date)",
)

@dataclass(frozen=True)
class Outcome:
    hotel_id: str
    snapshot_date: date
    status: str  # recorded | reconstructed | skipped | present
    reason: str | None = None


def ensure_historian(tx: Tx) -> None:
    """The historian (migrated, never dropped), its log, its digests and, on Postgres, its guard triggers."""
    ensure_model_table(tx, model("pacing_snapshots"))
    tx.ensure_table(SNAPSHOT_LOG)
    ensure_guard(tx)
    ensure_partition_guards(tx)
    ensure_digests(tx)


def _write_slice(tx: Tx, m: SqlModel, todo: list[Outcome], run_at: datetime) -> None:
    """Write and digest the snapshots of ``todo`` (one slice of hotels): the reconstructed ones in one statement
    straight from the model's SELECT, the recorded ones copied from the live board."""
    plan = pl.DataFrame(
        {"hotel_id": [o.hotel_id for o in todo], "snapshot_date": [o.snapshot_date for o in todo],
         "origin": [o.status for o in todo]},
        schema={"hotel_id": pl.String, "snapshot_date": pl.Date, "origin": pl.String},
    )
    tx.temp_table("_snapshot_plan", plan)
    cols = m.column_list
    rebuilt = [o for o in todo if o.status == "reconstructed"]
    if rebuilt:
        days = [o.snapshot_date for o in rebuilt]
        hotels = sorted({o.hotel_id for o in rebuilt})
        params = {**SQL_CONSTANTS, "snapshot_start": min(days), "snapshot_end": max(days), "run_at": run_at,
                  "hotel_first": hotels[0], "hotel_last": hotels[-1]}
        tx.execute(
            f"INSERT INTO pacing_snapshots ({cols}) SELECT {', '.join('s.' + c for c in cols.split(', '))} "  # noqa: S608
            f"FROM ({m.sql}) s JOIN _snapshot_plan p ON p.hotel_id = s.hotel_id "
            "AND p.snapshot_date = s.snapshot_date AND p.origin = 'reconstructed' "
            "ON CONFLICT DO NOTHING",  # a concurrent run got there first: its rows stand, never rewritten
            params,
        )
    if any(o.status == "recorded" for o in todo):
        # The photograph: today's live board, copied as it stands.
        tx.execute(
            f"INSERT INTO pacing_snapshots ({cols}) "  # noqa: S608
            "SELECT d.hotel_id, p.snapshot_date, d.stay_date, d.rooms_sold, d.capacity_count, d.net_revenue, "
            "d.gross_revenue, 'recorded', CAST(:run_at AS TIMESTAMP) "
            "FROM daily_metrics d JOIN _snapshot_plan p ON p.hotel_id = d.hotel_id "
            "AND p.snapshot_date = d.as_of_date AND p.origin = 'recorded' ON CONFLICT DO NOTHING",
            {"run_at": run_at},
        )
    digest_new_snapshots(tx, run_at)


def _sync_state(tx: Tx) -> dict[tuple[str, str], dict]:
    if not tx.table_exists("integration_status"):
        return {}
    rows = tx.query("SELECT * FROM integration_status")
    return {(r["hotel_id"], r["source"]): r for r in rows.iter_rows(named=True)}


def _sync_problem(hotel: Hotel, sync: dict[tuple[str, str], dict], day: date, recording: bool,
                  now: datetime) -> str | None:
    """Why this hotel's data cannot back a snapshot of ``day`` (None if it can)."""
    if not hotel.sources:
        return "the hotel has no sources"
    for source in hotel.sources:
        row = sync.get((hotel.id, source.type))
        if row is None:
            return f"{source.type}: never synced"
        if row["last_status"] == "partial":
            if hotel.partial_sync == "skip":
                return (f"{source.type}: partial sync, {row.get('quarantined') or 0} records quarantined "
                        f"(policy partial_sync: skip)")
        elif row["last_status"] != "ok":
            return f"{source.type}: last sync failed ({row.get('last_error') or 'no detail'})"
        covered = row["covered_through"]
        if covered is None or covered < day - timedelta(days=1):
            return f"{source.type}: incomplete sync, data covers only through {covered}, snapshot needs {day - timedelta(days=1)}"
        if recording and (row["last_success_at"] is None
                          or now - row["last_success_at"] > timedelta(hours=hotel.sync_max_age_hours)):
            return f"{source.type}: last successful sync {row['last_success_at']} is older than {hotel.sync_max_age_hours} h"
    return None


def plan_snapshots(tx: Tx, portfolio: Portfolio, clock: Clock, start: date, end: date,
                   hotel_ids: list[str] | None = None) -> list[Outcome]:
    """Decide the outcome of every (hotel, snapshot_date) in [start, end] without writing anything."""
    ensure_historian(tx)
    present = {
        (h, d) for h, d in tx.query(
            "SELECT DISTINCT hotel_id, snapshot_date FROM pacing_snapshots WHERE snapshot_date BETWEEN :a AND :b",
            {"a": start, "b": end},
        ).iter_rows()
    }
    live = {}
    if tx.table_exists("daily_metrics"):
        live = dict(tx.query("SELECT hotel_id, MAX(as_of_date) AS d FROM daily_metrics GROUP BY hotel_id").iter_rows())
    sync = _sync_state(tx)
    now = clock.now_naive_utc()
    outcomes = []
    for hotel in portfolio.hotels:
        if hotel_ids and hotel.id not in hotel_ids:
            continue
        today = clock.business_date(hotel.timezone)
        for day in date_range(start, end):
            if (hotel.id, day) in present:
                outcomes.append(Outcome(hotel.id, day, "present"))
            elif day > today:
                outcomes.append(Outcome(hotel.id, day, "skipped", f"{day} is after the hotel's business date {today}"))
            elif problem := _sync_problem(hotel, sync, day, recording=day == today, now=now):
                outcomes.append(Outcome(hotel.id, day, "skipped", problem))
            elif day == today and live.get(hotel.id) != day:
                outcomes.append(Outcome(hotel.id, day, "skipped",
                                        f"live layer daily_metrics is built for {live.get(hotel.id)}, not {day}"))
            else:
                outcomes.append(Outcome(hotel.id, day, "recorded" if day == today else "reconstructed"))
    return outcomes


#: Historian rows one reconstruction statement builds at most (about 30 hotels x a year): a portfolio is rebuilt a
#: slice of hotels at a time, so memory stays flat and time linear in hotels, however many there are.
ROWS_PER_STATEMENT = 4_000_000


def hotel_slices(hotel_ids: list[str], dates: int, rows_per_statement: int) -> list[list[str]]:
    """The hotels in id order, cut into slices whose reconstruction over ``dates`` snapshot dates stays within
    ``rows_per_statement`` rows (365 stay dates per snapshot); at least one hotel per slice."""
    per = max(1, rows_per_statement // max(1, dates * HORIZON_DAYS))
    ordered = sorted(set(hotel_ids))
    return [ordered[i:i + per] for i in range(0, len(ordered), per)]


def take_snapshots(warehouse: Warehouse, portfolio: Portfolio, clock: Clock, start: date, end: date,
                   hotel_ids: list[str] | None = None) -> list[Outcome]:
    """Plan and write in one transaction; returns every outcome (``present`` ones untouched)."""
    run_at = clock.now_naive_utc()
    m = model("pacing_snapshots")
    with warehouse.transaction() as tx:
        outcomes = plan_snapshots(tx, portfolio, clock, start, end, hotel_ids)
        todo = [o for o in outcomes if o.status in ("recorded", "reconstructed")]
        if todo:
            dates = [o.snapshot_date for o in todo]
            if ensure_month_partitions(tx, "pacing_snapshots", min(dates), max(dates)):
                ensure_partition_guards(tx)
            rebuilt = [o.snapshot_date for o in todo if o.status == "reconstructed"]
            span = (max(rebuilt) - min(rebuilt)).days + 1 if rebuilt else 1
            for hotels in hotel_slices([o.hotel_id for o in todo], span, ROWS_PER_STATEMENT):
                members = set(hotels)
                _write_slice(tx, m, [o for o in todo if o.hotel_id in members], run_at)
        if todo and tx.dialect == "postgres":
            tx.execute("ANALYZE pacing_snapshots")
        logged = [o for o in outcomes if o.status != "present"]
        if logged:
            log = pl.DataFrame(
                {"hotel_id": [o.hotel_id for o in logged], "snapshot_date": [o.snapshot_date for o in logged],
                 "status": [o.status for o in logged], "reason": [o.reason for o in logged],
                 "logged_at": [run_at] * len(logged)},
                schema=SNAPSHOT_LOG.polars_schema(),
            )
            tx.temp_table("_snapshot_log_new", log)
            tx.execute("DELETE FROM snapshot_log WHERE EXISTS (SELECT 1 FROM _snapshot_log_new n "
                       "WHERE n.hotel_id = snapshot_log.hotel_id AND n.snapshot_date = snapshot_log.snapshot_date)")
            tx.insert_frame("snapshot_log", log)
    return outcomes
