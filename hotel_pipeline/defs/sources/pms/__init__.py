"""PMS extracts as Dagster assets: per-hotel partitions, incremental and reconciliation schedules, freshness."""
