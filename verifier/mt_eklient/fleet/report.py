"""The fleet report: ranked hosts, fleet-wide measures, life cycle, trends and the class x area
heat map, as one JSON-ready dict that the console, CSV and HTML renderers share."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..catalog import load_catalog
from ..errors import InputError
from ..hosts import DEFAULT_PROFILES_DIR
from ..reports.json_report import scrub
from .exposure import EXPOSURE_FILE, ExposureModel, load_exposure
from .lifecycle_table import lifecycle_table
from .scoring import HostScore, score_host
from .sources import Scan
from .state import host_states
from .trends import JUDGED, PASSING, pass_rates, regressions

if TYPE_CHECKING:
    from ..profile import Profile

FLEET_REPORT_VERSION = 1


def load_profiles(ids: set[str], profiles_dir: Path | None) -> tuple[dict[str, Profile], list[str]]:
    """The profiles the hosts name; a missing or invalid one is a note (that host is scored on
    assumptions), not an error: one bad profile must not hide the fleet."""
    from ..profile import load_profile

    directory = profiles_dir or DEFAULT_PROFILES_DIR
    found, notes = {}, []
    for pid in sorted(ids):
        path = directory / f"{pid}.yml"
        if not path.is_file():
            notes.append(f"profile {pid!r} not found in {directory}: its hosts are scored on the assumed properties")
            continue
        try:
            found[pid] = load_profile(path).profile
        except InputError as err:
            notes.append(f"profile {pid!r} is invalid ({err.problems[0]}): its hosts are scored on the assumed "
                         "properties")
    return found, notes


def _fleet_measures(scores: list[HostScore]) -> list[dict[str, Any]]:
    """Per measure and profile: on how many hosts, and how many points it removes in all."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for score in scores:
        for measure in score.measures():
            key = (measure["key"], score.profile or "(no profile)")
            entry = groups.setdefault(key, {"measure": measure["text"], "key": measure["key"], "profile": key[1],
                                            "hosts": [], "points": 0})
            entry["hosts"].append(score.host)
            entry["points"] += measure["points"]
    return sorted(groups.values(), key=lambda m: (-m["points"], m["key"], m["profile"]))


def heatmap(states: dict[str, Any]) -> dict[str, Any]:
    """Class x area pass rate from each host's latest evaluation."""
    cells: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for state in states.values():
        if not state.evaluated:
            continue
        label = state.declared_class or "unknown"
        for control in state.evaluated["controls"]:
            if control["status"] in JUDGED:
                cell = cells[label][control["area"]]
                cell[0] += int(control["status"] in PASSING)
                cell[1] += 1
    classes = sorted(cells)
    areas = sorted({a for row in cells.values() for a in row})
    return {"classes": classes, "areas": areas,
            "rates": [[round(100 * cells[c][a][0] / cells[c][a][1], 1) if cells[c][a][1] else None for a in areas]
                      for c in classes]}


def build_fleet_report(scans: list[Scan], as_of: date, profiles_dir: Path | None = None,
                       model: ExposureModel | None = None, sources: list[str] | None = None) -> dict[str, Any]:
    model = model or load_exposure()
    catalog = load_catalog()
    states = host_states(scans)
    profiles, notes = load_profiles({s.profile_id for s in states.values() if s.profile_id}, profiles_dir)
    scores = [score_host(state, profiles.get(state.profile_id or ""), model, catalog, as_of)
              for state in states.values()]
    scores.sort(key=lambda s: (-s.score, s.host))
    ranked = []
    for rank, score in enumerate(scores, 1):
        entry = score.to_dict()
        entry["rank"] = rank
        ranked.append(entry)
    # Host errors and messages were scrubbed when the scan was reported; a report file from
    # elsewhere may not have been, so mask password=...-style fragments once more.
    return scrub({
        "fleet_report_version": FLEET_REPORT_VERSION,
        "generated": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tool_version": __version__,
        "as_of": as_of.isoformat(),
        "sources": sources or [],
        "scans": [{"scan": s.label, "started": s.started.isoformat(), "evaluated_on": s.evaluated_on.isoformat(),
                   "hosts": len(s.hosts)} for s in scans],
        # JSON keys are text: the group numbers of the model become "0", "1", "2" here as in --json.
        "exposure_model": json.loads(json.dumps({"file": EXPOSURE_FILE, **model.model_dump(mode="json")})),
        "notes": notes,
        "hosts": ranked,
        "measures": _fleet_measures(scores),
        "lifecycle": lifecycle_table(states, profiles, as_of),
        "trends": {**pass_rates(scans), "regressions": regressions(scans)},
        "heatmap": heatmap(states),
    })
