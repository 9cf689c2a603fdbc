"""What the fleet overview reads: scan reports (`--scan FILE`, the JSON of mtk scan/verify) or the
scan history (`--history DB`), as a list of scans oldest first, each shaped like the JSON report.

Bad input is one line naming the file: not JSON, another report_version, not a scan report, no
scan at all, no scan on or before --as-of."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from .. import history
from ..errors import InputError


@dataclass(frozen=True)
class Scan:
    label: str  # file name or "history #id"
    started: datetime
    evaluated_on: date
    hosts: dict[str, dict[str, Any]]  # host name -> the report's host entry


def _timestamp(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _scan(report: dict[str, Any], label: str) -> Scan:
    meta = report["scan"]
    return Scan(label, _timestamp(meta["started"]), date.fromisoformat(meta["evaluated_on"]),
                {h["host"]: h for h in report["hosts"]})


def read_scan_file(path: Path) -> Scan:
    from ..reports.json_report import validate_report
    from ..scanresult import REPORT_VERSION

    where = str(path)
    try:
        report = json.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as err:
        raise InputError.single(where, f"cannot read: {err.strerror or err}") from None
    except ValueError as err:
        raise InputError.single(where, f"not JSON: {err}") from None
    if not isinstance(report, dict) or "report_version" not in report:
        raise InputError.single(where, "not a scan report of mtk scan/verify (no report_version)")
    if report["report_version"] != REPORT_VERSION:
        raise InputError.single(where, f"report_version {report['report_version']!r} is not supported: this mtk "
                                f"reads version {REPORT_VERSION} (write it again with this mtk's scan --json)",
                                field="report_version")
    problems = validate_report(report)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise InputError.single(where, f"not a valid scan report: {problems[0]}{more}")
    return _scan(report, path.name)


def read_history(path: Path) -> list[Scan]:
    reports = history.stored_reports(path)
    if not reports:
        raise InputError.single(str(path), "the history holds no scan yet (run mtk scan first)")
    return [_scan(r, f"history #{r['scan']['id']}") for r in reports]


def load_scans(scan_files: list[Path] | None, history_db: Path | None, as_of: date) -> list[Scan]:
    """Scans evaluated on or before `as_of`, oldest first."""
    scans = [read_scan_file(p) for p in scan_files] if scan_files else read_history(history_db or Path())
    kept = sorted((s for s in scans if s.evaluated_on <= as_of), key=lambda s: s.started)
    if not kept:
        source = "the scan files" if scan_files else str(history_db)
        raise InputError.single(source, f"no scan evaluated on or before {as_of.isoformat()} (--as-of)")
    return kept
