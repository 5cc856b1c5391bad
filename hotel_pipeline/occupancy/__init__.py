"""Occupancy: who sleeps in which room each night, with the night's board, for the hotel's restaurant.

``night_meals`` reads the per-night board some vendors give (Mews order items per night and product, Newbook
inventory items with a stay date) from the raw zone; ``residents`` produces the residents list (names only where the
hotel's policy allows, every production logged); ``restaurant`` lands restaurant bookings (CSV inbox, a
Resos-shaped API) for matching with room nights. The tables themselves are SQL models (dbt_like_sql/room_nights.sql,
room_conflicts.sql, residents_daily.sql, restaurant_bookings.sql, dinner_gaps.sql).
"""
