"""Hard rules of ``pickup`` (contract: per hotel and future stay date T..T+364, as of the hotel's business date T).

Analysts read pickup and pace straight off this table, so its arithmetic is part of the contract: a missing baseline
must stay null (the known mistake is a 0, which reads as "no pickup"), pace is exactly rooms on the books minus the
same time last year's, and ADR exists only where a room is sold.
"""

from __future__ import annotations

import polars as pl

from hotel_pipeline.core.schemas import boards
from hotel_pipeline.core.schemas.boards import KEY
from hotel_pipeline.core.schemas.from_table import contract
from hotel_pipeline.core.sql_models import model
from hotel_pipeline.core.warehouse import FrameCheck

__all__ = ["KEY", "PICKUP", "Pickup"]

_STLY, _PACE = pl.col("rooms_sold_stly"), pl.col("pace_vs_stly")
#: The live board's stay dates with deltas that are null where their baseline snapshot is missing. The columns are
#: the model header's (``dbt_like_sql/pickup.sql``).
PICKUP = model("pickup").table.with_contract(
    not_null=(*boards.NOT_NULL, "rooms_sold", "net_revenue", "occupancy"),
    rules={"rooms_sold": {"ge": 0}, "rooms_sold_stly": {"ge": 0}, "occupancy": {"ge": 0}}, unique=tuple(KEY),
    checks=(
        *boards.CHECKS,
        FrameCheck("pace_is_rooms_minus_stly",
                   "pace_vs_stly = rooms_sold - rooms_sold_stly, and null exactly where the STLY baseline is missing.",
                   pl.when(_STLY.is_null()).then(_PACE.is_null()).otherwise(_PACE == pl.col("rooms_sold") - _STLY)
                   .fill_null(False)),
        FrameCheck("adr_only_when_sold", "ADR is net revenue per sold room: null when nothing is sold, present "
                   "otherwise.", pl.col("adr").is_null() == (pl.col("rooms_sold") == 0)),
    ))

Pickup = contract(PICKUP, "Pickup", "The live board's stay dates with deltas that are null where their baseline "
                                    "snapshot is missing.")


#: pickup column -> (snapshot offset in days before T, stay-date offset) of the historian row it subtracts.
BASELINES = {"pickup_1d": (1, 0), "pickup_7d": (7, 0), "pickup_30d": (30, 0), "rooms_sold_stly": (364, 364)}
#: Columns the recomputation compares, in the order a failing row lists them.
RECOMPUTED = ["pickup_1d", "pickup_7d", "pickup_30d", "rooms_sold_stly", "pace_vs_stly", "revenue_pickup_1d",
              "occupancy", "adr"]


def baseline_keys(pickup: pl.DataFrame) -> pl.DataFrame:
    """The (hotel_id, snapshot_date) pairs of the historian the pickup rows need."""
    frames = [
        pickup.select("hotel_id", (pl.col("as_of_date") - pl.duration(days=lag)).alias("snapshot_date"))
        for lag, _ in BASELINES.values()
    ]
    return pl.concat(frames).unique().sort("hotel_id", "snapshot_date")


def recompute(pickup: pl.DataFrame, snapshots: pl.DataFrame, capacity: dict[str, int]) -> pl.DataFrame:
    """Every pickup column derived again, independently of the SQL model, from the historian and the live counts.

    ``snapshots``: the historian's rows (hotel_id, snapshot_date, stay_date, rooms_sold, net_revenue) of at least
    the ``baseline_keys``. A baseline that is missing stays null; nothing is summed across stay dates.
    """
    # Typed explicitly: a historian with no baseline rows yet comes back with null-typed columns.
    snap = snapshots.select(
        pl.col("hotel_id").cast(pl.String), pl.col("snapshot_date").cast(pl.Date), pl.col("stay_date").cast(pl.Date),
        pl.col("rooms_sold").cast(pl.Int64).alias("_base_rooms"), pl.col("net_revenue").cast(pl.Float64).alias("_base_rev"),
    )
    out = pickup.select(pl.col("hotel_id").cast(pl.String), "as_of_date", "stay_date", pl.col("rooms_sold").cast(pl.Int64),
                        pl.col("net_revenue").cast(pl.Float64))
    for column, (lag, shift) in BASELINES.items():
        keyed = out.with_columns(
            (pl.col("as_of_date") - pl.duration(days=lag)).alias("snapshot_date"),
            (pl.col("stay_date") - pl.duration(days=shift)).alias("_stay"),
        )
        joined = keyed.join(snap.rename({"stay_date": "_stay"}), on=["hotel_id", "snapshot_date", "_stay"], how="left")
        value = pl.col("_base_rooms") if column == "rooms_sold_stly" else pl.col("rooms_sold") - pl.col("_base_rooms")
        extra = [value.alias(column)]
        if column == "pickup_1d":
            extra.append((pl.col("net_revenue") - pl.col("_base_rev")).round(2).alias("revenue_pickup_1d"))
        out = joined.with_columns(extra).drop("snapshot_date", "_stay", "_base_rooms", "_base_rev")
    cap = pl.col("hotel_id").replace_strict(capacity, default=None, return_dtype=pl.Float64)
    return out.with_columns(
        (pl.col("rooms_sold") - pl.col("rooms_sold_stly")).alias("pace_vs_stly"),
        (pl.col("rooms_sold") / cap).round(4).alias("occupancy"),
        pl.when(pl.col("rooms_sold") > 0).then((pl.col("net_revenue") / pl.col("rooms_sold")).round(2)).alias("adr"),
    )


#: How far a stored value may be from the recomputed one: half a unit of its rounding, either way (counts: exact).
TOLERANCE = {"revenue_pickup_1d": 0.011, "adr": 0.011, "occupancy": 0.00011}


def recomputation_mismatches(pickup: pl.DataFrame, expected: pl.DataFrame) -> pl.DataFrame:
    """Rows of ``pickup`` whose columns differ from ``expected`` (null vs value counts as a difference).

    Returns the key, ``mismatched`` (comma-separated column names) and, per column, the table's and the
    recomputed value. Money and ratios compare within ``TOLERANCE`` (their rounding), counts exactly.
    """
    key = ["hotel_id", "stay_date"]
    both = pickup.select(*key, *RECOMPUTED).join(expected.select(*key, *RECOMPUTED), on=key, how="left",
                                                   suffix="_expected")
    differs = []
    for c in RECOMPUTED:
        got, want = pl.col(c).cast(pl.Float64), pl.col(f"{c}_expected").cast(pl.Float64)
        diff = pl.when(got.is_null() & want.is_null()).then(False).when(got.is_null() | want.is_null()).then(True)
        diff = diff.otherwise((got - want).abs() > TOLERANCE.get(c, 0.0))
        differs.append(pl.when(diff).then(pl.lit(c)).otherwise(None))
    flagged = both.with_columns(pl.concat_str(differs, separator=", ", ignore_nulls=True).alias("mismatched"))
    return flagged.filter(pl.col("mismatched") != "").sort(key)
