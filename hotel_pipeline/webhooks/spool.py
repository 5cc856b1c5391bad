"""The receiver's durable inbox on disk: an append-only journal in the raw zone, written with group commit.

Why a journal and not a warehouse row written by the receiver: the receiver must answer within the vendor's deadline
whatever the warehouse is doing, and DuckDB admits one writing process (the Dagster run holds it). So the receiver
only appends to files, durably, and the webhook sensor's run moves what is new into ``webhook_inbox``, with the
journal cursor committed in the same transaction (``webhook_spool_cursor``).

- Each receiver process appends to segments of its own, ``<root>/journal/<start-ns>-<pid>-<lane>.jsonl``, one JSON
  line per record: ``accepted`` (a delivery: vendor, hotel, idempotency key, ids, body) or ``quarantined`` (a
  malformed body with the reason). A writer thread (a lane: two per process, one segment each) takes every record
  queued meanwhile, writes them in one ``write`` and one ``fdatasync`` (group commit), and only then are their
  requests answered: "acknowledged" means on disk, at the cost of one disk flush per batch rather than per delivery.
  While one lane flushes, the other takes the next records, so a delivery waits for about one flush, not two.
  Nothing else sits between that flush and the answers (the rejected counter is rewritten after them).
- A key already in the journal (this process's or an earlier one's: the keys are read at start) is a duplicate: the
  delivery is answered 200 and nothing is written. (Two receiver processes racing on one key may both write it; the
  inbox's primary key keeps one.)
- A SIGKILL can leave a torn last line in the dying process's segment: readers take complete lines only, and a new
  process never appends to an old segment.
- Deliveries with a wrong credential are only counted, per (vendor, hotel), in ``<root>/rejected.json``.
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from hotel_pipeline.core import settings

#: Longest a wrong-credential answer waits for a pause in the deliveries before the counter file is rewritten.
COUNTER_WAIT_SECONDS = 0.2
#: Group-commit lanes per receiver process (each a writer thread with its own segment; see ``JournalWriter``).
LANES = 2


def default_root() -> Path:
    return settings.raw_dir() / "webhooks"


def stamp(instant: datetime) -> str:
    """ISO-8601 UTC with microseconds: sorts in receipt order."""
    return instant.isoformat(timespec="microseconds")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class JournalRecord:
    segment: str  # file name of the segment
    offset: int  # byte offset of the line
    end: int  # offset after the line
    record: dict[str, Any]

    @property
    def location(self) -> str:
        return f"{self.segment}#{self.offset}"


class Spool:
    """The webhook folder of the raw zone (default ``$HOTEL_PIPELINE_DATA_DIR/raw/webhooks``)."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root else default_root()

    @property
    def journal_dir(self) -> Path:
        return self.root / "journal"

    def segments(self) -> list[Path]:
        if not self.journal_dir.exists():
            return []
        return sorted(self.journal_dir.glob("*.jsonl"))

    def size(self) -> int:
        """Bytes in the journal: what the sensor's cursor compares (it only grows)."""
        total = 0
        for path in self.segments():
            try:
                total += path.stat().st_size
            except FileNotFoundError:
                continue
        return total

    def read(self, cursor: dict[str, int] | None = None) -> Iterator[JournalRecord]:
        """Complete records after ``cursor`` (segment name -> byte offset already consumed), segment by segment."""
        cursor = cursor or {}
        for path in self.segments():
            start = int(cursor.get(path.name, 0))
            with open(path, "rb") as fh:
                fh.seek(start)
                data = fh.read()
            offset = start
            for line in data.splitlines(keepends=True):
                if not line.endswith(b"\n"):
                    break  # torn or still being written: not a record (yet)
                end = offset + len(line)
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    offset = end
                    continue
                yield JournalRecord(path.name, offset, end, record)
                offset = end

    def read_at(self, location: str) -> dict[str, Any]:
        """The record at ``segment#offset`` (an inbox row's ``raw_file``)."""
        name, _, offset = location.rpartition("#")
        with open(self.journal_dir / Path(name).name, "rb") as fh:
            fh.seek(int(offset))
            return json.loads(fh.readline())

    def keys(self) -> set[str]:
        return {r.record["key"] for r in self.read() if r.record.get("type") == "accepted"}

    def rejected(self) -> dict[str, int]:
        path = self.root / "rejected.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def writer(self) -> JournalWriter:
        return JournalWriter(self)


