"""Trends from the scans: pass rate per area and per profile over time, regressions since each
host's previous evaluation, and the mean time from a regression to its fix.

Pass rate: passing and waived controls over the controls judged (pass, waived, fail, error); not
applicable ones do not count. Each point is the fleet as known after that scan. A regression is a control that went from pass/waived/not applicable
to fail/error between two evaluations of the same host; it is fixed at the first evaluation that
has it good again."""

from __future__ import annotations

from collections import defaultdict
from statistics import mean
from typing import Any

from .sources import Scan
from .state import BAD, GOOD, evaluated_history

JUDGED = frozenset({"pass", "waived", "fail", "error"})
PASSING = frozenset({"pass", "waived"})


def _rate(counts: tuple[int, int]) -> float | None:
    passing, judged = counts
    return round(100 * passing / judged, 1) if judged else None


def pass_rates(scans: list[Scan]) -> dict[str, Any]:
    """Per scan: pass rate per area and per profile of the fleet as known after that scan (each
    host's latest evaluation so far), so a scan of part of the fleet (--limit) or an unreachable
    host does not make the fleet look better or worse than it is."""
    points = []
    known: dict[str, dict[str, Any]] = {}
    for scan in scans:
        known.update({name: host for name, host in scan.hosts.items() if host.get("status") == "ok"})
        by_area: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        by_profile: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        overall = [0, 0]
        for host in known.values():
            profile = (host.get("profile") or {}).get("id") or "(no profile)"
            for control in host["controls"]:
                if control["status"] not in JUDGED:
                    continue
                good = int(control["status"] in PASSING)
                for bucket in (by_area[control["area"]], by_profile[profile], overall):
                    bucket[0] += good
                    bucket[1] += 1
        points.append({"scan": scan.label, "started": scan.started.isoformat(),
                       "evaluated_on": scan.evaluated_on.isoformat(), "hosts": len(known),
                       "overall": _rate((overall[0], overall[1])),
                       "by_area": {k: _rate((v[0], v[1])) for k, v in sorted(by_area.items())},
                       "by_profile": {k: _rate((v[0], v[1])) for k, v in sorted(by_profile.items())}})
    return {"points": points}


def regressions(scans: list[Scan]) -> dict[str, Any]:
    hosts = sorted({h for s in scans for h in s.hosts})
    latest: list[dict[str, Any]] = []
    durations: list[float] = []
    still_open: list[dict[str, Any]] = []
    for host in hosts:
        runs = evaluated_history(scans, host)
        opened: dict[str, Scan] = {}
        for index, (scan, statuses) in enumerate(runs):
            if index == 0:
                continue
            before = runs[index - 1][1]
            for control, status in statuses.items():
                old = before.get(control)
                if old in GOOD and status in BAD:
                    opened[control] = scan
                    if index == len(runs) - 1:
                        latest.append({"host": host, "control": control, "before": old, "after": status,
                                       "since": runs[index - 1][0].label, "scan": scan.label})
                elif status in GOOD and control in opened:
                    durations.append((scan.started - opened.pop(control).started).total_seconds() / 3600)
        for control, scan in opened.items():
            still_open.append({"host": host, "control": control, "since": scan.started.isoformat()})
    return {"since_previous": latest, "fixed": len(durations), "open": still_open,
            "mean_hours_to_fix": round(mean(durations), 2) if durations else None}
