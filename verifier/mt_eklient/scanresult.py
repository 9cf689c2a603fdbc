"""One scan: evaluate any number of hosts, turn the results into reports and an exit code.

The entry points every verifying command shares (`mtk verify` offline, `mtk scan` over Ansible,
the lab): the caller only collects. Build one `HostInput` per host (a baseline plus the facts
document, or the reason why there are no facts), then

    scan = run_evaluation(inputs, today=..., source={"kind": "inventory", "path": "..."})
    write_reports(scan, json_path, junit_path, html_path)
    print_console(scan)                 # reports.console
    history.record(scan, history_path)  # unless --no-history
    return scan.exit_code
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from . import __version__
from .errors import InputError
from .evaluate import HostResult, evaluate, failed_host
from .filemodes import write_private
from .resolve import Baseline

REPORT_VERSION = 1
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3


@dataclass
class HostInput:
    """One host to evaluate.

    `status` "ok" with `facts` and `baseline` is evaluated; "unreachable" or "error" (with
    `error` saying why: connection refused, collector failed, profile missing, ...) is reported
    as such in every report. `applications`: the profile's applications as dicts.
    """

    name: str
    baseline: Baseline | None = None
    facts: dict[str, Any] | None = None
    applications: list[dict[str, Any]] = field(default_factory=list)
    status: str = "ok"  # ok | unreachable | error
    error: str | None = None
    declared_class: str | None = None  # shown when there is no baseline


@dataclass
class ScanResult:
    hosts: list[HostResult]
    started: str
    finished: str
    today: str
    warn_days: int
    catalog_version: str | None
    source: dict[str, Any]
    command: str
    tool_version: str = __version__
    _report: dict[str, Any] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def exit_code(self) -> int:
        return exit_code(self)

    def to_report(self) -> dict[str, Any]:
        """The JSON report (schemas/report.schema.json); every other report renders from it.

        Built once and shared by the console, the report files and the history: treat it as
        read-only (deep-copy it to change it). Changing `hosts` afterwards needs `invalidate()`."""
        if self._report is None:
            from .reports.json_report import build_report
            self._report = build_report(self)
        return self._report

    def invalidate(self) -> None:
        self._report = None


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _validate(facts: Any, name: str) -> str | None:
    """Why a facts document is unusable, or None. The facts schema belongs to mt_eklient.facts."""
    from .facts import validate_facts
    try:
        validate_facts(facts, f"facts of {name}")
    except InputError as err:
        first = err.problems[0]
        more = f" (and {len(err.problems) - 1} more)" if len(err.problems) > 1 else ""
        where = f"{first.field}: " if first.field else ""
        return f"invalid facts document: {where}{first.message}{more}"
    return None


def evaluate_host(item: HostInput, today: date, warn_days: int = 180, validate: bool = True) -> HostResult:
    if item.status != "ok":
        return failed_host(item.name, item.status, item.error or "no reason given", item.baseline,
                           item.declared_class)
    if item.baseline is None:
        return failed_host(item.name, "error", item.error or "no baseline (profile could not be resolved)",
                           None, item.declared_class)
    if not isinstance(item.facts, dict):
        return failed_host(item.name, "error", item.error or "no facts document", item.baseline, item.declared_class)
    if validate:
        problem = _validate(item.facts, item.name)
        if problem:
            return failed_host(item.name, "error", problem, item.baseline, item.declared_class)
    result = evaluate(item.baseline, item.facts, today, item.applications, warn_days)
    result.host = item.name
    computer = str((item.facts.get("host") or {}).get("computer_name") or "")
    if computer and computer.split(".")[0].casefold() != item.name.split(".")[0].casefold():
        result.notes.append(f"the facts come from computer {computer!r}, not {item.name!r}")
    return result


def run_evaluation(host_inputs: list[HostInput], *, today: date | None = None, warn_days: int = 180,
                   source: dict[str, Any] | None = None, command: str = "scan", validate: bool = True,
                   started: str | None = None) -> ScanResult:
    """Evaluate every host; a host that cannot be evaluated becomes an unreachable/error result,
    never an exception, so one bad host does not hide the others."""
    started = started or _now()
    today = today or date.today()
    hosts = [evaluate_host(item, today, warn_days, validate) for item in host_inputs]
    versions = sorted({i.baseline.catalog_version for i in host_inputs if i.baseline is not None})
    return ScanResult(
        hosts=hosts, started=started, finished=_now(), today=today.isoformat(), warn_days=warn_days,
        catalog_version=", ".join(versions) if versions else None, source=dict(source or {}), command=command,
    )


def exit_code(scan: ScanResult) -> int:
    """3 when any host is unreachable or errored (the others are still evaluated and reported),
    else 1 when any control failed or could not be read (status fail or error), else 0.
    Waived and not-applicable controls count as passing. No host at all is a usage error (2)."""
    if not scan.hosts:
        return EXIT_USAGE
    verdicts = {h.verdict for h in scan.hosts}
    if verdicts & {"unreachable", "error"}:
        return EXIT_UNREACHABLE
    if "fail" in verdicts:
        return EXIT_FAILED
    return EXIT_OK


def write_reports(scan: ScanResult, json_path: str | Path | None = None, junit_path: str | Path | None = None,
                  html_path: str | Path | None = None) -> list[Path]:
    """Write the requested report files (parent folders created); returns the paths written."""
    from .reports import html_report, json_report, junit

    report = scan.to_report()
    written = []
    for path, render in ((json_path, json_report.render_json), (junit_path, junit.render_junit),
                         (html_path, html_report.render_html)):
        if path:
            target = Path(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            write_private(target, render(report))
            written.append(target)
    return written
