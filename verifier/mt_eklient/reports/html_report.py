"""A self-contained HTML report: inline CSS, no scripts, no external assets (it is mailed around and
opened on locked-down hospital PCs). Sections: scan metadata, fleet overview by class and area,
the host table, then per host its class evidence, notes and every control with its evidence
(passing and not-applicable controls folded in <details>). Every value is escaped."""

from __future__ import annotations

import json
import re
from html import escape
from typing import Any

from ..evaluate import STATUSES
from ..textsafe import printable
from .exceptions import exception_line, fleet_exceptions

CSS = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5em;color:#1b1f24;background:#fff}
h1{font-size:1.5em;margin:0 0 .2em}h2{font-size:1.2em;margin:1.6em 0 .4em;border-bottom:1px solid #ccd}
h3{font-size:1.05em;margin:1.2em 0 .3em}
table{border-collapse:collapse;margin:.4em 0;font-size:13px}
th,td{border:1px solid #ccd;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#eef0f4}td.n{text-align:right}
.pass{background:#e3f4e5}.fail{background:#fbe2e2}.error,.unreachable{background:#f3e3f7}
.waived{background:#fdf3d6}.not_applicable{color:#667;background:#f5f5f7}
.tag{display:inline-block;padding:0 6px;border-radius:3px;font-weight:600;font-size:12px}
code,pre{font:12px/1.35 ui-monospace,Consolas,monospace;white-space:pre-wrap;word-break:break-word;margin:0}
.meta td:first-child{font-weight:600}.note{color:#7a5b00}.muted{color:#667}
details{margin:.3em 0}summary{cursor:pointer}
.exception{border:3px solid #b36b00;background:#fff4e0;padding:.4em .8em;margin:.6em 0}
"""


def _e(value: Any) -> str:
    # Line by line: the newlines of an indented JSON value stay, host-supplied controls do not.
    text = "" if value is None else str(value)
    return escape("\n".join(printable(line) for line in text.split("\n")), quote=True)


def _value(value: Any) -> str:
    if value is None:
        return '<span class="muted">not set</span>'
    text = value if isinstance(value, str) else json.dumps(value, indent=1, ensure_ascii=False, default=str)
    return f"<code>{_e(text)}</code>"


def _anchor(name: str) -> str:
    return "host-" + re.sub(r"[^A-Za-z0-9_-]", "-", name)


def _tag(status: str) -> str:
    label = {"not_applicable": "n/a"}.get(status, status)
    return f'<span class="tag {_e(status)}">{_e(label)}</span>'


def _class_of(host: dict[str, Any]) -> str:
    return host["declared_class"] or host["profile_class"] or "unknown"


def _fleet_overview(hosts: list[dict[str, Any]]) -> str:
    """Rows: class; columns: area; cell: passing/total (failed and errored marked)."""
    areas = sorted({c["area"] for h in hosts for c in h["controls"]})
    classes: dict[str, dict[str, Any]] = {}
    for host in hosts:
        row = classes.setdefault(_class_of(host), {"hosts": 0, "bad_hosts": 0, "areas": {}})
        row["hosts"] += 1
        row["bad_hosts"] += host["verdict"] != "pass"
        for c in host["controls"]:
            cell = row["areas"].setdefault(c["area"], {s: 0 for s in STATUSES})
            cell[c["status"]] += 1
    out = ['<table class="fleet"><tr><th>class</th><th>hosts</th><th>not passing</th>']
    out += [f"<th>{_e(a)}</th>" for a in areas]
    out.append("</tr>")
    for name in sorted(classes):
        row = classes[name]
        out.append(f"<tr><th>{_e(name)}</th><td class=\"n\">{row['hosts']}</td>"
                   f"<td class=\"n {'fail' if row['bad_hosts'] else 'pass'}\">{row['bad_hosts']}</td>")
        for area in areas:
            cell = row["areas"].get(area)
            if not cell:
                out.append('<td class="muted">–</td>')
                continue
            judged = cell["pass"] + cell["fail"] + cell["error"]
            good = cell["pass"]
            css = "fail" if cell["fail"] else ("error" if cell["error"] else ("pass" if judged else "not_applicable"))
            extra = []
            if cell["fail"]:
                extra.append(f"{cell['fail']} failed")
            if cell["error"]:
                extra.append(f"{cell['error']} error")
            if cell["waived"]:
                extra.append(f"{cell['waived']} waived")
            detail = f"<br><small>{_e(', '.join(extra))}</small>" if extra else ""
            out.append(f'<td class="{css}">{good}/{judged}{detail}</td>')
        out.append("</tr>")
    out.append("</table>")
    return "".join(out)


def _host_table(hosts: list[dict[str, Any]]) -> str:
    head = "".join(f"<th>{_e(s.replace('_', ' '))}</th>" for s in STATUSES)
    out = [(f"<table><tr><th>host</th><th>declared</th><th>nameplate</th><th>observed type</th><th>profile</th>"
            f"<th>result</th>{head}<th>reason</th></tr>")]
    for host in hosts:
        profile = host.get("profile") or {}
        profile_text = f"{profile.get('id')} v{profile.get('version')}" if profile.get("id") else "–"
        counts = "".join(f'<td class="n">{host["summary"][s] if host["status"] == "ok" else "–"}</td>' for s in STATUSES)
        out.append(
            f'<tr><td><a href="#{_anchor(host["host"])}">{_e(host["host"])}</a></td>'
            f"<td>{_e(host['declared_class'] or '–')}</td><td>{_e(host['nameplate_class'] or '–')}</td>"
            f"<td>{_e(host['observed_type'] or '–')}</td><td>{_e(profile_text)}</td>"
            f'<td class="{_e(host["verdict"])}">{_e(host["verdict"])}</td>{counts}'
            f"<td>{_e(host['error'] or '')}</td></tr>")
    out.append("</table>")
    return "".join(out)


def _references(refs: dict[str, Any]) -> str:
    parts = []
    for key, value in refs.items():
        if value:
            parts.append(f"{key}: {', '.join(value) if isinstance(value, list) else value}")
    return "<br>".join(_e(p) for p in parts)


def _control_rows(controls: list[dict[str, Any]]) -> str:
    out = [("<table><tr><th>status</th><th>control</th><th>area</th><th>severity</th><th>expected</th>"
            "<th>actual</th><th>details</th><th>references</th></tr>")]
    for c in controls:
        details = []
        if c["message"]:
            details.append(_e(c["message"]))
        details += [f'<span class="note">{_e(n)}</span>' for n in c["notes"]]
        if c.get("waiver"):
            w = c["waiver"]
            details.append(_e(f"waiver: {w['reason']} (owner {w['owner']}, expires {w['expires']})"))
        if c.get("mandatory"):
            details.append("mandatory: compensates for missing antivirus")
        expected = _value(c["expected"]) if c["status"] != "not_applicable" else ""
        actual = _value(c["actual"]) if c["status"] != "not_applicable" else ""
        out.append(
            f'<tr class="{_e(c["status"])}"><td>{_tag(c["status"])}</td>'
            f"<td><b>{_e(c['id'])}</b><br>{_e(c['title'])}</td><td>{_e(c['area'])}</td><td>{_e(c['severity'])}</td>"
            f"<td><small class=\"muted\">{_e(c['compare'])}</small><br>{expected}</td><td>{actual}</td>"
            f"<td>{'<br>'.join(details)}</td><td><small>{_references(c.get('references') or {})}</small></td></tr>")
    out.append("</table>")
    return "".join(out)


def _host_section(host: dict[str, Any]) -> str:
    out = [(f'<section id="{_anchor(host["host"])}"><h3>{_e(host["host"])} '
            f'<span class="tag {_e(host["verdict"])}">{_e(host["verdict"])}</span></h3>')]
    if host["status"] != "ok":
        out.append(f'<p class="{_e(host["status"])}"><b>{_e(host["status"])}</b>: {_e(host["error"])}</p>')
    profile = host.get("profile") or {}
    meta = [("declared class", host["declared_class"]), ("profile class", host["profile_class"]),
            ("nameplate class", host["nameplate_class"]), ("observed type", host["observed_type"]),
            ("profile", f"{profile.get('id')} v{profile.get('version')}" if profile.get("id") else None),
            ("profile sha256", profile.get("sha256")), ("catalog", host["catalog_version"]),
            ("facts collected", host["collected_at"])]
    meta += [(k.replace("_", " "), v) for k, v in (host.get("system") or {}).items()]
    out.append('<table class="meta">' + "".join(
        f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in meta if v not in (None, "")) + "</table>")
    if host["class_evidence"]:
        out.append("<p><b>Class evidence:</b> " + "; ".join(_e(r) for r in host["class_evidence"]) + "</p>")
    if host["notes"]:
        out.append("<ul>" + "".join(f'<li class="note">{_e(n)}</li>' for n in host["notes"]) + "</ul>")
    if host.get("exceptions"):
        out.append('<div class="exception"><b>Safety-floor exceptions in force</b><ul>' + "".join(
            f"<li>{_e(exception_line(e))}</li>" for e in host["exceptions"]) + "</ul></div>")
    findings = [c for c in host["controls"] if c["status"] in ("fail", "error", "waived")]
    rest = [c for c in host["controls"] if c["status"] not in ("fail", "error", "waived")]
    if findings:
        out.append(_control_rows(findings))
    elif host["status"] == "ok":
        out.append("<p>No failed, errored or waived controls.</p>")
    if rest:
        out.append(f"<details><summary>{len(rest)} passing and not applicable controls</summary>"
                   f"{_control_rows(rest)}</details>")
    out.append("</section>")
    return "".join(out)


def _exception_banner(report: dict[str, Any]) -> list[str]:
    found = fleet_exceptions(report)
    if not found:
        return []
    return [f'<div class="exception"><h2>Safety-floor exceptions in force ({len(found)})</h2><ul>' + "".join(
        f"<li><b>{_e(host)}</b>: {_e(exception_line(e))}</li>" for host, e in found) + "</ul></div>"]


def render_html(report: dict[str, Any]) -> str:
    scan, summary, hosts = report["scan"], report["summary"], report["hosts"]
    source = scan.get("source") or {}
    meta = [("command", scan["command"]), ("tool version", scan["tool_version"]),
            ("catalog version", scan["catalog_version"]), ("started", scan["started"]),
            ("finished", scan["finished"]), ("evaluated on", scan["evaluated_on"]),
            ("lifecycle warning", f"{scan['warn_days']} days"),
            ("source", ", ".join(f"{k} {', '.join(map(str, v)) if isinstance(v, list) else v}"
                                 for k, v in source.items() if v) or None),
            ("hosts", summary["hosts"]),
            ("result", ", ".join(f"{n} {v}" for v, n in summary["verdicts"].items() if n) or "no hosts"),
            ("exit code", summary["exit_code"])]
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>mt-eklient report {_e(scan['started'])}</title><style>{CSS}</style></head><body>",
        "<h1>mt-eklient verification report</h1>",
        '<table class="meta">' + "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in meta
                                          if v is not None) + "</table>",
        *_exception_banner(report),
        "<h2>Fleet overview by class and area</h2>",
        '<p class="muted">Cells: passing / judged controls (waived and not applicable are not judged).</p>',
        _fleet_overview(hosts) if hosts else "<p>No hosts.</p>",
        "<h2>Hosts</h2>", _host_table(hosts) if hosts else "<p>No hosts.</p>",
        "<h2>Host details</h2>", *(_host_section(h) for h in hosts),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"
