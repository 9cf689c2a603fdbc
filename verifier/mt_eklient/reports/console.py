"""Console summary: one line per host, the findings of each host, then a table per area.

Colour only when the stream is a terminal and NO_COLOR is not set."""

from __future__ import annotations

import io
import json
import os
import sys
from typing import Any, TextIO

from ..textsafe import printable, printable_deep
from .exceptions import exception_line
from .stream import copy_spool, spool

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
_FINDING = ("fail", "error")


_HEADER = ["HOST", "CLASS", "OBSERVED", "PROFILE", *(_HEAD[s] for s in STATUS_COLUMNS), "RESULT"]
_COUNT_COLUMNS = set(range(4, 4 + len(STATUS_COLUMNS)))


def _host_cells(host: dict[str, Any]) -> list[str]:
    counts = host["summary"]
    return [host["host"], host["declared_class"] or host["profile_class"] or "-", host["observed_type"] or "-",
            _profile(host), *(str(counts[s]) if host["status"] == "ok" else "-" for s in STATUS_COLUMNS),
            host["verdict"].upper()]


def _findings(host: dict[str, Any], colour: bool, max_findings: int | None) -> list[str]:
    findings = sorted((c for c in host["controls"] if c["status"] in _FINDING),
                      key=lambda c: _SEVERITY_RANK.get(c["severity"], 9))
    procedures = (host.get("profile") or {}).get("procedures") or []
    if host["status"] == "ok" and not findings and not host["notes"] and not host.get("exceptions") and not procedures:
        return []
    lines = ["", _paint(f"{host['host']}:", "bold", colour)]
    if host["status"] != "ok":
        lines.append("  " + _paint(f"{host['status'].upper()}: {host['error']}", host["status"], colour))
    for exception in host.get("exceptions") or []:
        lines.append("  " + _paint("SAFETY-FLOOR EXCEPTION: ", "warn", colour) + exception_line(exception))
    for note in host["notes"]:
        lines.append("  " + _paint("note: ", "warn", colour) + note)
    for procedure in procedures:  # the manufacturer's conditions that people carry out
        source = f" ({procedure['source']})" if procedure.get("source") else ""
        lines.append("  " + _paint("procedure: ", "warn", colour) + f"{procedure['text']}{source} (not checked on the machine)")
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
    return lines


class ConsoleWriter:
    """The console summary, streamed: host rows (column widths tracked) and findings are spooled as
    hosts arrive and printed at the end, with the per-area table built from counts."""

    def __init__(self, stream: TextIO, colour: bool = False, max_findings: int | None = MAX_FINDINGS_PER_HOST):
        self.stream = stream
        self.colour = colour
        self.max_findings = max_findings
        self.rows = spool()
        self.findings = spool()
        self.widths = [len(h) for h in _HEADER]
        self.areas: dict[str, dict[str, int]] = {}
        self.count = 0
        self.exceptions = 0

    def add(self, host: dict[str, Any]) -> None:
        for c in host["controls"]:
            self.areas.setdefault(printable(c["area"]), dict.fromkeys(STATUS_COLUMNS, 0))[c["status"]] += 1
        # Host-supplied text must not drive the terminal: what is shown of the host is made printable
        # (its findings; the evidence of every other control is never printed, so is not copied).
        host = printable_deep(dict(host, controls=[c for c in host["controls"] if c["status"] in _FINDING]))
        self.exceptions += len(host.get("exceptions") or [])
        cells = _host_cells(host)
        self.widths = [max(w, len(c)) for w, c in zip(self.widths, cells)]
        self.rows.write(json.dumps([host["verdict"], cells], ensure_ascii=False) + "\n")
        lines = _findings(host, self.colour, self.max_findings)
        if lines:
            self.findings.write("\n".join(lines) + "\n")
        self.count += 1

    def _row(self, cells: list[str]) -> str:
        return "  ".join(c.rjust(self.widths[i]) if i in _COUNT_COLUMNS else c.ljust(self.widths[i])
                         for i, c in enumerate(cells)).rstrip()

    def finish(self, meta: dict[str, Any], summary: dict[str, Any]) -> None:
        out, colour, meta = self.stream, self.colour, printable_deep(meta)
        out.write(_paint(f"mt-eklient {meta['command']}: {self.count} host(s), catalog "
                         f"{meta['catalog_version'] or '-'}, evaluated on {meta['evaluated_on']}", "bold", colour) + "\n")
        if not self.count:
            out.write("no hosts\n")
            return
        out.write("\n" + self._row(_HEADER) + "\n")
        self.rows.seek(0)
        for line in self.rows:
            verdict, cells = json.loads(line)
            row = self._row(cells)
            out.write((_paint(row, verdict, colour) if verdict != "pass" else row) + "\n")
        copy_spool(self.findings, out)
        if self.areas:
            rows = [["AREA", *(_HEAD[s] for s in STATUS_COLUMNS)]]
            rows += [[area, *(str(counts[s]) for s in STATUS_COLUMNS)] for area, counts in sorted(self.areas.items())]
            out.write("\n" + "\n".join(_table(rows, right=set(range(1, 1 + len(STATUS_COLUMNS))))) + "\n")
        if self.exceptions:
            out.write("\n" + _paint(f"{self.exceptions} safety-floor exception(s) in force: see the hosts above",
                                     "warn", colour) + "\n")
        verdict = {0: "PASS", 1: "FAIL", 2: "USAGE ERROR", 3: "INCOMPLETE"}[summary["exit_code"]]
        counts = ", ".join(f"{n} {v}" for v, n in summary["verdicts"].items() if n)
        kind = "pass" if summary["exit_code"] == 0 else ("fail" if summary["exit_code"] == 1 else "error")
        out.write("\n" + _paint(f"Result: {verdict} ({counts}; exit {summary['exit_code']})", kind, colour) + "\n")

    def close(self) -> None:
        self.rows.close()
        self.findings.close()


def render_console(report: dict[str, Any], colour: bool = False,
                   max_findings: int | None = MAX_FINDINGS_PER_HOST) -> str:
    out = io.StringIO()
    writer = ConsoleWriter(out, colour, max_findings)
    for host in report["hosts"]:
        writer.add(host)
    writer.finish(report["scan"], report["summary"])
    writer.close()
    return out.getvalue()


def print_console(report: dict[str, Any], stream: TextIO | None = None) -> None:
    stream = stream or sys.stdout
    stream.write(render_console(report, use_colour(stream)))
