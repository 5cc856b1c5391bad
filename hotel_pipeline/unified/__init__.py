"""The unified model's write path: every source (legacy CSV, each PMS API) lands reservations through here.

Sources never write ``reservations`` directly. They append to ``reservation_versions``, a change log keyed by
(source, hotel_id, external_id, version): a record is *accepted* as a new version only when it is new or differs from
the current version and is not older than it (``source_as_of``), so re-delivering the same data changes nothing and a
stale re-delivery never rolls a reservation back. The ``reservations`` SQL model is the newest version per key.
Callers run ``accept_reservations`` inside the same transaction as their cursor / ledger update.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl

from hotel_pipeline.core import reservation_table
from hotel_pipeline.core.warehouse import Tx, spec

KEY = reservation_table.KEY

#: The reservation fields every source normalises to, in table order (declared in ``core.reservation_table``).
RESERVATION_FIELDS: list[tuple[str, str, str]] = [(c.name, c.type, c.doc) for c in reservation_table.FIELDS]
FIELD_NAMES = [n for n, _, _ in RESERVATION_FIELDS]

RESERVATION_VERSIONS = spec(
    "reservation_versions",
    [
        *((c.name, c.type, c.doc) for c in reservation_table.KEY_COLUMNS),
        ("version", "INTEGER", "1 for the first accepted record, +1 per accepted change"),
        *RESERVATION_FIELDS,
        ("source_as_of", "TIMESTAMP", "when the source's record was true (export business date end, or modified time)"),
        ("synced_at", "TIMESTAMP", "when the pipeline accepted this version (clock, UTC)"),
        ("batch_id", "VARCHAR", "the import file digest or extract id that delivered it"),
    ],
    primary_key=("source", "hotel_id", "external_id", "version"),
    doc="Change log of the unified model: one row per accepted version of a reservation.",
    grain="(source, hotel_id, external_id, version)",
)

QUARANTINE = spec(
    "quarantine",
    [
        ("source", "VARCHAR", "where the input came from"),
        ("hotel_id", "VARCHAR", "hotel if known"),
        ("received_at", "TIMESTAMP", "when it was rejected (clock, UTC)"),
        ("location", "VARCHAR", "file and line, or request"),
        ("reason", "VARCHAR", "why it was rejected"),
        ("payload", "VARCHAR", "the raw row or record (no PII beyond what the source row holds; names stay in raw/)"),
        ("batch_id", "VARCHAR", "file digest or extract id; a re-run of a batch replaces its rows"),
    ],
    doc="Rejected input rows with a reason: nothing is dropped silently.",
    grain="one row per rejected input row or record",
)

INTEGRATION_STATUS = spec(
    "integration_status",
    [
        ("hotel_id", "VARCHAR", "portfolio hotel id"),
        ("source", "VARCHAR", "csv or PMS name"),
        ("last_attempt_at", "TIMESTAMP", "start of the latest sync attempt"),
        ("last_success_at", "TIMESTAMP", "end of the latest successful sync"),
        ("last_status", "VARCHAR", "ok, partial (records quarantined; the rest committed) or failed"),
        ("covered_through", "DATE", "hotel business date the synced data is complete through"),
        ("cursor", "VARCHAR", "incremental cursor committed with the data it covers"),
        ("records_fetched", "BIGINT", "records read in the latest attempt"),
        ("pages", "INTEGER", "pages or files read in the latest attempt"),
        ("retries", "INTEGER", "retried requests in the latest attempt"),
        ("throttle_waits", "INTEGER", "times the latest attempt waited for a rate limit"),
        ("errors", "INTEGER", "errors in the latest attempt"),
        ("last_error", "VARCHAR", "the latest error: why the attempt failed, the retried errors it recovered from, "
                                  "or its quarantined records (never a secret); kept by later clean syncs"),
        ("last_error_at", "TIMESTAMP", "when the latest error happened: the attempt's start (clock, UTC)"),
        ("lag_seconds", "DOUBLE", "now minus the newest record's source time at the latest success"),
        ("quarantined", "INTEGER", "records of the latest successful sync sent to quarantine"),
        ("skipped", "INTEGER", "records of the latest successful sync that are not bookings (waitlists, quotes...)"),
    ],
    primary_key=("hotel_id", "source"),
    doc="Per hotel and source: the health of the latest sync; the 03:00 recorder trusts a hotel only if it is fresh.",
    grain="(hotel_id, source)",
)


@dataclass(frozen=True)
class Accepted:
    """What ``accept_reservations`` did with a batch."""

    received: int
    new: int
    changed: int
    unchanged: int
    stale: int

    @property
    def accepted(self) -> int:
        return self.new + self.changed


def conform_reservations(frame: pl.DataFrame) -> pl.DataFrame:
    """Key + fields in table order and types; one record per key (the last one wins within a batch)."""
    cols = ["hotel_id", "source", "external_id", *FIELD_NAMES]
    schema = RESERVATION_VERSIONS.polars_schema()
    out = frame.select(
        [pl.col(c).cast(schema[c]) if c in frame.columns else pl.lit(None, dtype=schema[c]).alias(c) for c in cols]
    )
    return out.unique(subset=list(KEY), keep="last", maintain_order=True)


def hotel_bounds(frame: pl.DataFrame) -> dict[str, str]:
    """``:hotel_first`` and ``:hotel_last``, the range of ``frame``'s hotel ids: the redundant bound with which a
    lookup of a batch's versions reads only its own hotels, so a batch costs the same at 1 or 1,000 hotels."""
    first, last = frame.select(pl.col("hotel_id").min().alias("first"), pl.col("hotel_id").max().alias("last")).row(0)
    return {"hotel_first": first, "hotel_last": last}


