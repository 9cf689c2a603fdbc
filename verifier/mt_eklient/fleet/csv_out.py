"""The ranked hosts as CSV, one row per host, for the spreadsheets managers live in."""

from __future__ import annotations

import csv
import io
from typing import Any

COLUMNS = ("rank", "host", "class", "profile", "status", "score", "exposure", "use_scenario", "top_reasons",
           "top_measure", "top_measure_points", "edition", "end_of_support", "last_evaluated")


def _cell(value: Any) -> Any:
    # A leading =, +, - or @ makes a spreadsheet evaluate the cell (CSV injection).
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def render_csv(report: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for host in report["hosts"]:
        measure = host["top_measure"] or {}
        writer.writerow([_cell(v) for v in (
            host["rank"], host["host"], host["declared_class"], host["profile"], host["status"], host["score"],
            host["exposure"], host["scenario"],
            "; ".join(f"{r['text']} ({r['points']})" for r in host["reasons"][:3]),
            measure.get("text"), measure.get("points"), host["edition"], host["end_of_support"],
            host["last_evaluated"])])
    return out.getvalue()
