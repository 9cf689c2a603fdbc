"""The fleet report as one self-contained HTML file: inline CSS and inline SVG charts, no scripts,
fonts or links to fetch (hospital networks are offline; the file is mailed around). Every value
is escaped."""

from __future__ import annotations

from html import escape
from typing import Any

from ..reports.html_report import CSS as SCAN_CSS
from .charts import NO_DATA, OVERALL, WINDOW_COLOURS, heatmap_chart, lifecycle_chart, trend_chart
from .console import duration_text

CSS = SCAN_CSS + """
.chart{margin:.6em 0;max-width:100%;overflow-x:auto}.chart svg{max-width:100%;height:auto}
td.score{font-weight:700;text-align:right}.swatch{display:inline-block;width:.9em;height:.9em;
vertical-align:middle;border:1px solid #666;margin:0 .25em 0 .6em}ul.reasons{margin:.2em 0;padding-left:1.2em}
"""


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _refs(references: dict[str, Any]) -> str:
    parts = []
    for key in ("normen", "mdcg", "nsm", "mds2", "other"):
        value = references.get(key)
        if value:
            parts.append(f"{key.upper() if key in ('nsm', 'mds2', 'mdcg') else key.capitalize()} "
                         f"{', '.join(value) if isinstance(value, list) else value}")
    return "; ".join(parts)


def _hosts(report: dict[str, Any]) -> str:
    rows = []
    for host in report["hosts"]:
        top = "".join(f"<li>{_e(r['text'])} <b>+{r['points']}</b></li>" for r in host["reasons"][:3])
        every = "".join(f"<tr><td class=n>+{r['points']}</td><td>{_e(r['kind'])}</td><td>{_e(r['text'])}</td>"
                        f"<td>{_e(_refs(r['references']))}</td></tr>" for r in host["reasons"])
        measure = host["top_measure"]
        measure_html = f"{_e(measure['text'])} <b>(&minus;{measure['points']})</b>" if measure else "&ndash;"
        notes = "".join(f"<div class=note>{_e(n)}</div>" for n in host["notes"])
        status = f'<span class="tag {_e(host["status"])}">{_e(host["status"])}</span>'
        rows.append(
            f"<tr><td class=n>{host['rank']}</td><td class=score>{host['score']}</td><td>{_e(host['host'])}</td>"
            f"<td>{_e(host['declared_class'])}</td><td>{_e(host['profile'])}</td><td>{status}</td>"
            f"<td><ul class=reasons>{top}</ul>{notes}<details><summary>all {len(host['reasons'])} reasons (exposure "
            f"{host['exposure']}, findings x{host['findings_factor']})</summary><table><tr><th>points</th><th>kind"
            f"</th><th>reason</th><th>references</th></tr>{every}</table></details></td><td>{measure_html}</td></tr>")
    return ("<table><tr><th>rank</th><th>score</th><th>host</th><th>class</th><th>profile</th><th>status</th>"
            f"<th>top reasons</th><th>measure that lowers the score most</th></tr>{''.join(rows)}</table>")


def _measures(report: dict[str, Any]) -> str:
    if not report["measures"]:
        return "<p class=muted>No finding: nothing to fix.</p>"
    rows = "".join(f"<tr><td class=n>&minus;{m['points']}</td><td>{_e(m['measure'])}</td><td>{_e(m['profile'])}</td>"
                   f"<td class=n>{len(m['hosts'])}</td><td>{_e(', '.join(m['hosts']))}</td></tr>"
                   for m in report["measures"][:25])
    return ("<table><tr><th>points removed</th><th>measure</th><th>profile</th><th>hosts</th><th>which</th></tr>"
            f"{rows}</table>")


def _lifecycle(report: dict[str, Any]) -> str:
    life = report["lifecycle"]
    horizons = life["horizons_months"]
    head = "".join(f"<th>within {m} months</th>" for m in horizons)
    editions = "".join(
        f"<tr><td>{_e(e['name'])}</td><td>{_e(e['ga'])}</td><td>{_e(e['mainstream_end'])}</td>"
        f"<td>{_e(e['extended_end'] or 'none')}</td><td>{_e(e['end_of_support'])}</td><td class=n>{e['hosts']}</td>"
        f"<td class=n>{e['ended']}</td>" + "".join(f"<td class=n>{e[f'within_{m}_months']}</td>" for m in horizons)
        + "</tr>" for e in life["editions"])
    rows = "".join(f"<tr><td>{_e(r['edition_name'])}</td><td>{_e(r['profile'])}</td><td>{_e(r['end_of_support'])}</td>"
                   f"<td class=n>{r['days_left']}</td><td>{_e(r['window'])}</td><td>{_e(', '.join(r['hosts']))}</td></tr>"
                   for r in life["rows"])
    profiles = "".join(f"<tr><td>{_e(p['profile'])}</td><td>{_e(p['supported_until'])}</td><td>{_e(p['window'])}</td>"
                       f"<td>{_e(', '.join(f'{k} ({v})' for k, v in p['editions'].items()))}</td>"
                       f"<td class=n>{len(p['hosts'])}</td></tr>" for p in life["profiles"])
    legend = "".join(f'<span class=swatch style="background:{c}"></span>{_e(w)}' for w, c in WINDOW_COLOURS.items())
    missing = (f"<p class=note>No known edition (never evaluated): {_e(', '.join(life['hosts_without_edition']))}</p>"
               if life["hosts_without_edition"] else "")
    return (f"<div class=chart>{lifecycle_chart(life)}</div><p>{legend}</p>"
            f"<h3>Editions</h3><table><tr><th>edition</th><th>released</th><th>mainstream end</th><th>extended end</th>"
            f"<th>end of support</th><th>hosts</th><th>ended</th>{head}</tr>{editions}</table>"
            f"<h3>Hosts by edition and profile</h3><table><tr><th>edition</th><th>profile</th><th>end of support</th>"
            f"<th>days left</th><th>window</th><th>hosts</th></tr>{rows}</table>{missing}"
            "<h3>Profiles whose supported editions end first</h3><table><tr><th>profile</th><th>last validated "
            "edition supported until</th><th>window</th><th>validated editions (end of support)</th><th>hosts</th>"
            f"</tr>{profiles}</table>")


