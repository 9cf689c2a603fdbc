"""Per host, what the scans say as of the report date: its latest entry, its latest evaluated
entry (an unreachable host keeps its last known findings), since when it is unreachable, its
LTSC edition and patch age."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from .. import lifecycle
from .sources import Scan

GOOD = frozenset({"pass", "waived", "not_applicable"})
BAD = frozenset({"fail", "error"})


@dataclass
class HostState:
    host: str
    latest: dict[str, Any]  # the host's entry in the newest scan that has it
    latest_scan: Scan
    evaluated: dict[str, Any] | None  # newest entry with status ok
    evaluated_scan: Scan | None
    down_since: Scan | None  # first scan of the current run of unreachable/error, None when reachable

    @property
    def reachable(self) -> bool:
        return self.latest.get("status") == "ok"

    @property
    def profile_id(self) -> str | None:
        for entry in (self.latest, self.evaluated or {}):
            if entry.get("profile") and entry["profile"].get("id"):
                return str(entry["profile"]["id"])
        return None

    @property
    def declared_class(self) -> str | None:
        return self.latest.get("declared_class") or (self.evaluated or {}).get("declared_class")

    def control(self, control_id: str) -> dict[str, Any] | None:
        if not self.evaluated:
            return None
        return next((c for c in self.evaluated["controls"] if c["id"] == control_id), None)

    def edition(self) -> lifecycle.Edition | None:
        """From the OS-EDITION evidence, else the system summary of the last evaluated scan."""
        if not self.evaluated:
            return None
        known = lifecycle.editions()
        for control in self.evaluated["controls"]:
            if control.get("area") == "os" and isinstance(control.get("actual"), str) and control["actual"] in known:
                return known[control["actual"]]
        system = self.evaluated.get("system") or {}
        if system.get("edition_id") and isinstance(system.get("build"), int):
            return lifecycle.identify(str(system["edition_id"]), system["build"])
        return None


def host_states(scans: list[Scan]) -> dict[str, HostState]:
    states: dict[str, HostState] = {}
    for scan in scans:  # oldest first
        for name, entry in scan.hosts.items():
            state = states.get(name)
            ok = entry.get("status") == "ok"
            if state is None:
                state = states[name] = HostState(name, entry, scan, None, None, None)
            state.latest, state.latest_scan = entry, scan
            if ok:
                state.evaluated, state.evaluated_scan, state.down_since = entry, scan, None
            elif state.down_since is None:
                state.down_since = scan
    return states


def evaluated_history(scans: list[Scan], host: str) -> list[tuple[Scan, dict[str, str]]]:
    """(scan, {control id: status}) of every scan that evaluated the host, oldest first."""
    out = []
    for scan in scans:
        entry = scan.hosts.get(host)
        if entry and entry.get("status") == "ok":
            out.append((scan, {c["id"]: c["status"] for c in entry["controls"]}))
    return out


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)