def accept_reservations(
    tx: Tx, frame: pl.DataFrame, *, source_as_of: datetime, synced_at: datetime, batch_id: str
) -> Accepted:
    """Append the new and changed records of ``frame`` to ``reservation_versions`` within ``tx``.

    ``frame`` holds hotel_id, source, external_id and the RESERVATION_FIELDS (missing ones are null).
    A record equal to the current version is unchanged; one whose ``source_as_of`` is older than the current
    version's is stale and ignored (an old export re-delivered after a newer one).
    """
    tx.ensure_table(RESERVATION_VERSIONS)
    incoming = conform_reservations(frame)
    if incoming.height == 0:
        return Accepted(0, 0, 0, 0, 0)
    if _first_load(tx, incoming):
        # Nothing of these hotels from this source yet: every record is new (version 1); no comparison needed.
        tx.insert_frame("reservation_versions", RESERVATION_VERSIONS.conform(incoming.with_columns(
            pl.lit(1).alias("version"), pl.lit(source_as_of).alias("source_as_of"),
            pl.lit(synced_at).alias("synced_at"), pl.lit(batch_id).alias("batch_id"),
        )))
        return Accepted(received=incoming.height, new=incoming.height, changed=0, unchanged=0, stale=0)
    tx.temp_table("_incoming_reservations", incoming)
    differs = " OR ".join(f"i.{f} IS DISTINCT FROM c.{f}" for f in FIELD_NAMES)
    classify = f"""
        WITH mine AS (
            -- the batch's hotels only (a redundant bound that lets either engine skip every other hotel's versions:
            -- DuckDB by zone maps, Postgres by the key's index), so a batch costs the same at 1 or 1,000 hotels
            SELECT * FROM reservation_versions WHERE hotel_id BETWEEN :hotel_first AND :hotel_last
        ),
        latest AS (
            -- the current version of the incoming keys only: no newer version exists (primary-key lookups)
            SELECT v.* FROM mine v
            JOIN _incoming_reservations k
              ON k.source = v.source AND k.hotel_id = v.hotel_id AND k.external_id = v.external_id
            WHERE NOT EXISTS (SELECT 1 FROM mine w WHERE w.source = v.source
                              AND w.hotel_id = v.hotel_id AND w.external_id = v.external_id AND w.version > v.version)
        )
        SELECT i.*,
               COALESCE(c.version, 0) + 1 AS version,
               CASE WHEN c.version IS NULL THEN 'new'
                    WHEN c.source_as_of > CAST(:source_as_of AS TIMESTAMP) THEN 'stale'
                    WHEN {differs} THEN 'changed'
                    ELSE 'unchanged' END AS outcome
        FROM _incoming_reservations i
        LEFT JOIN latest c
          ON c.source = i.source AND c.hotel_id = i.hotel_id AND c.external_id = i.external_id
    """  # noqa: S608 - column names are constants of this module
    classified = tx.query(classify, {"source_as_of": source_as_of, **hotel_bounds(incoming)})
    counts = dict(classified.group_by("outcome").len().iter_rows())
    accepted = classified.filter(pl.col("outcome").is_in(["new", "changed"])).drop("outcome").with_columns(
        pl.lit(source_as_of).alias("source_as_of"),
        pl.lit(synced_at).alias("synced_at"),
        pl.lit(batch_id).alias("batch_id"),
    )
    if accepted.height:
        tx.insert_frame("reservation_versions", RESERVATION_VERSIONS.conform(accepted))
    return Accepted(
        received=incoming.height,
        new=counts.get("new", 0),
        changed=counts.get("changed", 0),
        unchanged=counts.get("unchanged", 0),
        stale=counts.get("stale", 0),
    )


def _first_load(tx: Tx, incoming: pl.DataFrame) -> bool:
    """True when no version exists yet for any (source, hotel) of the batch."""
    for source, hotel_id in incoming.select("source", "hotel_id").unique().iter_rows():
        seen = tx.query("SELECT 1 AS x FROM reservation_versions WHERE source = :s AND hotel_id = :h LIMIT 1",
                        {"s": source, "h": hotel_id})
        if seen.height:
            return False
    return True


def quarantine_rows(tx: Tx, rows: pl.DataFrame, *, batch_id: str) -> int:
    """Replace the quarantine rows of ``batch_id`` with ``rows`` (so a re-run of a batch is idempotent)."""
    tx.ensure_table(QUARANTINE)
    tx.execute("DELETE FROM quarantine WHERE batch_id = :b", {"b": batch_id})
    if rows.height == 0:
        return 0
    return tx.insert_frame("quarantine", QUARANTINE.conform(rows.with_columns(pl.lit(batch_id).alias("batch_id"))))


def record_sync(tx: Tx, status: dict) -> None:
    """Upsert the ``integration_status`` row of (hotel_id, source); ``status`` holds any of its columns."""
    tx.ensure_table(INTEGRATION_STATUS)  # a table from an older release takes the columns added since
    key = {"h": status["hotel_id"], "s": status["source"]}
    current = tx.query("SELECT * FROM integration_status WHERE hotel_id = :h AND source = :s", key)
    row = current.to_dicts()[0] if current.height else {}
    row.update(status)
    tx.execute("DELETE FROM integration_status WHERE hotel_id = :h AND source = :s", key)
    tx.insert_frame("integration_status", INTEGRATION_STATUS.conform(pl.DataFrame([row], infer_schema_length=None)))
