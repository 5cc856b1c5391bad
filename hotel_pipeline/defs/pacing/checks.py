"""Asset checks of the hotel tables (reservations, daily_metrics, pacing_snapshots, pickup).

The pandera contracts block, the soft anomalies warn.

Blocking checks (severity ERROR) run right after their asset in the same run; when one fails, downstream assets
(reservation_nights, daily_metrics, pickup, ...) do not run, so a broken table never feeds a pickup report.
Warning checks (severity WARN, non-blocking) name suspicious rows without stopping anything or dropping a row.
Every failing result carries the failing rows (a sample as JSON and as a markdown table) and the counts.

The historian is partitioned by snapshot_date and is large; its checks look only at the snapshot dates the run
materialised when the run has a partition (range), else at the whole table.

No ``from __future__ import annotations`` here: Dagster inspects the ``context`` annotation at definition time.
"""

from datetime import date
from typing import Any

import dagster as dg
import polars as pl

from hotel_pipeline.core.schemas import (
    ADR_CEILING,
    ADR_FLOOR,
    HORIZON_DAYS,
    DailyMetrics,
    PacingSnapshots,
    Pickup,
    Reservations,
    Violations,
    adr_outliers,
    horizon_gaps,
    json_rows,
    markdown_table,
    over_capacity,
    validate_frame,
    zero_guest_bookings,
)
from hotel_pipeline.core.schemas import daily_metrics as daily_metrics_schema
from hotel_pipeline.core.schemas import pacing_snapshots as pacing_snapshots_schema
from hotel_pipeline.core.schemas import pickup as pickup_schema
from hotel_pipeline.core.schemas import reservations as reservations_schema
from hotel_pipeline.core.warehouse import WAREHOUSE_POOL, Warehouse
from hotel_pipeline.pacing.append_only import verify_historian
from hotel_pipeline.pacing.reads import SnapshotScope, pickup_mismatches, read_table

#: Columns shown for a failing or flagged reservation: enough to find it in the source and see the problem.
RESERVATION_COLUMNS = [
    "source", "hotel_id", "external_id", "status", "booked_on", "arrival_date", "departure_date", "nights",
    "cancelled_on", "checked_out_on", "adults", "children", "babies", "net_amount", "currency",
]


def snapshot_scope(context: dg.AssetCheckExecutionContext) -> SnapshotScope:
    """The snapshot dates the run materialised (its partition key or range), else the whole table."""
    if context.has_partition_key or context.has_partition_key_range:
        keys = context.partition_key_range
        return SnapshotScope(date.fromisoformat(keys.start), date.fromisoformat(keys.end))
    return SnapshotScope()


def missing_table(table: str, severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR) -> dg.AssetCheckResult:
    """A check of a table that was never built fails: nothing downstream can be trusted."""
    return dg.AssetCheckResult(passed=False, severity=severity,
                               description=f"table {table} does not exist in the warehouse",
                               metadata={"table": table})


def contract_result(violations: Violations, columns: list[str] | None = None,
                    extra: dict[str, Any] | None = None) -> dg.AssetCheckResult:
    """A blocking check's result: passed iff the pandera model found nothing; failing rows and counts as metadata."""
    rows = violations.failing_rows
    wanted = [c for c in (columns or rows.columns) if c in rows.columns and c != "failed_checks"]
    shown = rows.select([*wanted, "failed_checks"])
    table_level = violations.failure_cases.filter(pl.col("index").is_null())
    metadata: dict[str, Any] = {
        "table": violations.table,
        "rows_checked": violations.rows_checked,
        "failing_row_count": rows.height,
        "failures_by_check": dg.MetadataValue.json(violations.counts_by_check()),
        "failing_rows": dg.MetadataValue.json(json_rows(shown)),
        "failing_rows_table": dg.MetadataValue.md(markdown_table(shown)),
    }
    if table_level.height:
        metadata["table_level_failures"] = dg.MetadataValue.json(
            json_rows(table_level.select("check", "column", "failure_case")))
    metadata.update(extra or {})
    passed = violations.passed
    summary = "all rules hold" if passed else (
        f"{rows.height} of {violations.rows_checked} rows break the contract: "
        + ", ".join(f"{k} ({v})" for k, v in violations.counts_by_check().items()))
    return dg.AssetCheckResult(passed=passed, severity=dg.AssetCheckSeverity.ERROR, description=summary,
                               metadata=metadata)


