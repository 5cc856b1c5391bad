"""The pace report as one static PNG per hotel (matplotlib, no display needed)."""

from __future__ import annotations

import io
from datetime import date
from typing import Any


def _figure(**kwargs: Any) -> Any:
    """A matplotlib Figure on the Agg canvas, imported on first use: every process that loads the code location
    (code server, each run's worker, the CLI) imports this module, and only a publish run draws.

    Figure and canvas directly, not pyplot: no display backend to pick, and no global registry holding the figure
    (nothing to close, nothing leaked by a chart that fails half-drawn, nothing shared by two threads drawing).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)
    return fig


def _dates(nights: list[dict[str, Any]]) -> list[date]:
    return [date.fromisoformat(n["stay_date"]) for n in nights]


def pace_png(data: dict[str, Any], dpi: int = 80) -> bytes:
    """Four panels: booking curves vs last year, pickup 1/7/30 d, pace vs STLY, occupancy and ADR."""
    nights = data["nights"]
    days = _dates(nights)
    fig = _figure(figsize=(12, 7.5), dpi=dpi)
    axes = fig.subplots(2, 2, squeeze=False)
    fig.suptitle(f"{data['hotel_id']} {data['name']}: pace as of {data['as_of']}", fontsize=13)

    ax = axes[0][0]
    for i, curve in enumerate(data["curves"]):
        color = f"C{i}"
        ty = curve["this_year"]
        ax.plot([-p["days_before"] for p in ty], [p["rooms_sold"] for p in ty], color=color,
                label=f"{curve['stay_date']}")
        ly = curve["last_year"]
        ax.plot([-p["days_before"] for p in ly], [p["rooms_sold"] for p in ly], color=color, linestyle="--",
                label=f"{curve['last_year_stay_date']} (last year)")
    ax.set_title("booking curves: rooms on the books by days before the night")
    ax.set_xlabel("days before the stay")
    ax.set_ylabel("rooms")
    ax.legend(fontsize=7)

    ax = axes[0][1]
    for key, label in (("pickup_1d", "1 day"), ("pickup_7d", "7 days"), ("pickup_30d", "30 days")):
        ax.plot(days, [n[key] if n[key] is not None else float("nan") for n in nights], label=label)
    ax.axhline(0, color="grey", linewidth=0.5)
    ax.set_title(f"pickup over the next {len(nights)} nights")
    ax.set_ylabel("rooms")
    ax.legend(fontsize=7)

    ax = axes[1][0]
    pace = [n["pace_vs_stly"] if n["pace_vs_stly"] is not None else float("nan") for n in nights]
    ax.bar(days, pace, color=["C2" if (p or 0) >= 0 else "C3" for p in pace], width=0.8)
    ax.axhline(0, color="grey", linewidth=0.5)
    ax.set_title("pace vs same time last year (rooms)")

    ax = axes[1][1]
    ax.plot(days, [100 * (n["occupancy"] or 0) for n in nights], color="C0", label="occupancy %")
    ax.set_ylim(0, 105)
    ax.set_ylabel("occupancy %")
    twin = ax.twinx()
    twin.plot(days, [n["adr"] if n["adr"] is not None else float("nan") for n in nights], color="C1", label="ADR")
    twin.set_ylabel(f"ADR ({data['currency']})")
    ax.set_title("occupancy and ADR on the books")
    for a in (axes[0][1], axes[1][0], axes[1][1]):
        a.tick_params(axis="x", labelrotation=30, labelsize=7)
    fig.tight_layout()
    out = io.BytesIO()
    # The canvas's own print_png, not savefig: after tight_layout the figure keeps a placeholder layout engine,
    # for which savefig draws the whole figure once more before drawing it for the PNG (the same pixels, twice
    # the work).
    fig.canvas.print_png(out)
    return out.getvalue()
