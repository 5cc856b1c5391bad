"""The raw landing zone: every extract's response pages, gzipped JSON, written once and never rewritten.

Layout: ``<raw root>/<source>/<hotel>/<yyyy>/<mm>/<dd>/<extract-id>.json.gz`` (UTC date of the extract). One file is
one extract: a header (source, hotel, mode, window, as-of instant, the hotel context normalisation needs, whether
the extract completed) and its pages (request described without secrets, status, body). Files are written to a
temporary name and linked into place with exclusive creation, so a crash never leaves a half file and an existing
file is never replaced. ``reservations``, ``rooms`` and ``guests`` can be rebuilt from these files alone.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

FORMAT = "hotel-pipeline.raw/1"
#: gzip level of a raw file. Why 3: a first full extract writes 60-130 MB of JSON; level 3 compresses it in about
#: half the CPU of level 5 for files 10-15 % larger (measured on the sandbox's Mews and Cloudbeds full extracts).
COMPRESS_LEVEL = 3


def raw_path(root: Path, source: str, hotel_id: str, at: datetime, extract_id: str) -> Path:
    return root / source / hotel_id / f"{at:%Y}" / f"{at:%m}" / f"{at:%d}" / f"{extract_id}.json.gz"


def write_raw(path: Path, document: dict[str, Any]) -> Path:
    """Write ``document`` at ``path`` exactly once (FileExistsError if it exists: raw files are immutable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # check_circular off: the document is parsed JSON plus a header, never circular, and the encoder's id bookkeeping
    # of every object is 6-15 % of dumping a 130 MB extract
    payload = json.dumps({"format": FORMAT, **document}, separators=(",", ":"), default=str,
                         check_circular=False).encode()
    with open(tmp, "wb") as fh:
        fh.write(gzip.compress(payload, compresslevel=COMPRESS_LEVEL, mtime=0))
        fh.flush()
        os.fsync(fh.fileno())
    try:
        os.link(tmp, path)  # fails if the target exists: never rewrite a raw file
    finally:
        tmp.unlink(missing_ok=True)
    return path


def read_raw(path: Path) -> dict[str, Any]:
    with gzip.open(path, "rb") as fh:
        return json.loads(fh.read())


def raw_paths(root: Path, source: str | None = None, hotel_id: str | None = None) -> list[Path]:
    """Every raw extract file under ``root`` (optionally one source/hotel), oldest first, without reading any.

    Order: the date folders, then the extract id (which starts with the extract's UTC instant), so the replay order
    is the order the extracts were taken. A reader that keeps a ledger of the files it has read skips those by name
    here: reading (gunzip and JSON of up to 130 MB a full extract) is the cost, listing is not.
    """
    base = root
    if source:
        base = base / source
        if hotel_id:
            base = base / hotel_id
    if not base.exists():
        return []

    def key(path: Path) -> tuple[str, ...]:
        parts = path.relative_to(root).parts  # source, hotel, yyyy, mm, dd, file
        return (*parts[2:5], parts[-1], *parts[:2])

    return sorted(base.rglob("*.json.gz"), key=key)


def iter_raw(root: Path, source: str | None = None, hotel_id: str | None = None) -> Iterator[tuple[Path, dict]]:
    """Every raw extract under ``root`` (optionally one source/hotel), oldest first (``raw_paths``), read one at a
    time."""
    for path in raw_paths(root, source, hotel_id):
        yield path, read_raw(path)
