"""The fleet report as a short text summary: ranking, measures, life cycle, trend."""

from __future__ import annotations

from typing import Any


def duration_text(value: float | None) -> str:
    """Hours as people say them: minutes, hours or days."""
    if value is None:
        return "none fixed yet"
    if value < 1:
        return f"{round(value * 60)} min"
    if value < 48:
        return f"{value:.1f} h"
    return f"{value / 24:.1f} days"


def render_console(report: dict[str, Any], top: int = 10) -> str:
    lines = [(f"Fleet overview as of {report['as_of']}: {len(report['hosts'])} hosts from "
              f"{len(report['scans'])} scan(s)"), ""]
    lines.append(f"{'rank':>4}  {'score':>5}  {'host':<20} {'class':<5} {'profile':<24} top reason")
    for host in report["hosts"][:top]:
        reason = host["reasons"][0]["text"] if host["reasons"] else "-"
        lines.append(f"{host['rank']:>4}  {host['score']:>5}  {host['host']:<20} {host['declared_class'] or '?':<5} "
                     f"{host['profile'] or '?':<24} {reason}")
        if host["top_measure"]:
            measure = host["top_measure"]
            lines.append(f"{'':>13}-> {measure['text']} (-{measure['points']})")
    if len(report["hosts"]) > top:
        lines.append(f"  ... and {len(report['hosts']) - top} more (--top N, or the HTML/CSV report)")
    if report["measures"]:
        lines += ["", "Measures that lower the fleet score most:"]
        for m in report["measures"][:top]:
            lines.append(f"  -{m['points']:<5} {m['measure']} on {len(m['hosts'])} host(s) of profile {m['profile']}")
    life = report["lifecycle"]
    lines += ["", "Windows life cycle (hosts leaving support):"]
    for e in life["editions"]:
        if e["hosts"]:
            lines.append(f"  {e['name']:<38} {e['hosts']:>3} host(s), end of support {e['end_of_support']}"
                         + (", ENDED" if e["ended"] else "")
                         + "".join(f", {e[f'within_{m}_months']} within {m} mo" for m in life["horizons_months"]))
    if life["profiles"]:
        first = life["profiles"][0]
        lines.append(f"  first profile out of supported editions: {first['profile']} ({first['supported_until']})")
    trend = report["trends"]
    points = trend["points"]
    reg = trend["regressions"]
    lines += ["", "Trend:"]
    if len(points) > 1:
        lines.append(f"  pass rate {points[0]['overall']}% -> {points[-1]['overall']}% over {len(points)} scans")
    elif points:
        lines.append(f"  pass rate {points[-1]['overall']}% (one scan: no trend yet)")
    lines.append(f"  regressions since the previous scan: {len(reg['since_previous'])}; open: {len(reg['open'])}; "
                 f"mean time to fix: {duration_text(reg['mean_hours_to_fix'])} ({reg['fixed']} fixed)")
    for note in report["notes"]:
        lines.append(f"note: {note}")
    return "\n".join(lines) + "\n"
