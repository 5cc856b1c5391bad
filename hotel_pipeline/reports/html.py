"""The pace report as one self-contained HTML page: the PNGs inline, and SVG charts whose points carry their data.

No script, no external file or font: the page opens from disk or an e-mail attachment. Every point of the SVG
charts has ``data-*`` attributes (stay date and value), and the figures are embedded as JSON
(``<script type="application/json" id="pace-data">``), so a reader or a test can check a chart against the warehouse.
"""

from __future__ import annotations

import base64
import html
import json
from typing import Any

_CSS = """body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}h1{font-size:1.4rem}
h2{font-size:1.15rem;margin-top:2rem}table{border-collapse:collapse;font-size:.85rem}
td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:right}svg{background:#fafafa;border:1px solid #ddd}
img{max-width:100%}.bad{color:#b00}"""


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _series_svg(chart: str, nights: list[dict[str, Any]], key: str, width: int = 720, height: int = 180) -> str:
    """A line of ``key`` over the stay dates, one ``<circle>`` per night carrying ``data-stay-date``/``data-value``."""
    values = [n[key] for n in nights]
    known = [v for v in values if v is not None]
    lo, hi = (min(known + [0]), max(known + [0])) if known else (0, 1)
    span = (hi - lo) or 1
    step = width / max(len(nights) - 1, 1)
    points, circles = [], []
    for i, (night, v) in enumerate(zip(nights, values, strict=True)):
        if v is None:
            continue
        x, y = i * step, height - 10 - (v - lo) / span * (height - 20)
        points.append(f"{x:.1f},{y:.1f}")
        circles.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2" data-stay-date="{night["stay_date"]}" '
                       f'data-value="{_esc(v)}"><title>{night["stay_date"]}: {_esc(v)}</title></circle>')
    return (f'<svg class="chart" data-chart="{chart}" data-series="{key}" width="{width}" height="{height}" '
            f'viewBox="-4 0 {width + 8} {height}" role="img" aria-label="{chart}">'
            f'<polyline fill="none" stroke="#36c" points="{" ".join(points)}"/>{"".join(circles)}</svg>')


def hotel_section(data: dict[str, Any], png: bytes | None) -> str:
    nights = data["nights"]
    parts = [f'<section class="hotel" data-hotel-id="{_esc(data["hotel_id"])}">',
             f'<h2>{_esc(data["hotel_id"])} {_esc(data["name"])} (capacity {data["capacity"]}), '
             f'as of {_esc(data["as_of"])}</h2>']
    if png:
        parts.append(f'<img alt="pace report of {_esc(data["hotel_id"])}" '
                     f'src="data:image/png;base64,{base64.b64encode(png).decode()}">')
    for key, title in (("pickup_1d", "pickup 1 day"), ("pickup_7d", "pickup 7 days"),
                       ("pickup_30d", "pickup 30 days"), ("pace_vs_stly", "pace vs same time last year"),
                       ("occupancy", "occupancy"), ("adr", f"ADR ({data['currency']})")):
        parts.append(f"<h3>{_esc(title)}, next {len(nights)} nights</h3>")
        parts.append(_series_svg(key, nights, key))
    parts.append("<h3>integration health</h3>")
    if data["health"]:
        cols = list(data["health"][0])
        parts.append("<table><tr>" + "".join(f"<th>{_esc(c)}</th>" for c in cols) + "</tr>")
        for row in data["health"]:
            cls = ' class="bad"' if row.get("last_status") != "ok" or row.get("errors") else ""
            parts.append(f"<tr{cls}>" + "".join(f"<td>{_esc(row[c])}</td>" for c in cols) + "</tr>")
        parts.append("</table>")
    else:
        parts.append("<p>no sync recorded (no integration_status row)</p>")
    parts.append("</section>")
    return "\n".join(parts)


def report_page(reports: list[tuple[dict[str, Any], bytes | None]], title: str = "Pace report") -> str:
    """The whole page for several hotels; the figures again as JSON for machines."""
    payload = json.dumps({d["hotel_id"]: d for d, _ in reports}, default=str).replace("</", "<\\/")
    body = "\n".join(hotel_section(d, png) for d, png in reports)
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{_esc(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_CSS}</style></head>'
            f'<body><h1>{_esc(title)}</h1>\n{body}\n'
            f'<script type="application/json" id="pace-data">{payload}</script></body></html>\n')
