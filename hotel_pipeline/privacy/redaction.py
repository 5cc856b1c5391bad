"""Removing one guest's fields from raw zone files, and only that guest's.

Why structural, not a text search: a surname like "Silva" belongs to many guests. A guest's *record* is found by a
marker only they have (their e-mail or phone; one of their ids at the source beside one of their names; for a guest
with no e-mail and phone, their full name or a dict holding both their first and last name); inside
that record, and in the direct fields of the record that holds it (e.g. a booking around a contact detail), every
field equal to one of the guest's values is replaced by ``REDACTED``. Other guests' fields are never touched.

A raw file is rewritten only when something was redacted: to a temporary file, then atomically renamed over the
old one (the one sanctioned rewrite of the immutable raw zone, recorded in ``erasure_log``).
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

REDACTED = "[erased]"


def _norm(value: str) -> str:
    return " ".join(value.split()).casefold()


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


class GuestMatcher:
    """The values of one guest, normalised, and how to recognise their record."""

    def __init__(self, pii: dict[str, Any], ids: set[str] | frozenset[str] = frozenset()) -> None:
        first = (pii.get("first_name") or "").strip()
        last = (pii.get("last_name") or "").strip()
        self.first, self.last = _norm(first), _norm(last)
        self.full = {_norm(f"{first} {last}"), _norm(f"{last} {first}"), _norm(f"{last}, {first}")} \
            if first and last else set()
        self.email = _norm(pii["email"]) if pii.get("email") else ""
        self.phone = _digits(pii["phone"]) if pii.get("phone") else ""
        self.values = {v for v in (self.first, self.last, self.email, *self.full) if v}
        #: the guest's own ids and their bookings' ids at the source: a record holding one and a name is theirs
        self.ids = {str(i) for i in ids if i not in (None, "")}

    @property
    def by_contact(self) -> bool:
        """A guest with an e-mail or phone is recognised by those only (two guests may share a full name)."""
        return bool(self.email or self.phone)

    def is_marker(self, value: str) -> bool:
        n = _norm(value)
        if self.by_contact:
            return bool((self.email and self.email in n) or
                        (self.phone and len(self.phone) >= 6 and _digits(value) == self.phone))
        return n in self.full

    def matches(self, value: str) -> bool:
        n = _norm(value)
        return n in self.values or self.is_marker(value)

    def holds_both_names(self, record: dict) -> bool:
        """A record of this guest without a contact field: one of their ids beside a name of theirs, or (for a
        guest without e-mail and phone) both their first and last name."""
        direct = {_norm(str(v)) for v in record.values() if isinstance(v, str | int) and not isinstance(v, bool)}
        names = {v for v in (self.first, self.last, *self.full) if v}
        if self.ids and direct & {_norm(i) for i in self.ids} and direct & names:
            return True
        if self.by_contact:
            return False
        return bool(self.first and self.last and self.first in direct and self.last in direct)


def _contains_marker(node: Any, m: GuestMatcher) -> bool:
    if isinstance(node, str):
        return m.is_marker(node)
    if isinstance(node, dict):
        return m.holds_both_names(node) or any(_contains_marker(v, m) for v in node.values())
    if isinstance(node, list):
        return any(_contains_marker(v, m) for v in node)
    return False


def _scrub(node: Any, m: GuestMatcher) -> tuple[Any, int]:
    """Every matching string in the subtree replaced."""
    if isinstance(node, str):
        return (REDACTED, 1) if m.matches(node) else (node, 0)
    if isinstance(node, dict):
        count = 0
        for k, v in node.items():
            node[k], n = _scrub(v, m)
            count += n
        return node, count
    if isinstance(node, list):
        count = 0
        for i, v in enumerate(node):
            node[i], n = _scrub(v, m)
            count += n
        return node, count
    return node, 0


def redact_document(node: Any, m: GuestMatcher, parent: dict | None = None) -> int:
    """Redact the guest's records in ``node`` (in place); returns the fields replaced."""
    count = 0
    if isinstance(node, dict):
        children = [v for v in node.values() if isinstance(v, dict | list)]
        inner = [c for c in children if _contains_marker(c, m)]
        if _contains_marker(node, m) and not any(_has_marker_dict(c, m) for c in inner):
            # the smallest dict holding the marker: the guest's record
            _, n = _scrub(node, m)
            count += n
            if parent is not None:
                for k, v in parent.items():
                    if isinstance(v, str) and m.matches(v):
                        parent[k] = REDACTED
                        count += 1
            return count
        for v in children:
            count += redact_document(v, m, node)
    elif isinstance(node, list):
        for v in node:
            count += redact_document(v, m, parent)
    return count


def _has_marker_dict(node: Any, m: GuestMatcher) -> bool:
    """Whether a dict below (or at) ``node`` holds the marker."""
    if isinstance(node, dict):
        return _contains_marker(node, m)
    if isinstance(node, list):
        return any(_has_marker_dict(v, m) for v in node)
    return False


def redact_file(path: Path, matchers: list[GuestMatcher]) -> int:
    """Redact the guests from one gzipped JSON raw file; rewrite it atomically only if anything changed."""
    with gzip.open(path, "rb") as fh:
        document = json.loads(fh.read())
    count = sum(redact_document(document, m) for m in matchers)
    if count:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.redact")
        with open(tmp, "wb") as fh:
            fh.write(gzip.compress(json.dumps(document, separators=(",", ":")).encode(), compresslevel=5, mtime=0))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    return count


def redact_tree(root: Path, hotel_id: str, matchers: list[GuestMatcher]) -> tuple[int, int]:
    """Redact the guests from every raw file of ``hotel_id`` under ``root`` (any source); (files changed, fields)."""
    files = fields = 0
    if not root.exists():
        return 0, 0
    for source in sorted(p for p in root.iterdir() if p.is_dir()):
        base = source / hotel_id
        if not base.exists():
            continue
        for path in sorted(base.rglob("*.json.gz")):
            n = redact_file(path, matchers)
            if n:
                files += 1
                fields += n
    return files, fields
