"""Every table the pipeline writes is an asset, and every step that writes one records it: declared once here.

A table is an asset in one of three ways:

- its name is the key of the asset that builds it: every SQL model (``dbt_like_sql/``), and a Python asset named after
  the one table it writes (``hotels``, ``slot_events``, ``channel_outbox``, ...);
- a table one asset alone writes beside its own (``OWNED_TABLES``: ``snapshot_log`` beside the historian,
  ``dining_poll_state`` beside ``slot_events``) is one more ``AssetSpec`` of that asset, a ``multi_asset``: the step
  yields a ``MaterializeResult`` with the row count for each of its tables. The multi-asset can be subset (a test or
  a bench may run the writer alone), so every job that runs a writer selects its tables too (``with_owned``);
- a table several steps write (``SHARED_TABLES``: ``reservation_versions``, ``quarantine`` and ``integration_status``
  take rows from the CSV import, every PMS extract and the webhooks) belongs to no one step, so it is an ``AssetSpec``
  of its own, downstream of the assets that write it, and each writing step logs an ``AssetMaterialization`` of it
  (``record_shared``) with the row count once it has written. Tables only a command writes (the privacy commands)
  are listed too, with no step: the command runs outside Dagster, so the UI shows them as never materialised.

Dagster orders a job's steps by direct dependencies only, never through an asset the job does not run: a model that
reads a shared table therefore also names its writers (``depends_on`` in its header), and a test holds every model to
it. The webhooks write the unified tables too, but they run after ``daily_metrics`` and patch the board they depend on:
drawn as a writer of ``reservation_versions`` they would close a cycle, and an asset graph has none. They record the
tables all the same (``RECORDED_BY`` lists every step that does), without the edge.

The columns and docs come from the table's ``TableSpec``, the one declaration of its shape, reached through the module
that declares it (so the data dictionary credits that module, not this one).
"""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg

from hotel_pipeline import unified
from hotel_pipeline.channel import tables as channel_tables
from hotel_pipeline.core.sql_models import column_schema
from hotel_pipeline.core.warehouse import TableSpec, Warehouse
from hotel_pipeline.dining import store as dining_store
from hotel_pipeline.occupancy import night_meals
from hotel_pipeline.pacing import append_only, recorder
from hotel_pipeline.privacy import access_log, erasure, retention, vault
from hotel_pipeline.sources.csv import importer, row_digests
from hotel_pipeline.sources.pms import tables as pms_tables
from hotel_pipeline.webhooks import inbox as webhook_inbox

#: Writer asset -> the tables it alone writes beside its own (one more AssetSpec each of its multi_asset).
OWNED_TABLES: dict[str, tuple[TableSpec, ...]] = {
    "legacy_csv_import": (importer.IMPORT_LEDGER, row_digests.CSV_ROW_DIGESTS),
    "pacing_snapshots": (recorder.SNAPSHOT_LOG, append_only.SNAPSHOT_DIGESTS),
    "slot_events": (dining_store.POLL_STATE, dining_store.SLOT_STATE, dining_store.POLL_LOG),
    "night_meals": (night_meals.NIGHT_MEALS_FILES,),
    "webhook_events": (webhook_inbox.WEBHOOK_SPOOL_CURSOR,),
}


_SOURCES = ("legacy_csv_import", "pms_extract")
_WEBHOOKS = ("webhook_events",)
_CHANNEL_OPS = ("drain_channel_outbox", "reconcile_channel")