def _trends(report: dict[str, Any]) -> str:
    trend = report["trends"]
    reg = trend["regressions"]
    rows = "".join(f"<tr><td>{_e(r['host'])}</td><td>{_e(r['control'])}</td><td>{_e(r['before'])} &rarr; "
                   f"{_e(r['after'])}</td><td>{_e(r['scan'])}</td></tr>" for r in reg["since_previous"])
    table = (f"<table><tr><th>host</th><th>control</th><th>change</th><th>scan</th></tr>{rows}</table>" if rows
             else "<p class=muted>No regression since the previous scan.</p>")
    mean = reg["mean_hours_to_fix"]
    mttr = (f"{duration_text(mean)} on average over {reg['fixed']} fixed regression(s)" if mean is not None
            else "no regression fixed yet")
    return (f"<div class=chart>{trend_chart(trend['points'])}</div>"
            f"<p><span class=swatch style=\"background:{OVERALL}\"></span>bold line: the whole fleet</p>"
            f"<h3>Regressions since the previous scan</h3>{table}"
            f"<p>Mean time from a regression to its fix: {_e(mttr)}; still open: {len(reg['open'])}.</p>")


def _model(report: dict[str, Any]) -> str:
    """The scoring rules as shipped, so the file explains itself without docs/fleet.md."""
    model = report["exposure_model"]
    props = "".join(f"<tr><td>{_e(p['title'])}</td><td class=n>{p['points']}</td><td>{'yes' if p['assume'] else 'no'}"
                    f"</td><td>{_e(_refs(p['references']))}</td></tr>" for p in model["properties"].values())
    findings = model["findings"]
    failed, waiver, age = findings["failed_control"], findings["waiver"], findings["patch_age"]
    down = findings["unreachable"]
    severities = ", ".join(f"{k} {v}" for k, v in failed["severity_points"].items())
    bands = "; ".join(f"{b['reason']}: {b['points']}" for b in findings["os_support"]["bands"])
    rules = [
        ("failing control", (f"{severities}; unreadable x{failed['error_factor']}; compensating control for a "
         f"forbidden antivirus x{failed['compensating_factor']}")),
        ("waived control", (f"severity points x{waiver['severity_factor']}, +{waiver['expiring_points']} when the "
         f"waiver expires within {waiver['expiring_days']} days; an expired waiver counts as failing")),
        ("patch age", (f"{age['points_per_started_30_days']} per started 30 days beyond the profile's maximum, at most "
         f"{age['max_points']}")),
        ("Windows support", bands),
        ("unreachable", f"{down['points']}, +{down['points_per_day']} per day, at most {down['max_points']}"),
    ]
    rows = "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in rules)
    return (f"<p>score = exposure + each finding's points &times; (1 + exposure &times; "
            f"{model['findings_factor_per_exposure_point']}). Exposure: the Normen properties (Normen 5.1.2, 5.2.1) "
            f"and the class group (1 and 2: +{model['groups']['1']['points']}).</p>"
            f"<table><tr><th>property</th><th>points</th><th>assumed when unknown</th><th>references</th></tr>{props}"
            f"</table><table><tr><th>finding</th><th>points</th></tr>{rows}</table>")


def render_html(report: dict[str, Any]) -> str:
    notes = "".join(f"<p class=note>{_e(n)}</p>" for n in report["notes"])
    model = report["exposure_model"]
    scans = report["scans"]
    heat = report["heatmap"]
    heat_html = (f"<div class=chart>{heatmap_chart(heat)}</div><p><span class=swatch style=\"background:{NO_DATA}\">"
                 "</span>no control of that area applies</p>") if heat["classes"] else "<p class=muted>No host evaluated.</p>"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>mt-eklient fleet overview {_e(report['as_of'])}</title>
<style>{CSS}</style></head><body>
<h1>Fleet overview</h1>
<p>As of <b>{_e(report['as_of'])}</b>: {len(report['hosts'])} hosts from {len(scans)} scan(s)
({_e(scans[0]['started'] if scans else '')} &ndash; {_e(scans[-1]['started'] if scans else '')}).
Scores: exposure model {_e(model['file'])} version {model['version']}; see docs/fleet.md. mt-eklient
{_e(report['tool_version'])}, generated {_e(report['generated'])}.</p>{notes}
<h2>Act first: hosts ranked by exposure (Normen 5.2)</h2>{_hosts(report)}
<h2>Measures that lower the fleet score most</h2>{_measures(report)}
<h2>Where the fleet fails: class &times; area</h2>{heat_html}
<h2>Life cycle: Windows end of support</h2>{_lifecycle(report)}
<h2>Trend</h2>{_trends(report)}
<h2>How the score is computed</h2>{_model(report)}
</body></html>
"""
