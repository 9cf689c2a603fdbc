"""Console summary: one line per host, the findings of each host, then a table per area.

Colour only when the stream is a terminal and NO_COLOR is not set."""

from __future__ import annotations

import json
import os
import sys
from typing import Any, TextIO

from ..textsafe import printable_deep
from .exceptions import exception_line, fleet_exceptions

STATUS_COLUMNS = ("pass", "fail", "error", "waived", "not_applicable")
_HEAD = {"pass": "PASS", "fail": "FAIL", "error": "ERR", "waived": "WAIVED", "not_applicable": "N/A"}
_COLOURS = {"pass": "32", "fail": "31", "error": "35", "unreachable": "35", "waived": "33", "warn": "33",
            "not_applicable": "2", "bold": "1"}
MAX_VALUE = 160


def use_colour(stream: TextIO) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)()) and "NO_COLOR" not in os.environ \
        and os.environ.get("TERM") != "dumb"


def _paint(text: str, kind: str, colour: bool) -> str:
    return f"\033[{_COLOURS[kind]}m{text}\033[0m" if colour and kind in _COLOURS else text


def short(value: Any, limit: int = MAX_VALUE) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _table(rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for row in rows:
        cells = [c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(row)]
        out.append("  ".join(cells).rstrip())
    return out


def _profile(host: dict[str, Any]) -> str:
    profile = host.get("profile") or {}
    if not profile.get("id"):
        return "-"
    return f"{profile['id']} v{profile.get('version')}" if profile.get("version") is not None else profile["id"]


# A fleet console stays readable: the worst findings per host, the rest in the JSON/HTML reports.
MAX_FINDINGS_PER_HOST = 10
_SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def render_console(report: dict[str, Any], colour: bool = False,
                   max_findings: int | None = MAX_FINDINGS_PER_HOST) -> str:
    report = printable_deep(report)  # host-supplied text must not drive the terminal
    scan, hosts = report["scan"], report["hosts"]
    lines = [_paint(f"mt-eklient {scan['command']}: {len(hosts)} host(s), catalog {scan['catalog_version'] or '-'}, "
                    f"evaluated on {scan['evaluated_on']}", "bold", colour)]
    if not hosts:
        lines.append("no hosts")
        return "\n".join(lines) + "\n"

    rows = [["HOST", "CLASS", "OBSERVED", "PROFILE", *(_HEAD[s] for s in STATUS_COLUMNS), "RESULT"]]
    verdicts = []
    for host in hosts:
        counts = host["summary"]
        rows.append([host["host"], host["declared_class"] or host["profile_class"] or "-",
                     host["observed_type"] or "-", _profile(host),
                     *(str(counts[s]) if host["status"] == "ok" else "-" for s in STATUS_COLUMNS),
                     host["verdict"].upper()])
        verdicts.append(host["verdict"])
    table = _table(rows, right=set(range(4, 4 + len(STATUS_COLUMNS))))
    lines.append("")
    lines.append(table[0])
    for line, verdict in zip(table[1:], verdicts):
        lines.append(_paint(line, verdict, colour) if verdict != "pass" else line)

    for host in hosts:
        findings = sorted((c for c in host["controls"] if c["status"] in ("fail", "error")),
                          key=lambda c: _SEVERITY_RANK.get(c["severity"], 9))
        if host["status"] == "ok" and not findings and not host["notes"] and not host.get("exceptions"):
            continue
        lines.append("")
        lines.append(_paint(f"{host['host']}:", "bold", colour))
        if host["status"] != "ok":
            lines.append("  " + _paint(f"{host['status'].upper()}: {host['error']}", host["status"], colour))
        for exception in host.get("exceptions") or []:
            lines.append("  " + _paint("SAFETY-FLOOR EXCEPTION: ", "warn", colour) + exception_line(exception))
        for note in host["notes"]:
            lines.append("  " + _paint("note: ", "warn", colour) + note)
        shown = findings if max_findings is None else findings[:max_findings]
        for c in shown:
            label = _paint(_HEAD[c["status"]].ljust(4), c["status"], colour)
            lines.append(f"  {label}  {c['id']}  [{c['severity']}] {c['title']}")
            if c["status"] == "fail":
                lines.append(f"        expected ({c['compare']}): {short(c['expected'])}")
                lines.append(f"        actual: {short(c['actual'])}")
            if c["message"]:
                lines.append(f"        {short(c['message'], 300)}")
        if len(shown) < len(findings):
            lines.append(f"  ... {len(findings) - len(shown)} more finding(s): see the JSON or HTML report")

    areas: dict[str, dict[str, int]] = {}
    for host in hosts:
        for c in host["controls"]:
            areas.setdefault(c["area"], {s: 0 for s in STATUS_COLUMNS})[c["status"]] += 1
    if areas:
        rows = [["AREA", *(_HEAD[s] for s in STATUS_COLUMNS)]]
        rows += [[area, *(str(counts[s]) for s in STATUS_COLUMNS)] for area, counts in sorted(areas.items())]
        lines.append("")
        lines.extend(_table(rows, right=set(range(1, 1 + len(STATUS_COLUMNS)))))

    if exceptions := fleet_exceptions(report):
        lines.append("")
        lines.append(_paint(f"{len(exceptions)} safety-floor exception(s) in force: see the hosts above", "warn", colour))
    summary = report["summary"]
    verdict = {0: "PASS", 1: "FAIL", 2: "USAGE ERROR", 3: "INCOMPLETE"}[summary["exit_code"]]
    counts = ", ".join(f"{n} {v}" for v, n in summary["verdicts"].items() if n)
    lines.append("")
    kind = "pass" if summary["exit_code"] == 0 else ("fail" if summary["exit_code"] == 1 else "error")
    lines.append(_paint(f"Result: {verdict} ({counts}; exit {summary['exit_code']})", kind, colour))
    return "\n".join(lines) + "\n"


def print_console(report: dict[str, Any], stream: TextIO | None = None) -> None:
    stream = stream or sys.stdout
    stream.write(render_console(report, use_colour(stream)))
