"""One scan: evaluate any number of hosts, turn the results into reports and an exit code.

The entry points every verifying command shares (`mtk verify` offline, `mtk scan` over Ansible,
the lab): the caller only collects. A fleet scan streams: each host is evaluated as its facts
arrive and handed to every report at once (reports.stream), so memory does not grow with the fleet:

    reports = open_reports(scan_header(today=..., source=...), json_path=..., history_path=...)
    for item in host_inputs:            # HostInput: a baseline plus the facts, or why there are none
        reports.add(evaluate_host(item, today))
    return reports.finish(now())        # the exit code

For a few hosts (`mtk verify`, tests) `run_evaluation(inputs, ...)` returns a `ScanResult` holding
every host, and `write_reports` / `emit` write it the same way.
"""

from __future__ import annotations

import sqlite3
import sys
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

from . import __version__
from .baseline import Baseline
from .errors import InputError
from .evaluate import HostResult, evaluate, failed_host
from .reports.stream import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    Output,
    ScanReports,
    Tally,
    Writer,
)

REPORT_VERSION = 2  # 2: catalog text once per report (schemas/report.schema.json)
__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_UNREACHABLE", "EXIT_USAGE", "HostInput", "ScanResult", "exit_code",
           "open_reports", "run_evaluation", "scan_header", "write_reports"]


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


def now() -> str:
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
    started = started or now()
    today = today or date.today()
    hosts = [evaluate_host(item, today, warn_days, validate) for item in host_inputs]
    versions = sorted({i.baseline.catalog_version for i in host_inputs if i.baseline is not None})
    return ScanResult(
        hosts=hosts, started=started, finished=now(), today=today.isoformat(), warn_days=warn_days,
        catalog_version=", ".join(versions) if versions else None, source=dict(source or {}), command=command,
    )


def exit_code(scan: ScanResult) -> int:
    """See reports.stream.Tally.exit_code."""
    tally = Tally()
    for host in scan.hosts:
        tally.count(host.verdict, host.counts())
    return tally.exit_code


def scan_header(*, today: date, warn_days: int, source: dict[str, Any] | None, command: str,
                started: str | None = None) -> dict[str, Any]:
    """What a scan's reports say about it before any host is evaluated."""
    return {"tool_version": __version__, "command": command, "started": started or now(),
            "evaluated_on": today.isoformat(), "warn_days": warn_days, "source": dict(source or {})}


class _History:
    """The history as a report writer that never fails the scan: a history that cannot be written is
    one warning, and the scan's reports and exit code stand."""

    def __init__(self, path: str | Path, meta: dict[str, Any], stderr: IO[str]):
        from . import history
        from .reports.json_report import scan_meta

        self.stderr = stderr
        self.recorder = None
        self._guard(lambda: setattr(self, "recorder", history.ScanRecorder(path, scan_meta(meta))))

    def _guard(self, action: Any) -> None:
        try:
            action()
        except (InputError, sqlite3.Error, OSError) as err:
            problem = err.problems[0] if isinstance(err, InputError) else err
            print(f"mtk: scan not stored in the history: {problem}", file=self.stderr)
            self.close()

    def add(self, host: dict[str, Any]) -> None:
        if self.recorder:
            self._guard(lambda: self.recorder.add(host))  # type: ignore[union-attr]

    def finish(self, meta: dict[str, Any], summary: dict[str, Any]) -> None:
        if self.recorder:
            self._guard(lambda: self.recorder.finish(meta, summary))  # type: ignore[union-attr]

    def close(self) -> None:
        if self.recorder:
            recorder, self.recorder = self.recorder, None
            recorder.close()


def open_reports(meta: dict[str, Any], *, json_path: str | Path | None = None, junit_path: str | Path | None = None,
                 html_path: str | Path | None = None, console: IO[str] | None = None,
                 history_path: str | Path | None = None, stderr: IO[str] | None = None) -> ScanReports:
    """Every requested output of one scan. `json_path` "-" writes the JSON report to stdout (the
    console summary then belongs on stderr). Reports are written whole when the scan finishes."""
    writers: list[Writer] = []  # each format imported only when asked for
    if console is not None:
        from .reports.console import ConsoleWriter, use_colour
        writers.append(ConsoleWriter(console, use_colour(console)))
    if json_path:
        from .reports.json_report import JsonWriter
        writers.append(JsonWriter(Output(sys.stdout if str(json_path) == "-" else json_path)))
    if junit_path:
        from .reports.junit import JunitWriter
        writers.append(JunitWriter(Output(junit_path), meta["started"]))
    if html_path:
        from .reports.html_report import HtmlWriter
        writers.append(HtmlWriter(Output(html_path)))
    if history_path:
        writers.append(_History(history_path, meta, stderr or sys.stderr))
    return ScanReports(meta, writers)


def _header_of(scan: ScanResult) -> dict[str, Any]:
    return {"tool_version": scan.tool_version, "command": scan.command, "started": scan.started,
            "evaluated_on": scan.today, "warn_days": scan.warn_days, "source": scan.source}


def write_reports(scan: ScanResult, json_path: str | Path | None = None, junit_path: str | Path | None = None,
                  html_path: str | Path | None = None, **outputs: Any) -> int:
    """Write the requested outputs of a scan held in memory (see open_reports); returns its exit code."""
    reports = open_reports(_header_of(scan), json_path=json_path, junit_path=junit_path, html_path=html_path,
                           **outputs)
    with reports:
        for host in scan.hosts:
            reports.add(host)
        return reports.finish(scan.finished)