#: (table, asset group, the assets that write it (drawn as its upstreams), the other Dagster steps that write and
#: record it without an edge (the webhooks, job ops), who writes it outside Dagster) for every shared table.
SHARED_TABLES: tuple[tuple[TableSpec, str, tuple[str, ...], tuple[str, ...], str], ...] = (
    (unified.RESERVATION_VERSIONS, "unified", _SOURCES, _WEBHOOKS, ""),
    (unified.QUARANTINE, "unified", (*_SOURCES, "alert_events"), _WEBHOOKS, ""),
    (unified.INTEGRATION_STATUS, "unified", _SOURCES, _WEBHOOKS, ""),
    (pms_tables.ROOMS, "unified", ("pms_extract",), _WEBHOOKS, ""),
    (pms_tables.GUESTS, "unified", ("pms_extract",), _WEBHOOKS, ""),
    (vault.GUEST_KEYS, "privacy", ("pms_extract", "restaurant_booking_records"), _WEBHOOKS, "the erasure command"),
    (vault.GUEST_VAULT, "privacy", ("pms_extract", "restaurant_booking_records"), _WEBHOOKS, "the erasure command"),
    (webhook_inbox.WEBHOOK_INBOX, "webhooks", ("webhook_events",), (), "the webhook receiver"),
    (channel_tables.CHANNEL_CALENDAR_STATE, "channel", ("channel_outbox",), _CHANNEL_OPS, ""),
    (channel_tables.CHANNEL_BOOKINGS, "channel", ("channel_outbox",), _CHANNEL_OPS, ""),
    (channel_tables.CHANNEL_DRIFT, "channel", (), ("reconcile_channel",), ""),
    (retention.RETENTION_LOG, "privacy", (), ("purge_expired_detail",), "the retention command"),
    (access_log.PII_ACCESS_LOG, "privacy", (), (), "the residents list command"),
    (erasure.ERASURE_LOG, "privacy", (), (), "the erasure command"),
)
#: Shared table -> every Dagster step (asset or op) that writes it and records it.
RECORDED_BY: dict[str, tuple[str, ...]] = {t.name: (*w, *r) for t, _, w, r, _ in SHARED_TABLES}
#: Every table written outside an asset of its own name: owned by its one writer, or shared.
DECLARED_TABLES: tuple[str, ...] = (*(t.name for tables in OWNED_TABLES.values() for t in tables), *RECORDED_BY)
#: Tables only a command writes, outside Dagster: the instance can hold no event of them.
OUTSIDE_DAGSTER: tuple[str, ...] = tuple(name for name, steps in RECORDED_BY.items() if not steps)


def _metadata(table: TableSpec) -> dict[str, dg.TableSchema]:
    return {"dagster/column_schema": column_schema(table)}


def owned_specs(writer: str, group: str) -> list[dg.AssetSpec]:
    """The AssetSpecs of the tables ``writer`` alone writes, for its multi_asset (each downstream of its own)."""
    return [dg.AssetSpec(t.name, group_name=group, deps=[writer], kinds={"table"}, metadata=_metadata(t),
                         description=f"{t.doc} Written by {writer}, with it.") for t in OWNED_TABLES[writer]]


def with_owned(*keys: str) -> dg.AssetSelection:
    """``keys`` and the tables their writers alone write: what a job running those writers selects."""
    return dg.AssetSelection.assets(*keys, *(t.name for k in keys for t in OWNED_TABLES.get(k, ())))


def owned_results(context: dg.AssetExecutionContext, warehouse: Warehouse,
                  writer: str) -> Iterator[dg.MaterializeResult]:
    """One MaterializeResult (row count) per table ``writer`` alone writes that the run selected."""
    names = [t.name for t in OWNED_TABLES.get(writer, ()) if dg.AssetKey(t.name) in context.selected_asset_keys]
    for name, rows in warehouse.row_counts(names).items():
        yield dg.MaterializeResult(asset_key=name, metadata={"dagster/row_count": rows})


def record_shared(context: dg.OpExecutionContext | dg.AssetExecutionContext, warehouse: Warehouse,
                  step: str) -> list[dg.AssetMaterialization]:
    """Log a materialisation (row count, written by ``step``) of every shared table ``step`` writes."""
    names = [name for name, steps in RECORDED_BY.items() if step in steps]
    events = [dg.AssetMaterialization(asset_key=n, metadata={"dagster/row_count": rows, "written_by": step})
              for n, rows in warehouse.row_counts(names).items()]
    for event in events:
        context.log_event(event)
    return events


def written(context: dg.AssetExecutionContext, warehouse: Warehouse,
            result: dg.MaterializeResult) -> Iterator[dg.MaterializeResult]:
    """What a writer asset yields: its own ``result`` (if selected), one per table it alone writes, and a logged
    materialisation of each shared table it writes."""
    key = dg.AssetKey.from_coercible(result.asset_key)
    if key in context.selected_asset_keys:
        yield result
    yield from owned_results(context, warehouse, key.to_user_string())
    record_shared(context, warehouse, key.to_user_string())


def table_assets() -> list[dg.AssetSpec]:
    """One asset per shared table: downstream of the assets that write it, never run by itself."""
    specs = []
    for table, group, writers, recorded_by, outside in SHARED_TABLES:
        by = ", ".join([*writers, *recorded_by, *([outside] if outside else [])])
        specs.append(dg.AssetSpec(
            table.name, group_name=group, deps=list(writers), kinds={"table"},
            description=f"{table.doc} Written by {by}.",
            metadata={**_metadata(table), "written_by": dg.MetadataValue.json([*writers, *recorded_by])}))
    return specs
