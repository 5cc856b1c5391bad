"""Data contracts of the warehouse tables as pandera models, plus the soft-anomaly rules.

One module per table holds its ``DataFrameModel`` (hard rules: a failure blocks downstream assets); ``anomalies``
holds the soft rules (outlier ADR, zero-guest bookings, occupancy above capacity) that warn but never drop a row.
"""

from hotel_pipeline.core.schemas.anomalies import (
    ADR_CEILING,
    ADR_FLOOR,
    adr_outliers,
    over_capacity,
    zero_guest_bookings,
)
from hotel_pipeline.core.schemas.daily_metrics import DailyMetrics
from hotel_pipeline.core.schemas.pacing_snapshots import PacingSnapshots
from hotel_pipeline.core.schemas.pickup import Pickup
from hotel_pipeline.core.schemas.reservations import Reservations
from hotel_pipeline.core.schemas.validation import (
    HORIZON_DAYS,
    Violations,
    horizon_gaps,
    json_rows,
    markdown_table,
    validate_frame,
)

__all__ = [
    "ADR_CEILING", "ADR_FLOOR", "HORIZON_DAYS", "DailyMetrics", "PacingSnapshots", "Pickup", "Reservations",
    "Violations",
    "adr_outliers", "horizon_gaps", "json_rows", "markdown_table", "over_capacity", "validate_frame",
    "zero_guest_bookings",
]
