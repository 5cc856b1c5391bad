"""Write the pace report: one HTML page (``pace_report.html``) and one PNG per hotel, atomically, into a folder."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.reports.charts import pace_png
from hotel_pipeline.reports.html import report_page
from hotel_pipeline.reports.pace import hotels_with_pickup, pace_data

PAGE_NAME = "pace_report.html"


@dataclass
class PublishedReport:
    page: Path
    pngs: dict[str, Path] = field(default_factory=dict)
    data: dict[str, dict[str, Any]] = field(default_factory=dict)
    png_bytes: dict[str, bytes] = field(default_factory=dict)


def _write_atomic(path: Path, content: bytes) -> None:
    """Readers see the old file or the new one, never half of one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    tmp.write_bytes(content)
    tmp.replace(path)


def publish_reports(warehouse: Warehouse, dest: Path, hotel_ids: list[str] | None = None) -> PublishedReport:
    """The report of ``hotel_ids`` (default: every hotel with pickup) written under ``dest``."""
    hotel_ids = hotel_ids or hotels_with_pickup(warehouse)
    if not hotel_ids:
        raise LookupError("pickup is empty: run the nightly job (or `make demo`) first")
    dest.mkdir(parents=True, exist_ok=True)
    out = PublishedReport(page=dest / PAGE_NAME)
    pairs = []
    for hotel_id in hotel_ids:
        data = pace_data(warehouse, hotel_id)
        png = pace_png(data)
        path = dest / f"pace_report_{hotel_id}.png"
        _write_atomic(path, png)
        out.pngs[hotel_id], out.data[hotel_id], out.png_bytes[hotel_id] = path, data, png
        pairs.append((data, png))
    _write_atomic(out.page, report_page(pairs).encode("utf-8"))
    return out
