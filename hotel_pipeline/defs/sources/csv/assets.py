"""Dagster side of the legacy CSV source: the import asset and the inbox sensor that feeds it."""


import hashlib
import json
from pathlib import Path

import dagster as dg

from hotel_pipeline.core import settings
from hotel_pipeline.core.clock import Clock
from hotel_pipeline.core.portfolio import current_portfolio
from hotel_pipeline.core.warehouse import WAREHOUSE_POOL, Warehouse
from hotel_pipeline.sources.csv.importer import import_file
from hotel_pipeline.sources.csv.parsing import FileRejected

INBOX_PATTERNS = ("*.csv", "*.csv.gz")


class CsvImportConfig(dg.Config):
    """Files to import, in order (names inside the inbox, or absolute paths)."""

    files: list[str]


def resolve(name: str) -> Path:
    path = Path(name)
    return path if path.is_absolute() else settings.inbox_dir() / path


@dg.asset(
    group_name="sources_csv",
    kinds={"python", "polars"},
    pool=WAREHOUSE_POOL,
    description="Legacy PMS CSV exports from data/inbox/, imported once each into reservation_versions "
                "(rejected rows to quarantine, counts reconciled, raw copy kept in data/raw/csv/).",
)
def legacy_csv_import(context: dg.AssetExecutionContext, config: CsvImportConfig, warehouse: Warehouse,
                      clock: Clock) -> dg.MaterializeResult:
    portfolio = current_portfolio()
    reports, rejected = [], []
    for name in config.files:
        path = resolve(name)
        try:
            report = import_file(warehouse, path, portfolio, clock)
        except FileRejected as exc:
            rejected.append(str(exc))
            context.log.error(str(exc))
            continue
        context.log.info(
            f"{path.name}: {report.outcome}; read {report.rows_read} = loaded {report.rows_loaded} + quarantined "
            f"{report.rows_quarantined}; new {report.new}, changed {report.changed}, unchanged {report.unchanged}, "
            f"stale {report.stale}"
        )
        reports.append(report)
    if rejected:
        # The other files of the run are imported (each in its own transaction); the run still fails loudly.
        raise dg.Failure(description="; ".join(rejected), metadata={"files_loaded": len(reports)})
    total = lambda attr: sum(getattr(r, attr) for r in reports)  # noqa: E731
    return dg.MaterializeResult(metadata={
        "files": dg.MetadataValue.json([r.as_metadata() for r in reports]),
        "rows_read": total("rows_read"),
        "rows_loaded": total("rows_loaded"),
        "rows_quarantined": total("rows_quarantined"),
        "reservations_new": total("new"),
        "reservations_changed": total("changed"),
        "duplicates_skipped": sum(r.outcome == "duplicate" for r in reports),
    })


def inbox_files(inbox: Path) -> list[Path]:
    files = {p for pattern in INBOX_PATTERNS for p in inbox.glob(pattern) if p.is_file()}
    return sorted(files, key=lambda p: p.name)


def file_fingerprint(path: Path) -> str:
    stat = path.stat()
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def plan_inbox_run(inbox: Path, cursor: str | None) -> tuple[list[str], str]:
    """New or changed inbox files since the cursor (name -> size:mtime), and the cursor after them."""
    seen: dict[str, str] = json.loads(cursor) if cursor else {}
    new = []
    for path in inbox_files(inbox):
        fp = file_fingerprint(path)
        if seen.get(path.name) != fp:
            new.append(path.name)
            seen[path.name] = fp
    return new, json.dumps(seen, sort_keys=True)


csv_import_job = dg.define_asset_job(
    "csv_import_job",
    selection=dg.AssetSelection.assets("legacy_csv_import", "hotels", "reservations", "reservation_nights",
                                       "daily_metrics"),
    description="Import inbox files, then refresh the unified model and the live layer.",
)


@dg.sensor(job=csv_import_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING)
def csv_inbox_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    """One run per batch of new files, in file-name order; the cursor (kept by Dagster) survives restarts.

    The run key is the digest of the batch, and the importer's content ledger makes a re-delivered file a no-op,
    so neither a sensor replay nor a copied file imports anything twice.
    """
    files, cursor = plan_inbox_run(settings.inbox_dir(), context.cursor)
    if not files:
        return dg.SensorResult(skip_reason="no new files in the inbox", cursor=cursor)
    key = hashlib.sha256(cursor.encode()).hexdigest()[:16]
    return dg.SensorResult(
        run_requests=[dg.RunRequest(
            run_key=f"csv-{key}",
            run_config={"ops": {"legacy_csv_import": {"config": {"files": files}}}},
            tags={"source": "csv"},
        )],
        cursor=cursor,
    )
