"""Helpers shared by the tests/fleet modules."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
PROFILES = REPO / "profiles"
SAMPLE_FACTS = REPO / "tests" / "data" / "facts" / "wm1-sample.json"


def host_entry(report: dict[str, Any], name: str = "wm1-sono-01") -> dict[str, Any]:
    return next(h for h in report["hosts"] if h["host"] == name)


def all_pass(host: dict[str, Any]) -> dict[str, Any]:
    """The host with every failing or unreadable control passing (a clean, freshly built peer)."""
    host = copy.deepcopy(host)
    for control in host["controls"]:
        if control["status"] in ("fail", "error"):
            control["status"], control["message"] = "pass", None
    host["verdict"] = "pass"
    host["summary"] = {s: sum(1 for c in host["controls"] if c["status"] == s)
                       for s in ("pass", "fail", "error", "waived", "not_applicable")}
    return host


def renamed(host: dict[str, Any], name: str, profile_id: str | None = None) -> dict[str, Any]:
    host = copy.deepcopy(host)
    host["host"] = name
    if profile_id:
        host["profile"]["id"] = profile_id
    return host


def set_status(host: dict[str, Any], control_id: str, status: str) -> dict[str, Any]:
    control = next(c for c in host["controls"] if c["id"] == control_id)
    control["status"] = status
    return host


def unreachable(host: dict[str, Any], reason: str = "connection refused") -> dict[str, Any]:
    host = copy.deepcopy(host)
    host.update(status="unreachable", verdict="unreachable", error=reason, controls=[], class_evidence=[],
                system={}, summary={s: 0 for s in ("pass", "fail", "error", "waived", "not_applicable")})
    return host


def write_scan(path: Path, report: dict[str, Any], hosts: list[dict[str, Any]], day: str,
               time: str = "10:00:00") -> Path:
    """The report with these hosts, as scanned on `day`."""
    report = copy.deepcopy(report)
    report["hosts"] = hosts
    report["scan"].update(started=f"{day}T{time}Z", finished=f"{day}T{time}Z", evaluated_on=day)
    report["summary"]["hosts"] = len(hosts)
    path.write_text(json.dumps(report), encoding="utf-8")
    return path


def by_host(fleet: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {h["host"]: h for h in fleet["hosts"]}


def reason_texts(host: dict[str, Any]) -> list[str]:
    return [r["text"] for r in host["reasons"]]


def set_normen(profiles_dir: Path, profile_id: str, normen: dict[str, Any] | None,
               new_id: str | None = None, **changes: Any) -> str:
    data = yaml.safe_load((PROFILES / f"{profile_id}.yml").read_text(encoding="utf-8"))
    if normen is not None:
        data["normen"] = normen
    data.update(changes)
    pid = new_id or profile_id
    data["id"] = pid
    (profiles_dir / f"{pid}.yml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return pid
