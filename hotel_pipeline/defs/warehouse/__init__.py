"""Dagster objects of the warehouse itself (the analysts' copy)."""
