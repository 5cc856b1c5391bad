"""The pace PNG is drawn once per hotel: matplotlib's savefig draws a figure laid out by tight_layout twice (once
for its placeholder layout engine, once for the pixels), which was half the cost of a publish run's charts."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

import pytest
from matplotlib.figure import Figure
from PIL import Image

from hotel_pipeline.reports.charts import pace_png

AS_OF = date(2016, 7, 31)


def _data(nights: int = 30) -> dict[str, Any]:
    """A pace report's figures for a small hotel: a month ahead, one booking curve against last year's."""
    days = [AS_OF + timedelta(days=i) for i in range(nights)]
    return {
        "hotel_id": "H9", "name": "Test Hotel", "currency": "EUR", "as_of": AS_OF.isoformat(),
        "nights": [{"stay_date": d.isoformat(), "pickup_1d": i % 3, "pickup_7d": None if i == 4 else i % 5,
                    "pickup_30d": i, "pace_vs_stly": i % 7 - 3, "occupancy": 0.5 + i / 100,
                    "adr": None if i == 2 else 90.0 + i} for i, d in enumerate(days)],
        "curves": [{"stay_date": days[7].isoformat(), "last_year_stay_date": (days[7] - timedelta(364)).isoformat(),
                    "this_year": [{"days_before": b, "rooms_sold": 40 - b} for b in range(30, 0, -1)],
                    "last_year": [{"days_before": b, "rooms_sold": 35 - b} for b in range(30, 0, -1)]}],
    }


def test_each_png_is_drawn_once(monkeypatch: pytest.MonkeyPatch) -> None:
    draws = []
    original = Figure.draw

    def counted(self: Figure, renderer: Any) -> None:
        draws.append(self)
        original(self, renderer)

    monkeypatch.setattr(Figure, "draw", counted)
    png = pace_png(_data(), dpi=50)
    assert len(draws) == 1
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        assert image.size == (600, 375)  # 12 x 7.5 inches at the dpi asked for


def test_the_same_figures_give_the_same_bytes() -> None:
    assert pace_png(_data(), dpi=40) == pace_png(_data(), dpi=40)
