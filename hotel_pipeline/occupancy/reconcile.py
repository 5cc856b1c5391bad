"""The two promises of ``room_nights``, as queries that return the rows breaking them (empty = kept).

- Dense and exact: for every hotel and night of the live board, the room nights from the business date on count
  exactly ``daily_metrics.rooms_sold`` (the same nights on the books, expanded to rooms).
- No double booking: a room holds at most one booking per night, and every (hotel, night, room or unassigned
  sequence) key is unique. Rooms two bookings claim are resolved into ``room_conflicts``, never into two rows.
"""

from __future__ import annotations

import polars as pl

from hotel_pipeline.core.warehouse import Warehouse

BOARD_MISMATCHES = """
    WITH counted AS (
        SELECT n.hotel_id, n.stay_date, COUNT(*) AS room_nights
        FROM room_nights n JOIN hotels h ON h.hotel_id = n.hotel_id
        WHERE n.stay_date >= h.business_date
        GROUP BY n.hotel_id, n.stay_date
    )
    SELECT COALESCE(d.hotel_id, c.hotel_id) AS hotel_id, COALESCE(d.stay_date, c.stay_date) AS stay_date,
           d.rooms_sold, COALESCE(c.room_nights, 0) AS room_nights
    FROM daily_metrics d
    FULL OUTER JOIN counted c ON c.hotel_id = d.hotel_id AND c.stay_date = d.stay_date
    WHERE d.rooms_sold IS NULL OR d.rooms_sold <> COALESCE(c.room_nights, 0)
    ORDER BY 1, 2
"""

DOUBLE_BOOKINGS = """
    SELECT hotel_id, stay_date, room_number, unassigned_seq, COUNT(*) AS bookings,
           MIN(external_id) AS first_booking, MAX(external_id) AS last_booking
    FROM room_nights
    GROUP BY hotel_id, stay_date, room_number, unassigned_seq
    HAVING COUNT(*) > 1 OR (room_number IS NULL AND unassigned_seq IS NULL)
    ORDER BY 1, 2, 3
"""


def board_mismatches(warehouse: Warehouse) -> pl.DataFrame:
    """(hotel, night) where room nights and daily_metrics.rooms_sold disagree."""
    return warehouse.query(BOARD_MISMATCHES)


def double_bookings(warehouse: Warehouse) -> pl.DataFrame:
    """Rooms (or unassigned sequences) holding more than one booking on a night, or rows with neither."""
    return warehouse.query(DOUBLE_BOOKINGS)
