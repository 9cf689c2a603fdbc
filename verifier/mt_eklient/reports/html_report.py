"""A self-contained HTML report, the hand-over evidence of a scan: inline CSS, no scripts, no
external assets (it is mailed around and opened on locked-down hospital PCs); links only to the
manufacturer's source documents. Sections: scan metadata, fleet overview by area and class, the
host table, then per host its application, manufacturer, profile approval, source documents and
procedures, class evidence, notes and every control with its evidence.

Readable on screen at 1400 px and on paper: fixed column widths, values one per line, SIDs never
broken across lines; passing and not-applicable controls are folded on screen (a checkbox, no
script) and always printed. Every value is escaped."""

from __future__ import annotations

import io
import re
from html import escape
from typing import IO, Any

from ..evaluate import STATUSES
from .exceptions import exception_line
from .html_values import e, text, value_html
from .stream import Output, copy_spool, spool

CSS = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5em;color:#1b1f24;background:#fff}
h1{font-size:1.5em;margin:0 0 .2em}h2{font-size:1.2em;margin:1.6em 0 .4em;border-bottom:1px solid #ccd}
h3{font-size:1.05em;margin:1.2em 0 .3em}h4{font-size:1em;margin:.8em 0 .2em}
table{border-collapse:collapse;margin:.4em 0;font-size:13px}
th,td{border:1px solid #ccd;padding:3px 6px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#eef0f4}td.n{text-align:right}
.pass{background:#e3f4e5}.fail{background:#fbe2e2}.error,.unreachable{background:#f3e3f7}
.waived{background:#fdf3d6}.not_applicable{color:#667;background:#f5f5f7}
.tag{display:inline-block;padding:0 6px;border-radius:3px;font-weight:600;font-size:.92em;overflow-wrap:normal}
.id{overflow-wrap:normal}
code{font:11px/1.35 ui-monospace,"DejaVu Sans Mono",Consolas,monospace;white-space:pre-wrap;margin:0}
.sid{white-space:nowrap}.meaning{color:#36465a}.key{color:#667}
ul.values{list-style:none;margin:0;padding:0}ul.values li{margin:0 0 1px}
.meta td:first-child{font-weight:600;white-space:nowrap}.note{color:#7a5b00}.muted{color:#667}
table.controls{width:100%;table-layout:fixed}
col.status{width:6.5em}col.control{width:15%}col.value{width:27%}
.refs{display:block;margin-top:.3em;color:#667;font-size:.92em}
.handover{border:1px solid #ccd;padding:.2em .8em .5em;margin:.6em 0;max-width:70em}
.handover ul{margin:.2em 0;padding-left:1.2em}
.exception{border:3px solid #b36b00;background:#fff4e0;padding:.4em .8em;margin:.6em 0}
.fold{position:absolute;opacity:0}.fold+label{cursor:pointer;color:#0645ad;display:inline-block;margin:.3em 0}
.fold:not(:checked)+label+.folded{display:none}
.fold:focus-visible+label{outline:2px solid #0645ad}
@media print{
 @page{size:A4 landscape;margin:12mm}
 body{margin:0;font-size:11px}table{font-size:10px}code{font-size:8px}
 .fold,.fold+label{display:none}.fold+label+.folded{display:block!important}
 section+section{break-before:page}tr{break-inside:avoid}h2,h3,h4{break-after:avoid}
 a{color:inherit}
}
"""

_STATUS_WORDS = {"pass": "pass", "fail": "failed", "error": "not read", "waived": "waived",
                 "not_applicable": "not applicable", "unreachable": "unreachable"}


def _anchor(name: str) -> str:
    return "host-" + re.sub(r"[^A-Za-z0-9_-]", "-", name)


def _tag(status: str) -> str:
    return f'<span class="tag {e(status)}">{e(_STATUS_WORDS.get(status, status))}</span>'


def _class_of(host: dict[str, Any]) -> str:
    return host["declared_class"] or host["profile_class"] or "unknown"


class _Overview:
    """The fleet overview's counts: per class, hosts and per area the controls of each status."""

    def __init__(self) -> None:
        self.classes: dict[str, dict[str, Any]] = {}
        self.areas: set[str] = set()

    def add(self, host: dict[str, Any]) -> None:
        row = self.classes.setdefault(_class_of(host), {"hosts": 0, "bad_hosts": 0, "areas": {}})
        row["hosts"] += 1
        row["bad_hosts"] += host["verdict"] != "pass"
        for c in host["controls"]:
            self.areas.add(c["area"])
            cell = row["areas"].setdefault(c["area"], dict.fromkeys(STATUSES, 0))
            cell[c["status"]] += 1


def _fleet_overview(overview: _Overview) -> str:
    """Rows: area; columns: class (few, so the table fits any page); cell: passing/judged controls."""
    areas, classes = sorted(overview.areas), overview.classes
    names = sorted(classes)
    out = ['<table class="fleet"><tr><th></th>', *(f"<th>{e(n)}</th>" for n in names), "</tr>",
           "<tr><th>hosts</th>", *(f'<td class="n">{classes[n]["hosts"]}</td>' for n in names), "</tr>",
           "<tr><th>hosts not passing</th>"]
    out += [f'<td class="n {"fail" if classes[n]["bad_hosts"] else "pass"}">{classes[n]["bad_hosts"]}</td>'
            for n in names]
    out.append("</tr>")
    for area in areas:
        out.append(f"<tr><th>{e(area.replace('_', ' '))}</th>")
        for name in names:
            out.append(_overview_cell(classes[name]["areas"].get(area)))
        out.append("</tr>")
    out.append("</table>")
    return "".join(out)


def _overview_cell(cell: dict[str, int] | None) -> str:
    if not cell:
        return '<td class="muted">–</td>'
    judged = cell["pass"] + cell["fail"] + cell["error"]
    css = "fail" if cell["fail"] else ("error" if cell["error"] else ("pass" if judged else "not_applicable"))
    extra = [f"{cell[k]} {word}" for k, word in (("fail", "failed"), ("error", "not read"), ("waived", "waived"))
             if cell[k]]
    detail = f"<br><small>{e(', '.join(extra))}</small>" if extra else ""
    return f'<td class="{css}">{cell["pass"]}/{judged}{detail}</td>'


_HOST_TABLE_HEAD = (
    "<table><tr><th>host</th><th>declared</th><th>nameplate</th><th>observed type</th><th>profile</th>"
    "<th>result</th>" + "".join(f"<th>{escape(_STATUS_WORDS[s])}</th>" for s in STATUSES) + "<th>reason</th></tr>")


def _host_row(host: dict[str, Any]) -> str:
    profile = host.get("profile") or {}
    profile_text = f"{profile.get('id')} v{profile.get('version')}" if profile.get("id") else "–"
    counts = "".join(f'<td class="n">{host["summary"][s] if host["status"] == "ok" else "–"}</td>' for s in STATUSES)
    return (f'<tr><td><a href="#{_anchor(host["host"])}">{e(host["host"])}</a></td>'
            f"<td>{e(host['declared_class'] or '–')}</td><td>{e(host['nameplate_class'] or '–')}</td>"
            f"<td>{e(host['observed_type'] or '–')}</td><td>{e(profile_text)}</td>"
            f'<td class="{e(host["verdict"])}">{e(host["verdict"])}</td>{counts}'
            f"<td>{e(host['error'] or '')}</td></tr>")


def _references(refs: dict[str, Any]) -> str:
    parts = [f"{key}: {', '.join(value) if isinstance(value, list) else value}" for key, value in refs.items() if value]
    return f'<span class="refs">{"<br>".join(e(p) for p in parts)}</span>' if parts else ""


_CONTROL_TABLE_HEAD = (
    '<table class="controls"><colgroup><col class="status"><col class="control"><col class="value">'
    '<col class="value"><col></colgroup>'
    "<tr><th>status</th><th>control</th><th>expected</th><th>actual</th><th>details and references</th></tr>")


def _details(c: dict[str, Any]) -> str:
    waiver = c.get("waiver")
    details = []
    # A waived control's message repeats the waiver's reason: the waiver line says it once, with its owner.
    if c["message"] and not (waiver and c["status"] == "waived"):
        details.append(text(c["message"]))
    if waiver:
        details.append(f'<b>Waived</b>: {text(waiver["reason"])} (owner {e(waiver["owner"])}, '
                       f'expires {e(waiver["expires"])})')
    details += [f'<span class="note">{text(n)}</span>' for n in c["notes"]]
    if c.get("mandatory"):
        details.append("mandatory: compensates for missing antivirus")
    return "<br>".join(details) + _references(c.get("references") or {})


def _control_rows(controls: list[dict[str, Any]]) -> str:
    out = [_CONTROL_TABLE_HEAD]
    for c in controls:
        meanings = c.get("meanings") or {}
        judged = c["status"] != "not_applicable"
        expected = (f'<small class="muted">{e(c["compare"].replace("_", " "))}</small><br>'
                    f"{value_html(c['expected'], meanings)}") if judged else ""
        actual = value_html(c["actual"], meanings) if judged else ""
        if c["status"] == "error" and c["actual"] is None:  # not read, which is not "not set"
            actual = '<span class="muted">could not be read (see details)</span>'
        out.append(
            f'<tr class="{e(c["status"])}"><td>{_tag(c["status"])}<br><small>{e(c["severity"])}</small></td>'
            f"<td><b class=\"id\">{e(c['id'])}</b><br>{e(c['title'])}<br><small class=\"muted\">{e(c['area'])}</small></td>"
            f'<td class="v">{expected}</td><td class="v">{actual}</td><td>{_details(c)}</td></tr>')
    out.append("</table>")
    return "".join(out)


def _source(source: dict[str, Any]) -> str:
    label = " ".join(str(p) for p in (source["title"], source.get("version") and f"version {source['version']}",
                                      source.get("date") and f"({source['date']})") if p)
    line = f"{e(source['kind'].replace('_', ' '))}: {e(label)}"
    url = source.get("url")
    # Profile validation lets only http(s) URLs without user information through; checked again here.
    if url and re.match(r"https?://", str(url)):
        line += f' <a href="{e(url)}">{e(url)}</a>'
    return f"<li>{line}</li>"


def _hand_over(profile: dict[str, Any]) -> str:
    """What the host was judged against, for whoever the report is handed to."""
    if not profile.get("application"):
        return ""
    app, maker = profile["application"], profile.get("manufacturer") or {}
    approved = (f"{e(profile['approved_by'])} on {e(profile['approved_date'])}" if profile.get("approved_by")
                else '<b class="fail">not approved (draft): results are provisional</b>')
    maker_text = ", ".join(e(maker[k]) for k in ("name", "country", "contact") if maker.get(k))
    out = ['<div class="handover"><h4>Application and profile</h4><table class="meta">',
           f"<tr><td>application</td><td>{e(app.get('name'))} {e(app.get('version'))}</td></tr>",
           f"<tr><td>manufacturer</td><td>{maker_text}</td></tr>",
           f"<tr><td>profile</td><td>{e(profile.get('id'))} v{e(profile.get('version'))}</td></tr>",
           f"<tr><td>approved by</td><td>{approved}</td></tr></table>"]
    if profile.get("sources"):
        out.append("<b>Source documents</b><ul>" + "".join(_source(s) for s in profile["sources"]) + "</ul>")
    if profile.get("procedures"):
        out.append("<b>Manufacturer's procedures</b> <span class=\"muted\">(conditions that are not settings: "
                   "not checked on the machine, carried out by people)</span><ul>" + "".join(
                       f"<li>{text(p['text'])}" + (f' <span class="muted">({e(p["source"])})</span>'
                                                   if p.get("source") else "") + "</li>"
                       for p in profile["procedures"]) + "</ul>")
    out.append("</div>")
    return "".join(out)


def _host_section(host: dict[str, Any]) -> str:
    anchor = _anchor(host["host"])
    out = [(f'<section id="{anchor}"><h3>{e(host["host"])} '
            f'<span class="tag {e(host["verdict"])}">{e(host["verdict"])}</span></h3>')]
    if host["status"] != "ok":
        out.append(f'<p class="{e(host["status"])}"><b>{e(host["status"])}</b>: {text(host["error"])}</p>')
    profile = host.get("profile") or {}
    meta = [("declared class", host["declared_class"]), ("profile class", host["profile_class"]),
            ("nameplate class", host["nameplate_class"]), ("observed type", host["observed_type"]),
            ("profile sha256", profile.get("sha256")), ("catalog", host["catalog_version"]),
            ("facts collected", host["collected_at"])]
    meta += [(k.replace("_", " "), "yes" if v is True else "no" if v is False else v)
             for k, v in (host.get("system") or {}).items()]
    out.append('<table class="meta">' + "".join(
        f"<tr><td>{e(k)}</td><td>{e(v)}</td></tr>" for k, v in meta if v not in (None, "")) + "</table>")
    out.append(_hand_over(profile))
    if host["class_evidence"]:
        out.append("<p><b>Class evidence:</b> " + "; ".join(e(r) for r in host["class_evidence"]) + "</p>")
    if host["notes"]:
        out.append("<ul>" + "".join(f'<li class="note">{text(n)}</li>' for n in host["notes"]) + "</ul>")
    if host.get("exceptions"):
        out.append('<div class="exception"><b>Safety-floor exceptions in force</b><ul>' + "".join(
            f"<li>{e(exception_line(x))}</li>" for x in host["exceptions"]) + "</ul></div>")
    findings = [c for c in host["controls"] if c["status"] in ("fail", "error", "waived")]
    rest = [c for c in host["controls"] if c["status"] not in ("fail", "error", "waived")]
    if findings:
        out.append(_control_rows(findings))
    elif host["status"] == "ok":
        out.append("<p>No failed, unread or waived controls.</p>")
    if rest:
        # Folded on screen by a checkbox (no script); always printed (print stylesheet).
        out.append(f'<input type="checkbox" class="fold" id="{anchor}-rest"><label for="{anchor}-rest">'
                   f'{len(rest)} passing and not applicable controls</label><div class="folded">'
                   f"<h4>{len(rest)} passing and not applicable controls</h4>{_control_rows(rest)}</div>")
    out.append("</section>")
    return "".join(out)


def _head(scan: dict[str, Any], summary: dict[str, Any]) -> str:
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
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>mt-eklient report {e(scan['started'])}</title><style>{CSS}</style></head><body>",
        "<h1>mt-eklient verification report</h1>",
        '<table class="meta">' + "".join(f"<tr><td>{e(k)}</td><td>{e(v)}</td></tr>" for k, v in meta
                                          if v is not None) + "</table>",
    ])


def _exception_banner(found: list[tuple[str, dict[str, Any]]]) -> str:
    if not found:
        return ""
    return (f'\n<div class="exception"><h2>Safety-floor exceptions in force ({len(found)})</h2><ul>' + "".join(
        f"<li><b>{e(host)}</b>: {e(exception_line(x))}</li>" for host, x in found) + "</ul></div>")


class HtmlWriter:
    """The HTML report, streamed: host rows and host sections are spooled as hosts arrive; the
    scan metadata and the fleet overview (counts only) are written at the end, above them."""

    def __init__(self, output: Output):
        self.output = output
        self.overview = _Overview()
        self.rows = spool()
        self.sections = spool()
        self.count = 0
        self.exceptions: list[tuple[str, dict[str, Any]]] = []  # rare, and shown above everything

    def add(self, host: dict[str, Any]) -> None:
        self.exceptions += [(host["host"], x) for x in host.get("exceptions") or []]
        self.overview.add(host)
        self.rows.write(_host_row(host))
        self.sections.write("\n" + _host_section(host))
        self.count += 1

    def finish(self, meta: dict[str, Any], summary: dict[str, Any]) -> None:
        def produce(out: IO[str]) -> None:
            out.write(_head(meta, summary) + _exception_banner(self.exceptions) + "\n<h2>Fleet overview by class and area</h2>\n"
                      '<p class="muted">Cells: passing / judged controls (waived and not applicable are not judged).</p>\n')
            if not self.count:
                out.write("<p>No hosts.</p>\n<h2>Hosts</h2>\n<p>No hosts.</p>\n<h2>Host details</h2>")
            else:
                out.write(_fleet_overview(self.overview) + "\n<h2>Hosts</h2>\n" + _HOST_TABLE_HEAD)
                copy_spool(self.rows, out)
                out.write("</table>\n<h2>Host details</h2>")
                copy_spool(self.sections, out)
            out.write("\n</body></html>\n")
        self.output.write(produce)

    def close(self) -> None:
        self.rows.close()
        self.sections.close()


def render_html(report: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = HtmlWriter(Output(out))
    for host in report["hosts"]:
        writer.add(host)
    writer.finish(report["scan"], report["summary"])
    writer.close()
    return out.getvalue()
