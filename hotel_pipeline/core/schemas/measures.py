"""The room-night measures the live board and the historian share (the historian photographs the board)."""

from __future__ import annotations

#: Per hotel and stay date: counts and revenue always present (gross may be unknown, so it may be null).
NOT_NULL = ("hotel_id", "stay_date", "rooms_sold", "capacity_count", "net_revenue")
#: Counts never negative, a capacity to divide by.
RULES = {"rooms_sold": {"ge": 0}, "capacity_count": {"gt": 0}}