def warning_result(flagged: pl.DataFrame, rows_checked: int, what: str,
                   extra: dict[str, Any] | None = None) -> dg.AssetCheckResult:
    """A warning check's result: fails with severity WARN when rows are flagged; never blocks, never drops."""
    metadata: dict[str, Any] = {
        "rows_checked": rows_checked,
        "flagged_row_count": flagged.height,
        "flagged_rows": dg.MetadataValue.json(json_rows(flagged)),
        "flagged_rows_table": dg.MetadataValue.md(markdown_table(flagged)),
        **(extra or {}),
    }
    description = f"{flagged.height} {what}" if flagged.height else f"no {what}"
    return dg.AssetCheckResult(passed=flagged.height == 0, severity=dg.AssetCheckSeverity.WARN,
                               description=description, metadata=metadata)


def _horizon_metadata(frame: pl.DataFrame, group: list[str], anchor: str) -> dict[str, dg.MetadataValue | int]:
    gaps = horizon_gaps(frame, group, anchor, HORIZON_DAYS)
    return {"incomplete_horizons": dg.MetadataValue.json(json_rows(gaps)), "incomplete_horizon_count": gaps.height}


# --- blocking contracts -------------------------------------------------------------------------------------------


def check_reservations(warehouse: Warehouse) -> dg.AssetCheckResult:
    """The unified model against ``Reservations``."""
    frame = read_table(warehouse, "reservations")
    if frame is None:
        return missing_table("reservations")
    return contract_result(validate_frame(Reservations, frame, reservations_schema.KEY, "reservations"),
                           RESERVATION_COLUMNS)


def check_daily_metrics(warehouse: Warehouse) -> dg.AssetCheckResult:
    """The live board against ``DailyMetrics``; names incomplete horizons and their missing stay dates."""
    frame = read_table(warehouse, "daily_metrics")
    if frame is None:
        return missing_table("daily_metrics")
    violations = validate_frame(DailyMetrics, frame, daily_metrics_schema.KEY, "daily_metrics")
    extra = _horizon_metadata(frame, ["hotel_id", "as_of_date"], "as_of_date") if not violations.passed else {}
    return contract_result(violations, extra=extra)


def check_pacing_snapshots(warehouse: Warehouse, scope: SnapshotScope) -> dg.AssetCheckResult:
    """The historian (the run's snapshot dates, or all) against ``PacingSnapshots``."""
    frame = read_table(warehouse, "pacing_snapshots", scope)
    if frame is None:
        return missing_table("pacing_snapshots")
    violations = validate_frame(PacingSnapshots, frame, pacing_snapshots_schema.KEY, "pacing_snapshots")
    extra: dict[str, Any] = {"snapshot_dates_checked": scope.label}
    if not violations.passed:
        extra.update(_horizon_metadata(frame, ["hotel_id", "snapshot_date"], "snapshot_date"))
    return contract_result(violations, extra=extra)


