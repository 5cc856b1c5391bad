"""The receiver's durable inbox on disk: one file per accepted delivery in the raw zone, plus a pending link.

Why files and not a warehouse row written by the receiver: the receiver must answer within the vendor's deadline
whatever the warehouse is doing, and DuckDB admits one writing process (the Dagster run holds it). So the receiver
only writes files, durably, and the webhook sensor's run moves them into ``webhook_inbox``:

- ``accept`` writes the record to a temporary file, fsyncs it, then *hard-links* it to
  ``<root>/<vendor>/<hotel>/<key>.json``: a link to an existing name fails, so two concurrent deliveries with one
  idempotency key store one file (the duplicate is answered 200 and stores nothing). It then links the same file
  into ``<root>/pending/`` and fsyncs both folders: "acknowledged" means the record and its pending entry are on disk.
- ``quarantine`` keeps malformed bodies with the reason under ``<root>/quarantine/`` (fsynced as well).
- ``rejected`` counts deliveries with a wrong credential per (vendor, hotel) in ``<root>/rejected.json``; nothing
  of such a delivery is kept.
The run that moves pending records into the warehouse removes their pending links after its commit; a crash in
between leaves them pending, and the inbox's key makes the second move a no-op.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from hotel_pipeline.core import settings


def default_root() -> Path:
    return settings.raw_dir() / "webhooks"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_durable(folder: Path, data: bytes) -> Path:
    """A new fsynced temporary file in ``folder`` holding ``data``."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".json")
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    return Path(name)


@dataclass(frozen=True)
class PendingRecord:
    path: Path  # the pending link
    record: dict[str, Any]


class Spool:
    """The webhook folder of the raw zone (default ``$HOTEL_PIPELINE_DATA_DIR/raw/webhooks``)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root else default_root()
        self._lock = threading.Lock()

    @property
    def pending_dir(self) -> Path:
        return self.root / "pending"

    @property
    def quarantine_dir(self) -> Path:
        return self.root / "quarantine"

    def record_path(self, vendor: str, hotel_id: str, key: str) -> Path:
        return self.root / vendor / hotel_id / f"{key}.json"

    def accept(self, record: dict[str, Any]) -> bool:
        """Store one delivery durably; False when its idempotency key is already stored (a duplicate)."""
        final = self.record_path(record["vendor"], record["hotel_id"], record["key"])
        if final.exists():
            return False
        data = json.dumps(record, sort_keys=True).encode()
        tmp = _write_durable(final.parent, data)
        try:
            try:
                os.link(tmp, final)
            except FileExistsError:
                return False
            self.pending_dir.mkdir(parents=True, exist_ok=True)
            pending = self.pending_dir / f"{record['vendor']}--{record['hotel_id']}--{record['key']}.json"
            try:
                os.link(final, pending)
            except FileExistsError:
                pass
            _fsync_dir(final.parent)
            _fsync_dir(self.pending_dir)
            return True
        finally:
            tmp.unlink(missing_ok=True)

    def quarantine(self, record: dict[str, Any]) -> Path:
        """Keep a malformed delivery with its reason (the body included: the raw zone may hold it)."""
        folder = self.quarantine_dir
        data = json.dumps(record, sort_keys=True).encode()
        tmp = _write_durable(folder, data)
        final = folder / f"{record['vendor']}--{record['hotel_id']}--{record['key']}.json"
        os.replace(tmp, final)
        _fsync_dir(folder)
        return final

    def count_rejected(self, vendor: str, hotel_id: str) -> int:
        """+1 on the wrong-credential counter of (vendor, hotel); returns the new count."""
        path = self.root / "rejected.json"
        with self._lock:
            counts = self.rejected()
            name = f"{vendor}/{hotel_id}"
            counts[name] = counts.get(name, 0) + 1
            self.root.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(counts, sort_keys=True))
            os.replace(tmp, path)
            return counts[name]

    def rejected(self) -> dict[str, int]:
        path = self.root / "rejected.json"
        return json.loads(path.read_text()) if path.exists() else {}

    # -- the consumer side -----------------------------------------------------------------------------------------
    def pending(self) -> Iterator[PendingRecord]:
        """Pending records, oldest receipt first."""
        if not self.pending_dir.exists():
            return
        items = []
        for path in self.pending_dir.glob("*.json"):
            try:
                items.append(PendingRecord(path, json.loads(path.read_text())))
            except FileNotFoundError:  # consumed meanwhile
                continue
        yield from sorted(items, key=lambda p: (p.record["received_at"], p.record["key"]))

    def newest_pending_ns(self) -> int:
        """Newest modification time (ns) among pending links (0 if none): what the sensor's cursor compares."""
        if not self.pending_dir.exists():
            return 0
        newest = 0
        for entry in os.scandir(self.pending_dir):
            if entry.name.endswith(".json"):
                try:
                    newest = max(newest, entry.stat().st_mtime_ns)
                except FileNotFoundError:
                    continue
        return newest

    def quarantined(self) -> list[tuple[Path, dict[str, Any]]]:
        if not self.quarantine_dir.exists():
            return []
        return [(p, json.loads(p.read_text())) for p in sorted(self.quarantine_dir.glob("*.json"))]

    def done(self, paths: list[Path]) -> None:
        """Remove pending links (after their rows are committed); the raw records stay."""
        for path in paths:
            path.unlink(missing_ok=True)


def stamp(instant: datetime) -> str:
    """ISO-8601 UTC with microseconds: sorts in receipt order."""
    return instant.isoformat(timespec="microseconds")
