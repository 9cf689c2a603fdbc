"""The fleet scan as an Ansible play, for AWX / Automation Platform job templates and ansible-runner
(`playbooks/scan.yml`, role `mt_scan`). The steps around the one remote call are `mtk scan`'s own:

    plan     run once, controller   scan.plan_hosts(): a baseline and a collection request per host,
                                    written to a private work directory (0700)
    collect  every host             ansible.windows.win_powershell runs the read-only collector ONCE
                                    (a plain task: the inventory's WinRM/PSRP, Kerberos, credentials apply)
    report   run once, controller   each host's registered result -> scan.outcome_from_event() ->
                                    scan.host_inputs() -> scanresult.run_evaluation() -> report files,
                                    history, the job's artefacts (set_stats)
    verdict  every host             the host's task is ok (pass), failed (a control failed, or the host
                                    could not be evaluated) or unreachable: the job's result carries
                                    mtk's exit-code semantics

The action plugins under roles/mt_scan/action_plugins only adapt Ansible's variables to `plan()`
and `report()`; nothing here knows Ansible beyond `host_variables()`.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from . import connerrors
from .errors import InputError
from .historydb import is_url, redact_location, url_password
from .scan import (
    COLLECTOR,
    SECRET_VAR,
    Collected,
    PlannedHost,
    Redactor,
    host_inputs,
    outcome_from_event,
    plan_hosts,
    request_file_name,
)
from .scanresult import ScanResult, run_evaluation, write_reports

REPORT_DIR_NAME = "mtk-scan"
REPORT_FILES = {"json": "scan.json", "junit": "scan.junit.xml", "html": "scan.html"}
# ansible-runner (and so AWX) tells its callback where the job's artefacts go through this variable.
RUNNER_ARTIFACTS_ENV = "AWX_ISOLATED_DATA_DIR"
# At most this many failing controls are named in a host's verdict message.
VERDICT_CONTROLS = 5
_PLAN_FILE = "plan.pickle"
# Ansible's own variables (the play's hosts, groups, roles, facts) and this role's variables and
# registered results: no inventory secret is in them, and reading them for every host of a big
# play cost O(hosts^2) (measured: 1,000 hosts, docs/performance.md).
_NOT_INVENTORY = re.compile(r"(groups|group_names|play_hosts|role_names|omit|ansible_(play|role|dependent_role|search|"
                            r"version|facts|collection)\w*|mt_scan_\w+)$")


def host_variables(hostvars: Any, host: str) -> dict[str, Any]:
    """What the scan needs of one host's variables, as plain data: the mt_* variables and every
    secret-looking one templated (vaulted values decrypted, in memory only, for redaction), other
    mappings and lists as written (the redactor looks for secret keys inside them).

    `hostvars` is Ansible's `hostvars` (task_vars["hostvars"]): `raw_get(host)` gives the untemplated
    variables, `hostvars[host][name]` one templated value."""
    raw = hostvars.raw_get(host)
    templated = hostvars[host]
    out: dict[str, Any] = {}
    for name, value in raw.items():
        if _NOT_INVENTORY.match(name):
            continue
        if name.startswith("mt_") or SECRET_VAR.search(name) or name in connerrors.TRANSPORT_VARS:
            try:
                value = templated[name]
            except Exception:  # noqa: BLE001 - an undefined or broken template: keep what is written
                value = raw[name]
        elif not isinstance(value, (dict, list)):
            continue
        out[name] = _plain(value)
    return out


def play_host_variables(task_vars: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """host_variables() of every host of the play, in inventory order (a run_once task's task_vars)."""
    hostvars = task_vars["hostvars"]
    return {name: host_variables(hostvars, name) for name in task_vars.get("ansible_play_hosts_all", [])}


def _plain(value: Any) -> Any:
    """Ansible's wrapped types (unsafe text, vaulted strings) as plain str/dict/list."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return str(value)


def _redactor(hostvars: dict[str, dict[str, Any]], *extra: str | None) -> Redactor:
    redactor = Redactor(s for s in extra if s)
    for variables in hostvars.values():
        redactor.add_hostvars(variables)
    return redactor


def plan(hostvars: dict[str, dict[str, Any]], *, today: date | None = None,
         profiles_dir: str | Path | None = None) -> dict[str, Any]:
    """Resolve every host's baseline and write its collection request; returns what the collect and
    report steps need (the work directory, the collector, the hosts that did not resolve and why)."""
    today = today or date.today()
    redactor = _redactor(hostvars)
    planned = plan_hosts(hostvars, today, profiles_dir=profiles_dir, redactor=redactor)
    work = Path(tempfile.mkdtemp(prefix="mtk-scan-job-"))  # 0700: requests, then the plan itself
    requests = work / "requests"
    requests.mkdir()
    for entry in planned:
        if entry.request is not None:
            (requests / request_file_name(entry.name)).write_text(json.dumps(entry.request), encoding="utf-8")
    # The report step evaluates exactly the baselines whose requests were collected, even if a
    # profile changes during a long scan. The file never leaves this job's private directory.
    with open(work / _PLAN_FILE, "wb") as handle:
        pickle.dump({"planned": planned, "today": today, "started": _now()}, handle)
    unresolved = {p.name: p.error or "no baseline" for p in planned if p.request is None}
    return {"work_dir": str(work), "request_dir": str(requests), "collector": str(COLLECTOR),
            "today": today.isoformat(), "hosts": len(planned), "unresolved": unresolved}


def collection_event(host: str, registered: dict[str, Any] | None) -> dict[str, Any] | None:
    """A registered win_powershell result in the shape of the `mtk scan` callback's host event."""
    if not isinstance(registered, dict):
        return None
    if registered.get("unreachable"):
        status = "unreachable"
    elif registered.get("failed"):
        status = "failed"
    elif registered.get("skipped"):
        status = "skipped"
    else:
        status = "ok"
    return {"event": "host", "host": host, "status": status, "duration": None, "result": registered}


def default_report_dir(environ: dict[str, str] | None = None) -> Path:
    """The runner's artefacts directory (AWX, ansible-runner) + mtk-scan, else reports/scan-<UTC time>."""
    environ = os.environ if environ is None else environ
    artifacts = environ.get(RUNNER_ARTIFACTS_ENV)
    if artifacts:
        return Path(artifacts) / REPORT_DIR_NAME
    return Path("reports") / f"scan-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}"


def report(plan_info: dict[str, Any], hostvars: dict[str, dict[str, Any]],
           collected: dict[str, dict[str, Any] | None], *, timeout: int, warn_days: int = 180,
           report_dir: str | Path | None = None, history: str | Path | None = None, no_history: bool = False,
           scanner: str | None = None, source: dict[str, Any] | None = None) -> dict[str, Any]:
    """Evaluate every planned host from its registered collection result; write the reports and
    the history; remove the plan's work directory (requests and baselines; the facts only ever
    live in memory, as registered results). Returns the job's summary with each
    host's verdict and reason (redacted)."""
    work = Path(plan_info["work_dir"])
    with open(work / _PLAN_FILE, "rb") as handle:
        saved = pickle.load(handle)  # written by plan() of this job, in its 0700 directory
    planned: list[PlannedHost] = saved["planned"]
    location = _history_location(history) if not no_history else None
    redactor = _redactor(hostvars, url_password(location) if location else None)
    outcomes: dict[str, Collected] = {}
    for entry in planned:
        if entry.request is None:
            continue
        event = collection_event(entry.name, collected.get(entry.name))
        outcomes[entry.name] = (outcome_from_event(event, timeout, redactor, entry.transport) if event is not None else
                                Collected(entry.name, "error", reason="the collection task returned no result"))
    result = run_evaluation(host_inputs(planned, outcomes), today=saved["today"], warn_days=warn_days,
                            source=dict(source or {}, kind="ansible"), command="ansible scan", validate=False,
                            started=saved["started"])
    shutil.rmtree(work, ignore_errors=True)

    directory = Path(report_dir) if report_dir else default_report_dir()
    paths = {kind: directory / name for kind, name in REPORT_FILES.items()}
    write_reports(result, paths["json"], paths["junit"], paths["html"])
    summary = _summary(result, paths, redactor)
    summary["history"] = None
    if location is not None:
        summary["history"] = redact_location(location)
        from . import history as history_store

        try:
            summary["history_scan_id"] = history_store.record(result, location, scanner=scanner)
        except InputError as err:
            summary["history_error"] = redactor(str(err.problems[0]))
    return summary


def _history_location(option: str | Path | None) -> str | Path:
    from .history import history_path

    if option:
        return str(option) if is_url(option) else Path(option)
    return history_path(None)


def _summary(result: ScanResult, paths: dict[str, Path], redactor: Redactor) -> dict[str, Any]:
    counts = {"pass": 0, "fail": 0, "error": 0, "unreachable": 0}
    hosts: dict[str, dict[str, Any]] = {}
    for host in result.hosts:
        counts[host.verdict] += 1
        hosts[host.host] = {"verdict": host.verdict, "reason": redactor(_reason(host))}
    return {"exit_code": result.exit_code, "hosts_total": len(result.hosts), "counts": counts,
            "reports": {kind: str(path) for kind, path in paths.items()}, "hosts": hosts}


def _reason(host: Any) -> str:
    if host.verdict in ("unreachable", "error"):
        return str(host.error or host.verdict)
    counts = host.counts()
    if host.verdict == "pass":
        return f"{counts['pass']} controls pass ({counts['waived']} waived, {counts['not_applicable']} not applicable)"
    bad = [c for c in host.controls if c.status in ("fail", "error")]
    order = {"critical": 0, "high": 1, "medium": 2, "low": 3}
    bad.sort(key=lambda c: (order.get(c.severity, 4), c.id))
    named = ", ".join(f"{c.id} ({c.status})" for c in bad[:VERDICT_CONTROLS])
    more = f" and {len(bad) - VERDICT_CONTROLS} more" if len(bad) > VERDICT_CONTROLS else ""
    return f"{len(bad)} control(s) failed or could not be read: {named}{more}"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
