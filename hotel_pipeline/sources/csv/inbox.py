"""The legacy CSV inbox: which exports wait there, which are new or settled since a cursor, which failed ones to retry.

Plain functions over the file system and the import ledger, so the inbox sensor, the bench and the tests plan a run
the same way without Dagster.
"""

import json
import time
from pathlib import Path

from hotel_pipeline.core import settings
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.sources.csv.importer import failed_imports

#: What an export's name ends with, compared without case (``H1_EXPORT.CSV`` and ``.CSV.GZ`` are exports too).
INBOX_SUFFIXES = (".csv", ".csv.gz")


def resolve(name: str) -> Path:
    """An inbox file name as a path (an absolute path stays as it is)."""
    path = Path(name)
    return path if path.is_absolute() else settings.inbox_dir() / path


def is_export(path: Path) -> bool:
    return path.name.lower().endswith(INBOX_SUFFIXES) and path.is_file()


def inbox_files(inbox: Path) -> list[Path]:
    return sorted((p for p in inbox.iterdir() if is_export(p)), key=lambda p: p.name) if inbox.is_dir() else []


def file_fingerprint(path: Path) -> str:
    stat = path.stat()
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def is_stable(path: Path, stable_seconds: float, now: float | None = None) -> bool:
    """Whether a file has not changed for ``stable_seconds``: a writer still copying it would change its mtime.

    Measured on the machine's own clock (the file system's), not the business clock: this is about bytes landing.
    """
    return ((now if now is not None else time.time()) - path.stat().st_mtime) >= stable_seconds


def plan_inbox_run(inbox: Path, cursor: str | None, stable_seconds: float = 0.0,
                   now: float | None = None) -> tuple[list[str], str]:
    """New or changed inbox files since the cursor (name -> size:mtime), and the cursor after them.

    A file still being written (changed within ``stable_seconds``) is left for a later tick, out of the cursor.
    """
    seen: dict[str, str] = json.loads(cursor) if cursor else {}
    new = []
    for path in inbox_files(inbox):
        fp = file_fingerprint(path)
        if seen.get(path.name) != fp and is_stable(path, stable_seconds, now):
            new.append(path.name)
            seen[path.name] = fp
    return new, json.dumps(seen, sort_keys=True)


def plan_retries(warehouse: Warehouse, inbox: Path, max_attempts: int) -> list[tuple[str, str]]:
    """(file name, run key) of every failed import still in the inbox with attempts left, one key per attempt."""
    return [
        (name, f"csv-retry-{digest[:16]}-{attempts}")
        for name, digest, attempts in failed_imports(warehouse, max_attempts)
        if (inbox / name).is_file()
    ]
