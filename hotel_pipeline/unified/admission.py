"""Admission: the rows a source may commit to the unified model, decided per row before anything is written.

A row is admitted only if it keeps every rule of the blocking ``Reservations`` contract (the same pandera model the
``reservations_contract`` check runs, so the two cannot drift apart) and the plausibility bounds of the portfolio's
``import_limits`` (dates within a window around the business date, nights, guests, a finite nightly rate within
bounds). A refused row carries its reasons to the quarantine; it never reaches ``reservation_versions``, so it can
neither fail a later run for every hotel nor expand into millions of nights.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import polars as pl

from hotel_pipeline.core.portfolio import ImportLimits
from hotel_pipeline.core.schemas import Reservations, validate_frame

DATE_FIELDS = ("booked_on", "arrival_date", "departure_date", "cancelled_on", "checked_out_on")


@dataclass(frozen=True)
class Admission:
    """The admitted rows (input columns, in input order) and, per refused row position, why."""

    admitted: pl.DataFrame
    refused: dict[int, list[str]]


def plausibility_reasons(frame: pl.DataFrame, limits: ImportLimits, business_date: date) -> dict[int, list[str]]:
    """Per row position, the bounds of ``limits`` it breaks (rows within every bound are absent)."""
    lo, hi = business_date - timedelta(days=limits.past_days), business_date + timedelta(days=limits.future_days)
    checks: list[tuple[pl.Expr, pl.Expr]] = []
    for f in DATE_FIELDS:
        if f in frame.columns:
            checks.append((pl.col(f).is_not_null() & ~pl.col(f).is_between(pl.lit(lo), pl.lit(hi)),
                           pl.format(f"{f} {{}} is outside {lo} .. {hi} (import_limits past_days/future_days around "
                                     f"the business date {business_date})", pl.col(f))))
    checks.append((pl.col("nights") > limits.max_nights,
                   pl.format(f"{{}} nights is more than import_limits max_nights {limits.max_nights}", pl.col("nights"))))
    guests = pl.col("adults").fill_null(0) + pl.col("children").fill_null(0) + pl.col("babies").fill_null(0)
    checks.append((guests > limits.max_guests,
                   pl.format(f"{{}} guests is more than import_limits max_guests {limits.max_guests}", guests)))
    for amount in ("net_amount", "gross_amount"):
        checks.append((pl.col(amount).is_not_null() & ~pl.col(amount).is_finite(),
                       pl.format(f"{amount} {{}} is not a finite number", pl.col(amount).cast(pl.String))))
    rate = pl.col("net_amount") / pl.max_horizontal(pl.col("nights"), pl.lit(1))
    checks.append((pl.col("net_amount").is_finite() & ~rate.is_between(limits.min_nightly_rate, limits.max_nightly_rate),
                   pl.format(f"nightly rate {{}} is outside import_limits {limits.min_nightly_rate} .. "
                             f"{limits.max_nightly_rate}", rate.round(2))))
    wide = frame.with_columns(
        [pl.when(cond.fill_null(False)).then(text).otherwise(None).alias(f"_r{i}") for i, (cond, text) in enumerate(checks)]
    ).with_row_index("_pos")
    out: dict[int, list[str]] = {}
    cols = [f"_r{i}" for i in range(len(checks))]
    flagged = wide.filter(pl.any_horizontal(pl.col(c).is_not_null() for c in cols)).select("_pos", *cols)
    for row in flagged.iter_rows():
        out[int(row[0])] = [r for r in row[1:] if r is not None]
    return out


def contract_reasons(frame: pl.DataFrame, synced_at: datetime) -> dict[int, list[str]]:
    """Per row position, the rules of the blocking ``Reservations`` contract it would break once committed."""
    probe = frame.with_columns(pl.lit(synced_at).alias("synced_at"), pl.lit(1).alias("version")).with_row_index("_pos")
    violations = validate_frame(Reservations, probe, ["_pos"], "reservations")
    if violations.passed:
        return {}
    out: dict[int, list[str]] = {}
    for pos, rules in violations.failing_rows.select("_pos", "failed_checks").iter_rows():
        out[int(pos)] = [f"breaks the reservations contract: {rules}"]
    table_level = violations.failure_cases.filter(pl.col("index").is_null())
    if table_level.height and not out:
        # A whole-frame failure (a type the source cannot give) refuses every row rather than committing them.
        why = "; ".join(f"{c} {k}" for c, k in table_level.select("column", "check").unique().rows())
        return {i: [f"breaks the reservations contract: {why}"] for i in range(frame.height)}
    return out


def admit(frame: pl.DataFrame, limits: ImportLimits, business_date: date, synced_at: datetime) -> Admission:
    """Split unified rows into the admitted and the refused (with every reason of each)."""
    if frame.height == 0:
        return Admission(frame, {})
    refused = plausibility_reasons(frame, limits, business_date)
    for pos, reasons in contract_reasons(frame, synced_at).items():
        refused.setdefault(pos, []).extend(reasons)
    if not refused:
        return Admission(frame, {})
    admitted = frame.with_row_index("_adm").filter(~pl.col("_adm").is_in(list(refused))).drop("_adm")
    return Admission(admitted, refused)