def check_pickup(warehouse: Warehouse) -> dg.AssetCheckResult:
    """Pickup against ``Pickup`` and against its own recomputation from the historian (every delta, STLY, pace,
    revenue pickup, occupancy and ADR of every row): a 0 for a missing baseline or a month's sum fails here."""
    frame = read_table(warehouse, "pickup")
    if frame is None:
        return missing_table("pickup")
    violations = validate_frame(Pickup, frame, pickup_schema.KEY, "pickup")
    mismatches = pickup_mismatches(warehouse, frame)
    counts = dict(sorted(
        (c, mismatches.filter(pl.col("mismatched").str.contains(rf"\b{c}\b")).height)
        for c in pickup_schema.RECOMPUTED
    ))
    result = contract_result(violations, extra={
        "recomputed_rows": frame.height,
        "recomputation_mismatches": mismatches.height,
        "mismatches_by_column": dg.MetadataValue.json({k: v for k, v in counts.items() if v}),
        "mismatched_rows": dg.MetadataValue.json(json_rows(mismatches)),
        "mismatched_rows_table": dg.MetadataValue.md(markdown_table(mismatches)),
    })
    if mismatches.height == 0:
        return result
    described = ", ".join(f"{k} ({v})" for k, v in counts.items() if v)
    description = f"{mismatches.height} of {frame.height} rows differ from the historian's recomputation: {described}"
    if not violations.passed:
        description = f"{result.description}; {description}"
    return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.ERROR, description=description,
                               metadata=result.metadata)


def check_pacing_integrity(warehouse: Warehouse) -> dg.AssetCheckResult:
    """Compare the historian with the digests taken at write time (``verify_historian``: one cheap scan of the
    whole table when it holds what was written, every snapshot compared only when it does not)."""
    verified = verify_historian(warehouse)
    problems, digested = verified.problems, verified.snapshots_digested
    named = [f"{r['hotel_id']} {r['snapshot_date']}: {r['problem']}" for r in problems.iter_rows(named=True)]
    description = (
        f"all {digested} snapshots hold the rows they were written with" if not named else
        f"{len(named)} snapshots differ from what the recorder wrote: " + "; ".join(named[:50])
        + (f" (and {len(named) - 50} more)" if len(named) > 50 else "")
    )
    return dg.AssetCheckResult(
        passed=not named, severity=dg.AssetCheckSeverity.ERROR, description=description,
        metadata={
            "snapshots_digested": digested,
            "snapshots_differing": len(named),
            "verified_by": verified.method,
            "differing": dg.MetadataValue.json(named),
            "differing_table": dg.MetadataValue.md(markdown_table(problems, limit=200)),
            "sample": dg.MetadataValue.json(json_rows(problems)),
        },
    )


@dg.asset_check(asset="pacing_snapshots", blocking=True, pool=WAREHOUSE_POOL)
def pacing_snapshots_integrity(warehouse: Warehouse) -> dg.AssetCheckResult:
    """Append-only, verified: names every snapshot whose rows were altered, deleted, added or lost since written."""
    return check_pacing_integrity(warehouse)


@dg.asset_check(asset="reservations", blocking=True, pool=WAREHOUSE_POOL)
def reservations_contract(warehouse: Warehouse) -> dg.AssetCheckResult:
    """Keys unique, counts >= 0, dates consistent (booked <= arrival <= departure = arrival + nights, ...)."""
    return check_reservations(warehouse)


@dg.asset_check(asset="daily_metrics", blocking=True, pool=WAREHOUSE_POOL)
def daily_metrics_contract(warehouse: Warehouse) -> dg.AssetCheckResult:
    """Keys unique, dense 365-day horizon from the as-of date, counts >= 0."""
    return check_daily_metrics(warehouse)


