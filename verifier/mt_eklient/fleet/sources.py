"""What the fleet overview reads: scan reports (`--scan FILE`, the JSON of mtk scan/verify) or the
scan history (`--history DB`), as a list of scans oldest first, each shaped like the JSON report.

Bad input is one line naming the file: not JSON, another report_version, not a scan report, no
scan at all, no scan on or before --as-of."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from .. import history
from ..errors import InputError


@dataclass(frozen=True)
class Scan:
    label: str  # file name or "history #id"
    started: datetime
    evaluated_on: date
    hosts: dict[str, dict[str, Any]]  # host name -> the report's host entry


class _Open(BaseModel):
    # Only what the fleet reads is checked; the rest of the report passes through untouched.
    model_config = ConfigDict(extra="allow")


class _Control(_Open):
    id: str
    area: str
    status: Literal["pass", "fail", "error", "waived", "not_applicable"]
    severity: Literal["low", "medium", "high", "critical"] | None = None


class _Host(_Open):
    host: str
    status: Literal["ok", "unreachable", "error"]
    declared_class: str | None = None
    controls: list[_Control]


class _Meta(_Open):
    started: datetime
    evaluated_on: date


class _Report(_Open):
    scan: _Meta
    hosts: list[_Host]


def _check_shape(report: dict[str, Any], where: str) -> None:
    """The fields the fleet reads, with their path on error. (The full report schema takes
    seconds per host-heavy file with jsonschema; pydantic checks the same fields in milliseconds.)"""
    try:
        _Report.model_validate(report)
    except ValidationError as err:
        first = err.errors()[0]
        path = ".".join(str(p) for p in first["loc"])
        more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
        raise InputError.single(where, f"not a valid scan report: {first['msg']}{more}", field=path) from None


def _timestamp(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _scan(report: dict[str, Any], label: str) -> Scan:
    meta = report["scan"]
    return Scan(label, _timestamp(meta["started"]), date.fromisoformat(meta["evaluated_on"]),
                {h["host"]: h for h in report["hosts"]})


def read_scan_file(path: Path) -> Scan:
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
    _check_shape(report, where)
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
