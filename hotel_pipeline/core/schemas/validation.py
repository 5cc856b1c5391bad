"""Run a pandera model over a warehouse table and keep what a reviewer needs: which rows failed which rule.

Pandera raises ``SchemaErrors`` with one failure case per (check, row); the asset checks need the offending rows
themselves (keys and the columns the rule looked at) as a small sample, plus counts, so that a red check in the UI
says *what* is wrong without anyone re-running the query. Table-level failures (a missing column, a wrong type)
have no row index and are counted separately.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandera.polars as pa
import polars as pl

from hotel_pipeline.core.horizons import HORIZON_DAYS


def stay_in_horizon(anchor: str) -> pl.Expr:
    """stay_date within anchor .. anchor + 364 (the live board's as_of_date, or a snapshot's snapshot_date)."""
    start = pl.col(anchor)
    return pl.col("stay_date").is_between(start, start + pl.duration(days=HORIZON_DAYS - 1))


def dense_horizon_rows(anchor: str) -> pl.Expr:
    """Exactly 365 rows per (hotel, anchor): with unique keys and the range rule, every stay date once."""
    return pl.len().over("hotel_id", anchor) == HORIZON_DAYS


def one_anchor_per_hotel(anchor: str) -> pl.Expr:
    """One as-of date per hotel: a board rebuilt whole never mixes two states of the books."""
    return pl.col(anchor).n_unique().over("hotel_id") == 1


#: Rows shown in metadata: enough to act on, small enough for the event log.
SAMPLE_ROWS = 20


@dataclass(frozen=True)
class Violations:
    """The outcome of validating one frame against one model."""

    table: str
    rows_checked: int
    #: pandera's failure cases: check, column, failure_case, index (row position, null for table-level failures)
    failure_cases: pl.DataFrame
    #: the failing rows of the frame, with ``failed_checks`` (comma-separated rule names), ordered by the key
    failing_rows: pl.DataFrame

    @property
    def passed(self) -> bool:
        return self.failure_cases.height == 0

    def counts_by_check(self) -> dict[str, int]:
        """How many rows broke each rule (``check`` or ``check[column]`` for column rules)."""
        if self.failure_cases.height == 0:
            return {}
        named = self.failure_cases.select(_rule_name().alias("rule"))
        return dict(sorted(named.group_by("rule").len().iter_rows()))


def _rule_name() -> pl.Expr:
    """``check`` for frame-wide rules, ``check[column]`` for column rules (``not_nullable[adults]``)."""
    return (
        pl.when(pl.col("schema_context") == "Column")
        .then(pl.format("{}[{}]", pl.col("check"), pl.col("column")))
        .otherwise(pl.col("check"))
    )


def validate_frame(model: type[pa.DataFrameModel], frame: pl.DataFrame, key: list[str], table: str) -> Violations:
    """Validate lazily (every rule, not just the first) and return the violations; never raises on bad data."""
    try:
        model.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases.with_columns(pl.col("check").cast(pl.String), pl.col("column").cast(pl.String))
    else:
        cases = pl.DataFrame(
            schema={"failure_case": pl.String, "schema_context": pl.String, "column": pl.String,
                    "check": pl.String, "check_number": pl.Int32, "index": pl.Int32}
        )
    per_row = (
        cases.filter(pl.col("index").is_not_null())
        .select(pl.col("index").cast(pl.UInt32), _rule_name().alias("rule"))
        .unique()
        .group_by("index")
        .agg(pl.col("rule").sort().str.join(", ").alias("failed_checks"))
    )
    failing = (
        frame.with_row_index("index")
        .join(per_row, on="index", how="inner")
        .drop("index")
        .sort([k for k in key if k in frame.columns], nulls_last=True)
    )
    return Violations(table=table, rows_checked=frame.height, failure_cases=cases, failing_rows=failing)


def json_rows(frame: pl.DataFrame, limit: int = SAMPLE_ROWS) -> list[dict[str, Any]]:
    """The first rows as JSON-ready dicts (dates and timestamps as ISO strings)."""
    return json.loads(frame.head(limit).write_json())


def markdown_table(frame: pl.DataFrame, limit: int = SAMPLE_ROWS) -> str:
    """A small markdown table for the Dagster UI; says how many rows were left out."""
    if frame.height == 0:
        return "_no rows_"
    shown = frame.head(limit)
    lines = ["| " + " | ".join(shown.columns) + " |", "|" + "---|" * len(shown.columns)]
    for row in shown.iter_rows():
        lines.append("| " + " | ".join("" if v is None else str(v).replace("|", "\\|") for v in row) + " |")
    if frame.height > limit:
        lines.append(f"\n_{frame.height - limit} more rows not shown_")
    return "\n".join(lines)


def horizon_gaps(frame: pl.DataFrame, group: list[str], anchor: str, days: int) -> pl.DataFrame:
    """Groups whose horizon ``anchor .. anchor + days - 1`` is not exactly covered: row count and missing stay dates.

    ``group`` includes ``anchor`` (the date the horizon starts from: as_of_date or snapshot_date).

    A dense-horizon failure flags every row of the short group; this names the group and the dates that are absent
    (or the extra rows), which is what someone fixing it needs.
    """
    if frame.height == 0:
        return pl.DataFrame(schema={**{c: frame.schema[c] for c in group}, "rows": pl.UInt32,
                                    "missing_stay_dates": pl.List(pl.Date), "outside_horizon": pl.UInt32})
    expected = pl.date_ranges(pl.col(anchor), pl.col(anchor) + pl.duration(days=days - 1))
    in_range = pl.col("stay_date").is_between(pl.col(anchor), pl.col(anchor) + pl.duration(days=days - 1))
    summary = frame.group_by(group).agg(
        pl.len().alias("rows"),
        pl.col("stay_date").filter(in_range).unique().alias("_present"),
        (~in_range).sum().cast(pl.UInt32).alias("outside_horizon"),
    )
    summary = summary.with_columns(
        expected.list.set_difference(pl.col("_present")).list.sort().list.head(10).alias("missing_stay_dates")
    ).drop("_present")
    bad = summary.filter(
        (pl.col("rows") != days) | (pl.col("missing_stay_dates").list.len() > 0) | (pl.col("outside_horizon") > 0)
    )
    return bad.sort(group).select([*group, "rows", "missing_stay_dates", "outside_horizon"])
