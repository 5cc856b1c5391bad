"""Exports for BI tools: the marts as hive-partitioned Parquet under ``$HOTEL_PIPELINE_DATA_DIR/exports/``."""
