"""Dagster side of the legacy CSV source: the import asset and the inbox sensor that feeds it."""


import hashlib
from collections.abc import Iterator

import dagster as dg

from hotel_pipeline.core import settings
from hotel_pipeline.core.clock import Clock
from hotel_pipeline.core.portfolio_resource import PortfolioResource
from hotel_pipeline.core.warehouse import WAREHOUSE_POOL, Warehouse
from hotel_pipeline.defs.tables import owned_specs, with_owned, written
from hotel_pipeline.sources.csv.importer import ImportFailed, import_file
from hotel_pipeline.sources.csv.inbox import plan_inbox_run, plan_retries, resolve
from hotel_pipeline.sources.csv.parsing import FileRejected

FILES_CHECK = "csv_files_accounted"


class CsvImportConfig(dg.Config):
    """Files to import, in order (names inside the inbox, or absolute paths)."""

    files: list[str]


@dg.multi_asset(
    name="legacy_csv_import",
    specs=[dg.AssetSpec(
        "legacy_csv_import", group_name="sources_csv", kinds={"python", "polars"},
        description="Legacy PMS CSV exports from data/inbox/, imported once each into reservation_versions "
                    "(rejected rows to quarantine, counts reconciled, raw copy kept in data/raw/csv/)."),
        *owned_specs("legacy_csv_import", "sources_csv")],
    pool=WAREHOUSE_POOL,
    can_subset=True,
    check_specs=[dg.AssetCheckSpec(
        FILES_CHECK, asset="legacy_csv_import", blocking=False,
        description="Every file of the run ended loaded; a rejected or failed file is named here (the other files "
                    "and hotels go on: their data still reaches the live layer).",
    )],
)
def legacy_csv_import(context: dg.AssetExecutionContext, config: CsvImportConfig, warehouse: Warehouse,
                      clock: Clock, portfolio: PortfolioResource) -> Iterator[dg.MaterializeResult]:
    hotels = portfolio.get()
    reports, problems = [], []
    for name in config.files:
        path = resolve(name)
        try:
            report = import_file(warehouse, path, hotels, clock)
        except (FileRejected, ImportFailed) as exc:
            problems.append(str(exc))
            context.log.error(str(exc))
            continue
        except OSError as exc:  # vanished or unreadable before anything was recorded: the sensor sees it again
            problems.append(f"{path.name}: could not be read ({exc.strerror or exc})")
            context.log.error(problems[-1])
            continue
        context.log.info(
            f"{path.name}: {report.outcome}; read {report.rows_read} = loaded {report.rows_loaded} + quarantined "
            f"{report.rows_quarantined}; new {report.new}, changed {report.changed}, unchanged {report.unchanged}, "
            f"stale {report.stale}"
        )
        reports.append(report)
    total = lambda attr: sum(getattr(r, attr) for r in reports)  # noqa: E731
    # One bad file never stops the others nor the hotels' live layer: the run goes on, the check names the file.
    check = dg.AssetCheckResult(
        check_name=FILES_CHECK, passed=not problems, severity=dg.AssetCheckSeverity.ERROR,
        description="every file loaded" if not problems else "; ".join(problems)[:2000],
        metadata={"files": len(config.files), "files_not_loaded": len(problems),
                  "problems": dg.MetadataValue.json(problems)},
    )
    yield from written(context, warehouse, dg.MaterializeResult(asset_key="legacy_csv_import", check_results=[check], metadata={
        "files": dg.MetadataValue.json([r.as_metadata() for r in reports]),
        "rows_read": total("rows_read"),
        "rows_loaded": total("rows_loaded"),
        "rows_quarantined": total("rows_quarantined"),
        "reservations_new": total("new"),
        "reservations_changed": total("changed"),
        "duplicates_skipped": sum(r.outcome == "duplicate" for r in reports),
        "files_not_loaded": len(problems),
    }))


csv_import_job = dg.define_asset_job(
    "csv_import_job",
    selection=with_owned("legacy_csv_import", "hotels", "reservations", "reservation_nights", "daily_metrics"),
    description="Import inbox files, then refresh the unified model and the live layer.",
)


@dg.sensor(job=csv_import_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING)
def csv_inbox_sensor(context: dg.SensorEvaluationContext, warehouse: Warehouse,
                     portfolio: PortfolioResource) -> dg.SensorResult:
    """One run per batch of new, settled files in file-name order, plus one per failed import to retry.

    The cursor (kept by Dagster) survives restarts; the run key is the digest of the batch, and the importer's
    content ledger makes a re-delivered file a no-op, so neither a sensor replay nor a copied file imports anything
    twice. A file whose import failed (an error, not a rejection) is retried on the next ticks, with a run key per
    attempt, until ``import_limits.max_attempts``: the cursor having moved past it never loses it.
    """
    limits = portfolio.get().import_limits
    inbox = settings.inbox_dir()
    files, cursor = plan_inbox_run(inbox, context.cursor, limits.file_stable_seconds)
    requests = []
    if files:
        key = hashlib.sha256(cursor.encode()).hexdigest()[:16]
        requests.append(dg.RunRequest(
            run_key=f"csv-{key}", run_config={"ops": {"legacy_csv_import": {"config": {"files": files}}}},
            tags={"source": "csv"},
        ))
    for name, key in plan_retries(warehouse, inbox, limits.max_attempts):
        requests.append(dg.RunRequest(
            run_key=key, run_config={"ops": {"legacy_csv_import": {"config": {"files": [name]}}}},
            tags={"source": "csv", "retry": "true"},
        ))
    if not requests:
        return dg.SensorResult(skip_reason="no new files in the inbox", cursor=cursor)
    return dg.SensorResult(run_requests=requests, cursor=cursor)
