"""Every table the pipeline writes is an asset: the tables Python steps write, declared once here.

A table is an asset in one of two ways, and never in both:

- its name is the key of the asset that builds it: every SQL model (``dbt_like_sql/``), and a Python asset named after
  the one table it writes (``hotels``, ``slot_events``, ``channel_outbox``, ...);
- any other table a step writes is listed in ``WRITTEN_TABLES``: side tables of one step (``snapshot_log`` beside the
  historian, ``dining_poll_state`` beside ``slot_events``) and tables several steps append to (``reservation_versions``,
  ``quarantine`` and ``integration_status`` take rows from the CSV import, every PMS extract and the webhooks). Such a
  table has no run of its own: it is an asset downstream of every asset that writes it, so the lineage graph goes from
  the writers through the table to the models that read it with ``{{ source('name') }}``. Tables that only a job op or
  a command writes (the channel read-back, the privacy commands) are listed without writers.

Dagster orders a job's steps by direct dependencies only, never through an asset the job does not run: a model that
reads such a table therefore also names its writers (``depends_on`` in its header), and a test holds every model to it.

The columns and docs come from the table's ``TableSpec``, the one declaration of its shape, reached through the module
that declares it (so the data dictionary credits that module, not this one).
"""

from __future__ import annotations

import dagster as dg

from hotel_pipeline import unified
from hotel_pipeline.channel import tables as channel_tables
from hotel_pipeline.core.sql_models import column_schema
from hotel_pipeline.core.warehouse import TableSpec
from hotel_pipeline.dining import store as dining_store
from hotel_pipeline.occupancy import night_meals
from hotel_pipeline.pacing import append_only, recorder
from hotel_pipeline.privacy import access_log, erasure, retention, vault
from hotel_pipeline.sources.csv import importer, row_digests
from hotel_pipeline.sources.pms import tables as pms_tables
from hotel_pipeline.webhooks import inbox as webhook_inbox

_SOURCES = ("legacy_csv_import", "pms_extract")
#: The webhooks write the unified tables too, but they run after ``daily_metrics`` and patch the board they depend on:
#: drawn as a writer of ``reservation_versions`` they would close a cycle, and an asset graph has none. Named instead.
_WEBHOOKS = "webhook_events (applying deliveries)"

#: (table, asset group, the assets that write it, who else writes it) for every table written outside its own asset.
WRITTEN_TABLES: tuple[tuple[TableSpec, str, tuple[str, ...], str], ...] = (
    (unified.RESERVATION_VERSIONS, "unified", _SOURCES, _WEBHOOKS),
    (unified.QUARANTINE, "unified", (*_SOURCES, "alert_events"), _WEBHOOKS),
    (unified.INTEGRATION_STATUS, "unified", _SOURCES, _WEBHOOKS),
    (pms_tables.ROOMS, "unified", ("pms_extract",), _WEBHOOKS),
    (pms_tables.GUESTS, "unified", ("pms_extract",), _WEBHOOKS),
    (vault.GUEST_KEYS, "privacy", ("pms_extract", "restaurant_booking_records"), f"{_WEBHOOKS} and the erasure command"),
    (vault.GUEST_VAULT, "privacy", ("pms_extract", "restaurant_booking_records"), f"{_WEBHOOKS} and the erasure command"),
    (importer.IMPORT_LEDGER, "sources_csv", ("legacy_csv_import",), ""),
    (row_digests.CSV_ROW_DIGESTS, "sources_csv", ("legacy_csv_import",), ""),
    (recorder.SNAPSHOT_LOG, "pacing", ("pacing_snapshots",), ""),
    (append_only.SNAPSHOT_DIGESTS, "pacing", ("pacing_snapshots",), ""),
    (dining_store.POLL_STATE, "dining", ("slot_events",), ""),
    (dining_store.SLOT_STATE, "dining", ("slot_events",), ""),
    (dining_store.POLL_LOG, "dining", ("slot_events",), ""),
    (night_meals.NIGHT_MEALS_FILES, "occupancy", ("night_meals",), ""),
    (webhook_inbox.WEBHOOK_INBOX, "webhooks", ("webhook_events",), "the webhook receiver"),
    (webhook_inbox.WEBHOOK_SPOOL_CURSOR, "webhooks", ("webhook_events",), ""),
    (channel_tables.CHANNEL_CALENDAR_STATE, "channel", ("channel_outbox",), "channel_drain_job and channel_reconcile_job"),
    (channel_tables.CHANNEL_BOOKINGS, "channel", ("channel_outbox",), "channel_drain_job and channel_reconcile_job"),
    (channel_tables.CHANNEL_DRIFT, "channel", (), "channel_reconcile_job"),
    (access_log.PII_ACCESS_LOG, "privacy", (), "the residents list command"),
    (erasure.ERASURE_LOG, "privacy", (), "the erasure command"),
    (retention.RETENTION_LOG, "privacy", (), "the retention command"),
)


def table_asset(table: TableSpec, group: str, writers: tuple[str, ...], others: str) -> dg.AssetSpec:
    """The asset of a table written outside an asset of its own: downstream of its writers, never run by itself."""
    by = ", ".join([*writers, *([others] if others else [])])
    return dg.AssetSpec(
        table.name, group_name=group, deps=list(writers), kinds={"table"},
        description=f"{table.doc} Written by {by}.",
        metadata={"dagster/column_schema": column_schema(table), "written_by": dg.MetadataValue.json(list(writers))},
    )


def table_assets() -> list[dg.AssetSpec]:
    """One asset per table of ``WRITTEN_TABLES``."""
    return [table_asset(*entry) for entry in WRITTEN_TABLES]
