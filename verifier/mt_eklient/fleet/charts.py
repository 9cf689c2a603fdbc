"""The fleet report's pictures as inline SVG (matplotlib, svg backend): a pass-rate trend, a
life-cycle timeline and the class x area heat map.

Text is drawn as paths (svg.fonttype "path"), so a chart needs no font on the reader's PC, and
each chart gets its own id salt, so several charts can share one HTML page without id clashes.
matplotlib is imported only here, only when an HTML report is asked for."""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

# Colours with a meaning, also used by the HTML legend; tests look for them in a screenshot.
OVERALL = "#6a3d9a"
WINDOW_COLOURS = {"ended": "#b2182b", "within 6 months": "#ef6548", "within 12 months": "#fdae61",
                  "within 24 months": "#fee08b", "later": "#4575b4"}
NO_DATA = "#d9d9d9"


def _svg(figure: Any, salt: str) -> str:
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": salt}):
        figure.savefig(buffer, format="svg", bbox_inches="tight",
                       metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    text = buffer.getvalue()
    return text[text.index("<svg"):]  # no XML declaration or DOCTYPE inside HTML


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height))
    figure.set_facecolor("white")
    return figure


def trend_chart(points: list[dict[str, Any]]) -> str:
    """Pass rate over time, one panel per area and one per profile; the bold line is the fleet."""
    figure = _figure(13, 4.2)
    times = [datetime.fromisoformat(p["started"]) for p in points]
    for position, (key, title) in enumerate((("by_area", "by area"), ("by_profile", "by profile")), 1):
        axes = figure.add_subplot(1, 2, position)
        figure.subplots_adjust(wspace=0.55)
        names = sorted({n for p in points for n in p[key]})
        colours = _palette(len(names))
        for name, colour in zip(names, colours):
            values = [p[key].get(name) for p in points]
            axes.plot(times, [v if v is not None else float("nan") for v in values], marker="o", markersize=3,
                      linewidth=1.2, color=colour, label=name)
        axes.plot(times, [p["overall"] if p["overall"] is not None else float("nan") for p in points],
                  color=OVERALL, linewidth=3.5, marker="o", markersize=6, label="fleet")
        axes.set_ylim(-2, 102)
        axes.set_ylabel("controls passing (%)")
        axes.set_title(f"Pass rate {title}", fontsize=10)
        axes.grid(True, alpha=0.3)
        axes.tick_params(axis="x", labelrotation=30, labelsize=7)
        axes.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0), framealpha=0.8)
    figure.autofmt_xdate()
    return _svg(figure, "mtk-trend")


def _palette(count: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab20"]
    return [cmap(i % 20) for i in range(count)]


def lifecycle_chart(lifecycle: dict[str, Any]) -> str:
    """One bar per LTSC edition from release to end of support, coloured by how soon it ends."""
    from matplotlib import dates as mdates

    from .lifecycle_table import support_window

    as_of = date.fromisoformat(lifecycle["as_of"])
    editions = lifecycle["editions"]
    figure = _figure(11, 0.45 * len(editions) + 1.4)
    axes = figure.add_subplot(1, 1, 1)
    for row, edition in enumerate(editions):
        start, end = date.fromisoformat(edition["ga"]), date.fromisoformat(edition["end_of_support"])
        colour = WINDOW_COLOURS[support_window(end, as_of)]
        left = mdates.date2num(start)
        axes.barh(row, mdates.date2num(end) - left, left=left, height=0.6, color=colour, edgecolor="#333333",
                  linewidth=0.5)
        label = f"{edition['hosts']} host(s)" if edition["hosts"] else "no host"
        axes.text(mdates.date2num(end) + 40, row, f"{label}, ends {edition['end_of_support']}", va="center",
                  fontsize=7)
    axes.axvline(mdates.date2num(as_of), color="#000000", linewidth=1.2, linestyle="--")
    axes.text(mdates.date2num(as_of), len(editions) - 0.4, f" as of {as_of.isoformat()}", fontsize=7)
    axes.set_yticks(range(len(editions)), [e["name"] for e in editions], fontsize=7)
    axes.invert_yaxis()
    axes.xaxis_date()
    axes.set_xlim(right=mdates.date2num(max(date.fromisoformat(e["end_of_support"]) for e in editions)) + 1500)
    axes.set_title("Windows LTSC support (bar: release to end of support)", fontsize=10)
    axes.grid(True, axis="x", alpha=0.3)
    return _svg(figure, "mtk-lifecycle")


def heatmap_chart(heatmap: dict[str, Any]) -> str:
    """Pass rate per class (rows) and area (columns) from each host's latest evaluation."""
    import numpy as np
    from matplotlib import colormaps

    classes, areas = heatmap["classes"], heatmap["areas"]
    figure = _figure(max(6.0, 0.62 * len(areas) + 2), 0.5 * len(classes) + 1.8)
    axes = figure.add_subplot(1, 1, 1)
    values = np.ma.masked_invalid(np.array([[np.nan if v is None else v for v in row] for row in heatmap["rates"]],
                                           dtype=float).reshape(len(classes), len(areas)))
    cmap = colormaps["RdYlGn"].with_extremes(bad=NO_DATA)
    mesh = axes.pcolormesh(values, cmap=cmap, vmin=0, vmax=100, edgecolors="white", linewidth=1)
    for r, row in enumerate(heatmap["rates"]):
        for c, value in enumerate(row):
            if value is not None:
                axes.text(c + 0.5, r + 0.5, f"{value:.0f}", ha="center", va="center", fontsize=7)
    axes.set_xticks([i + 0.5 for i in range(len(areas))], areas, rotation=45, ha="right", fontsize=7)
    axes.set_yticks([i + 0.5 for i in range(len(classes))], classes, fontsize=8)
    axes.invert_yaxis()
    axes.set_title("Controls passing (%) by class and area", fontsize=10)
    figure.colorbar(mesh, ax=axes, fraction=0.03, pad=0.02)
    return _svg(figure, "mtk-heatmap")
