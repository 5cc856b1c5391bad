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
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from hotel_pipeline.sources.pms.http import parse_json

FORMAT = "hotel-pipeline.raw/1"
#: gzip level of a raw file. Why 3: a first full extract writes 60-130 MB of JSON; level 3 compresses it in about
#: half the CPU of level 5 for files 10-15 % larger (measured on the sandbox's Mews and Cloudbeds full extracts).
COMPRESS_LEVEL = 3


def raw_path(root: Path, source: str, hotel_id: str, at: datetime, extract_id: str) -> Path:
    return root / source / hotel_id / f"{at:%Y}" / f"{at:%m}" / f"{at:%d}" / f"{extract_id}.json.gz"


def _encode(value: Any) -> bytes:
    # check_circular off: the document is parsed JSON plus a header, never circular, and the encoder's id bookkeeping
    # of every object is 6-15 % of dumping a 130 MB extract
    return json.dumps(value, separators=(",", ":"), default=str, check_circular=False).encode()


def encode_raw(document: dict[str, Any], bodies: Sequence[bytes | None] | None = None) -> bytes:
    """The JSON of a raw file. ``bodies[i]``, when given and not None, is the body of ``document["pages"][i]``
    exactly as the vendor sent it (``RawPage.raw``): it is copied into the file as is, not serialised again. Why:
    re-encoding the parsed pages was a sixth of an extract's CPU, and the bytes received are the most faithful record
    of what the vendor said; a page without them (redacted, or not strict UTF-8 JSON) is serialised from its body."""
    document = {"format": FORMAT, **document}
    if not bodies or all(b is None for b in bodies):
        return _encode(document)
    pages = document.pop("pages")
    if len(pages) != len(bodies):
        raise ValueError(f"{len(bodies)} bodies for {len(pages)} pages")
    parts = [_encode(document)[:-1], b',"pages":[']
    for n, (page, body) in enumerate(zip(pages, bodies, strict=True)):
        if n:
            parts.append(b",")
        if body is None:
            parts.append(_encode(page))
        else:
            meta = _encode({k: v for k, v in page.items() if k != "body"})
            parts += [meta[:-1], b',"body":' if len(meta) > 2 else b'"body":', body, b"}"]
    parts.append(b"]}")
    return b"".join(parts)


def write_raw(path: Path, document: dict[str, Any], bodies: Sequence[bytes | None] | None = None) -> Path:
    """Write ``document`` at ``path`` exactly once (FileExistsError if it exists: raw files are immutable);
    ``bodies``: the pages' bodies as received (see ``encode_raw``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    payload = encode_raw(document, bodies)
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
        return parse_json(fh.read())[0]


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
