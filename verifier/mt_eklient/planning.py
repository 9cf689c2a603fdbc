"""`mtk plan`: what a build would change on each host, read-only, one remote call per host.

    inventory -> baseline per host (the scan's resolver) -> the build's preflight refusals (no
    remote call: M computers, class mismatch, drafts, unsafe plans) -> ONE collector run per
    remaining host (the scan's request and playbook, scan.collect) -> evaluate -> change set
    (changeset.plan_host) per host.

Nothing here writes to a host: the only remote call is the read-only collector.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from . import __version__, connerrors
from .changeset import CHANGESET_VERSION, HostPlan, plan_host, refusal
from .collection import collection_request
from .errors import InputError
from .hosts import HostResolver
from .plaindata import plain
from .scan import (
    AnsibleOptions,
    Collected,
    Redactor,
    collect,
    progress_printer,
    read_inventory,
)
from .scanlimits import DEFAULT_FORKS, DEFAULT_TIMEOUT

EXIT_NOTHING, EXIT_CHANGES, EXIT_HOST = 0, 1, 3


@dataclass
class _Entry:
    name: str
    loaded: Any = None
    baseline: Any = None
    context: Any = None
    request: dict[str, Any] | None = None
    plan: HostPlan | None = None
    connected_as: str | None = None  # ansible_user: the build must not remove it from Administrators
    transport: str | None = None  # how Ansible reaches it, for failure reasons (connerrors.transport)


def _resolve(hosts: dict[str, dict[str, Any]], today: date, profiles_dir: str | Path | None,
             redactor: Redactor) -> list[_Entry]:
    resolver = HostResolver(today, profiles_dir)
    entries = []
    for name, hostvars in hosts.items():
        entry = _Entry(name, transport=connerrors.transport(hostvars))
        declared = hostvars.get("mt_class")
        try:
            entry.loaded, entry.baseline = resolver(name, hostvars)
            entry.context = resolver.context(name, hostvars)
            user = hostvars.get("ansible_user")
            entry.connected_as = str(user) if user and "{{" not in str(user) else None
            why = refusal(entry.baseline, entry.loaded, entry.context)
            if why:
                entry.plan = HostPlan(name, status="refused", error=redactor(why), declared_class=entry.baseline.declared_class)
            else:
                apps = plain(entry.loaded.profile.applications)
                entry.request = collection_request(entry.baseline, apps)
        except InputError as err:
            entry.plan = HostPlan(name, status="error", error=redactor("; ".join(str(p) for p in err.problems)),
                                  declared_class=str(declared) if declared is not None else None)
        entries.append(entry)
    return entries


def _planned(entry: _Entry, outcome: Collected, today: date) -> HostPlan:
    if outcome.status != "ok" or not isinstance(outcome.facts, dict):
        return HostPlan(entry.name, status="unreachable" if outcome.status == "unreachable" else "error",
                        error=outcome.reason or "no facts", declared_class=entry.baseline.declared_class)
    try:
        return plan_host(entry.baseline, entry.loaded, outcome.facts, today, entry.context,
                         connected_as=entry.connected_as)
    except Exception as err:  # noqa: BLE001 - one hostile facts document is one host error
        return HostPlan(entry.name, status="error", error=f"cannot plan from the facts: {type(err).__name__}: {err}",
                        declared_class=entry.baseline.declared_class)


def plan(options: AnsibleOptions, *, today: date | None = None, forks: int = DEFAULT_FORKS,
         timeout: int = DEFAULT_TIMEOUT, profiles_dir: str | Path | None = None, progress: bool = True,
         ansible_env: dict[str, str] | None = None, command: str = "plan") -> dict[str, Any]:
    """The plan document (schemas/plan.schema.json) for every host of the inventory."""
    started = _now()
    today = today or date.today()
    if ansible_env:
        options.env = {**(options.env or {}), **ansible_env}
    redactor = Redactor([options.vault_password] if options.vault_password else [])
    entries = _resolve(read_inventory(options, redactor), today, profiles_dir, redactor)
    emit = progress_printer(len(entries)) if progress else (lambda *a: None)
    by_name = {e.name: e for e in entries if e.request is not None}
    for entry in entries:
        if entry.plan is not None:
            emit(entry.name, entry.plan.status, None, entry.plan.error)

    def arrived(outcome: Collected) -> None:
        entry = by_name[outcome.host]
        entry.plan = _planned(entry, outcome, today)
        emit(outcome.host, entry.plan.status, outcome.duration, entry.plan.error)

    collect({n: e.request for n, e in by_name.items() if e.request}, options, forks=forks, timeout=timeout,
            redactor=redactor, on_outcome=arrived, transports={n: e.transport for n, e in by_name.items()})
    hosts = [redactor.deep(e.plan.to_dict()) for e in entries if e.plan is not None]
    return document(hosts, source={"inventory": list(options.inventory), "limit": options.limit},
                    command=command, started=started)


def document(hosts: list[dict[str, Any]], *, source: dict[str, Any], command: str, started: str) -> dict[str, Any]:
    summary = {
        "hosts": len(hosts),
        "with_changes": sum(1 for h in hosts if h["changes"]),
        "changes": sum(len(h["changes"]) for h in hosts),
        "not_built": sum(len(h["not_built"]) for h in hosts),
        "needs_reboot": sorted(h["host"] for h in hosts if h["needs_reboot"]),
        "refused": sorted(h["host"] for h in hosts if h["status"] == "refused"),
        "unreachable": sorted(h["host"] for h in hosts if h["status"] == "unreachable"),
        "errors": sorted(h["host"] for h in hosts if h["status"] == "error"),
    }
    summary["exit_code"] = exit_code(summary)
    return {"plan_version": CHANGESET_VERSION, "toolkit_version": __version__, "command": command,
            "started": started, "finished": _now(), "source": source, "summary": summary, "hosts": hosts}


def exit_code(summary: dict[str, Any]) -> int:
    """3 a host could not be planned (refused, unreachable, error), 1 changes planned, 0 nothing to change."""
    if summary["refused"] or summary["unreachable"] or summary["errors"]:
        return EXIT_HOST
    return EXIT_CHANGES if summary["changes"] else EXIT_NOTHING


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