class JournalWriter:
    """One process's journal with its group-commit lanes; ``submit`` returns a future of "stored" (False for a
    duplicate key).

    Why lanes: a flush on a disk other processes share takes from a few to tens of milliseconds, and with one writer a
    delivery that arrives just after a flush began waits for that flush and then its own. Each lane is a thread with
    its own segment; an idle lane takes what is queued and flushes it while the other lane's flush is still running,
    so a delivery waits for about one flush. A key being written by one lane is answered as a duplicate only once that
    lane's flush is done (never "stored" before it is on disk).
    """

    def __init__(self, spool: Spool, lanes: int = LANES) -> None:
        self.spool = spool
        spool.journal_dir.mkdir(parents=True, exist_ok=True)
        started = time.time_ns()
        self.paths = [spool.journal_dir / f"{started:020d}-{os.getpid()}-{lane}.jsonl" for lane in range(lanes)]
        self.fds = [os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o640) for path in self.paths]
        _fsync_dir(spool.journal_dir)
        self.known = spool.keys()
        #: keys a lane has written but not flushed yet -> the future of that flush
        self._pending: dict[str, Future[bool]] = {}
        self._lock = threading.Lock()  # known, pending and the counters, across lanes (never held during I/O)
        self._counter_lock = threading.Lock()  # the counter file's rewrite
        self.rejected = spool.rejected()
        self._rejected_dirty = False
        self._counted: list[Future[bool]] = []  # 401s waiting for the counter file
        self._counted_since = 0.0
        self._queue: queue.Queue[tuple[dict[str, Any], Future[bool]] | None] = queue.Queue()
        self.batches = 0
        self._threads = [threading.Thread(target=self._loop, args=(fd,), name=f"webhook-journal-{lane}", daemon=True)
                         for lane, fd in enumerate(self.fds)]
        for thread in self._threads:
            thread.start()

    def submit(self, record: dict[str, Any]) -> Future[bool]:
        future: Future[bool] = Future()
        self._queue.put((record, future))
        return future

    def count_rejected(self, vendor: str, hotel_id: str) -> Future[bool]:
        return self.submit({"type": "rejected", "vendor": vendor, "hotel_id": hotel_id})

    def close(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout=10)
        if self._counted or self._rejected_dirty:
            self._write_rejected()
        for fd in self.fds:
            os.close(fd)

    def _loop(self, fd: int) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            items = [first]
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)
                    break
                items.append(item)
            self._commit(fd, items)
            with self._lock:
                due = bool(self._counted) and (self._queue.empty()
                                               or time.monotonic() - self._counted_since > COUNTER_WAIT_SECONDS)
            if due:
                self._write_rejected()

    def _commit(self, fd: int, items: list[tuple[dict[str, Any], Future[bool]]]) -> None:
        lines: list[bytes] = []
        stored: list[tuple[Future[bool], bool]] = []  # answered once this lane's flush is done
        waiting: list[tuple[Future[bool], Future[bool]]] = []  # duplicates of a key another lane is flushing
        counted: list[Future[bool]] = []  # wrong credentials: answered once rejected.json is written
        added: list[str] = []
        flushed: Future[bool] = Future()  # this batch's flush, for duplicates another lane takes meanwhile
        with self._lock:
            for record, future in items:
                if record.get("type") == "rejected":
                    name = f"{record['vendor']}/{record['hotel_id']}"
                    self.rejected[name] = self.rejected.get(name, 0) + 1
                    self._rejected_dirty = True
                    counted.append(future)
                    continue
                if record.get("type") == "accepted":
                    key = record["key"]
                    if key in self.known:
                        stored.append((future, False))
                        continue
                    if key in self._pending:
                        waiting.append((self._pending[key], future))
                        continue
                    self._pending[key] = flushed
                    added.append(key)
                lines.append(json.dumps(record, sort_keys=True, separators=(",", ":")).encode() + b"\n")
                stored.append((future, True))
        try:
            if lines:
                os.write(fd, b"".join(lines))
                os.fdatasync(fd)
        except OSError as exc:  # nothing acknowledged: the vendor retries
            with self._lock:
                for key in added:
                    self._pending.pop(key, None)
            flushed.set_exception(exc)
            for future in [f for f, _ in stored] + counted:
                future.set_exception(exc)
        else:
            with self._lock:
                self.known.update(added)
                for key in added:
                    self._pending.pop(key, None)
                self.batches += 1 if lines else 0
                if counted and not self._counted:
                    self._counted_since = time.monotonic()
                self._counted += counted
            flushed.set_result(True)
            # Deliveries are answered before the counter file is rewritten, and the rewrite waits for a moment with no
            # delivery queued (at most COUNTER_WAIT_SECONDS): a rename on a busy disk takes milliseconds (up to ~20 ms
            # measured), which would otherwise sit in front of every acknowledgement of the batch or the next one.
            for future, fresh in stored:
                future.set_result(fresh)
        for other, future in waiting:  # stored by the other lane once its flush is done (or failed with it)
            other.add_done_callback(lambda done, f=future: f.set_exception(done.exception()) if done.exception()
                                    else f.set_result(False))

    def _write_rejected(self) -> None:
        """Rewrite ``rejected.json``, then answer the wrong-credential deliveries counted since the last time."""
        with self._counter_lock:  # one rewrite at a time, each of a newer snapshot than the one before
            with self._lock:
                counted, self._counted = self._counted, []
                snapshot = dict(self.rejected) if self._rejected_dirty else None
                self._rejected_dirty = False
            try:
                if snapshot is not None:
                    path = self.spool.root / "rejected.json"
                    tmp = path.with_name(f".rejected-{os.getpid()}.tmp")
                    tmp.write_text(json.dumps(snapshot, sort_keys=True))
                    os.replace(tmp, path)
            except OSError:  # the 401 is answered anyway; the file stays dirty and is rewritten with the next batch
                with self._lock:
                    self._rejected_dirty = True
                for future in counted:
                    future.set_result(False)
                return
        for future in counted:
            future.set_result(True)