@dg.asset_check(asset="pacing_snapshots", blocking=True, pool=WAREHOUSE_POOL)
def pacing_snapshots_contract(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
    """Keys unique, 365 stay dates S..S+364 per hotel and snapshot, counts >= 0 (the run's snapshot dates)."""
    return check_pacing_snapshots(warehouse, snapshot_scope(context))


@dg.asset_check(asset="pickup", blocking=True, pool=WAREHOUSE_POOL)
def pickup_contract(warehouse: Warehouse) -> dg.AssetCheckResult:
    """Keys unique, dense T..T+364, deltas null where the baseline is missing, pace = rooms - STLY, ADR iff sold."""
    return check_pickup(warehouse)


# --- warnings -----------------------------------------------------------------------------------------------------


class AdrOutlierConfig(dg.Config):
    """Bounds of a plausible nightly net rate, in the hotel's currency."""

    floor: float = ADR_FLOOR
    ceiling: float = ADR_CEILING


def warn_adr_outliers(warehouse: Warehouse, floor: float = ADR_FLOOR,
                      ceiling: float = ADR_CEILING) -> dg.AssetCheckResult:
    """Reservations whose nightly net rate is below ``floor`` or above ``ceiling``."""
    frame = read_table(warehouse, "reservations")
    if frame is None:
        return missing_table("reservations", dg.AssetCheckSeverity.WARN)
    flagged = adr_outliers(frame, floor, ceiling).select(
        [c for c in RESERVATION_COLUMNS if c in frame.columns] + ["adr"])
    return warning_result(flagged, frame.height, f"reservations with a nightly rate outside [{floor}, {ceiling}]",
                          {"adr_floor": floor, "adr_ceiling": ceiling})


def warn_zero_guests(warehouse: Warehouse) -> dg.AssetCheckResult:
    """Reservations with no adults, children or babies."""
    frame = read_table(warehouse, "reservations")
    if frame is None:
        return missing_table("reservations", dg.AssetCheckSeverity.WARN)
    flagged = zero_guest_bookings(frame).select([c for c in RESERVATION_COLUMNS if c in frame.columns])
    return warning_result(flagged, frame.height, "reservations with zero guests")


def warn_over_capacity(warehouse: Warehouse, table: str, scope: SnapshotScope | None = None) -> dg.AssetCheckResult:
    """Rows of ``daily_metrics`` or ``pacing_snapshots`` selling more rooms than the hotel has."""
    frame = read_table(warehouse, table, scope)
    if frame is None:
        return missing_table(table, dg.AssetCheckSeverity.WARN)
    flagged = over_capacity(frame)
    keep = [c for c in ("hotel_id", "as_of_date", "snapshot_date", "stay_date", "rooms_sold", "capacity_count",
                        "occupancy", "origin") if c in flagged.columns]
    extra = {"snapshot_dates_checked": scope.label} if scope else {}
    return warning_result(flagged.select(keep), frame.height, "stay dates with occupancy above capacity", extra)


@dg.asset_check(asset="reservations", pool=WAREHOUSE_POOL)
def reservations_adr_outliers(config: AdrOutlierConfig, warehouse: Warehouse) -> dg.AssetCheckResult:
    """Warns (never blocks) on nightly net rates below the floor or above the ceiling, naming the reservations."""
    return warn_adr_outliers(warehouse, config.floor, config.ceiling)


@dg.asset_check(asset="reservations", pool=WAREHOUSE_POOL)
def reservations_zero_guests(warehouse: Warehouse) -> dg.AssetCheckResult:
    """Warns (never blocks) on bookings with adults + children + babies = 0."""
    return warn_zero_guests(warehouse)


@dg.asset_check(asset="daily_metrics", pool=WAREHOUSE_POOL)
def daily_metrics_over_capacity(warehouse: Warehouse) -> dg.AssetCheckResult:
    """Warns (never blocks) when rooms on the books exceed the hotel's capacity (overbooking or stale capacity)."""
    return warn_over_capacity(warehouse, "daily_metrics")


@dg.asset_check(asset="pacing_snapshots", pool=WAREHOUSE_POOL)
def pacing_snapshots_over_capacity(context: dg.AssetCheckExecutionContext,
                                   warehouse: Warehouse) -> dg.AssetCheckResult:
    """Warns (never blocks) when a snapshot holds more rooms than capacity (the run's snapshot dates)."""
    return warn_over_capacity(warehouse, "pacing_snapshots", snapshot_scope(context))


BLOCKING_CHECKS = [reservations_contract, daily_metrics_contract, pacing_snapshots_contract,
                   pacing_snapshots_integrity, pickup_contract]
WARNING_CHECKS = [reservations_adr_outliers, reservations_zero_guests, daily_metrics_over_capacity,
                  pacing_snapshots_over_capacity]
