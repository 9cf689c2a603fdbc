"""The life-cycle table: per LTSC edition (data/ltsc.yml) and profile, the hosts and their end of
support, how many leave support within 6/12/24 months, and which profiles run out of validated,
supported editions first (MT eKlient goal 3B/3C: maintain the client over the device's life)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from .. import lifecycle
from .state import HostState, add_months

if TYPE_CHECKING:
    from ..profile import Profile

HORIZONS = (6, 12, 24)  # months


def support_window(end: date, as_of: date) -> str:
    if end < as_of:
        return "ended"
    for months in HORIZONS:
        if end <= add_months(as_of, months):
            return f"within {months} months"
    return "later"


def lifecycle_table(states: dict[str, HostState], profiles: dict[str, Profile], as_of: date) -> dict[str, Any]:
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    unknown = []
    for name in sorted(states):
        state = states[name]
        edition = state.edition()
        if edition is None:
            unknown.append(name)
            continue
        key = (edition.id, state.profile_id or "(no profile)")
        row = rows.setdefault(key, {"edition": edition.id, "edition_name": edition.name, "profile": key[1],
                                    "end_of_support": edition.end_of_support.isoformat(),
                                    "days_left": (edition.end_of_support - as_of).days,
                                    "window": support_window(edition.end_of_support, as_of), "hosts": []})
        row["hosts"].append(name)
    editions = []
    for edition in lifecycle.editions().values():
        hosts = [h for (eid, _), row in rows.items() if eid == edition.id for h in row["hosts"]]
        end = edition.end_of_support
        entry = {"edition": edition.id, "name": edition.name, "ga": edition.ga.isoformat(),
                 "mainstream_end": edition.mainstream_end.isoformat(),
                 "extended_end": edition.extended_end.isoformat() if edition.extended_end else None,
                 "end_of_support": end.isoformat(), "hosts": len(hosts), "ended": len(hosts) if end < as_of else 0}
        for months in HORIZONS:
            entry[f"within_{months}_months"] = len(hosts) if as_of <= end <= add_months(as_of, months) else 0
        editions.append(entry)
    profile_rows = []
    for pid, profile in sorted(profiles.items()):
        ends = {e: lifecycle.editions()[e].end_of_support for e in profile.os.editions}
        last = max(ends.values())
        profile_rows.append({"profile": pid, "editions": {e: d.isoformat() for e, d in ends.items()},
                             "supported_until": last.isoformat(), "days_left": (last - as_of).days,
                             "window": support_window(last, as_of),
                             "hosts": sorted(h for h, s in states.items() if s.profile_id == pid)})
    profile_rows.sort(key=lambda r: (r["supported_until"], r["profile"]))
    return {"as_of": as_of.isoformat(), "horizons_months": list(HORIZONS), "editions": editions,
            "rows": sorted(rows.values(), key=lambda r: (r["end_of_support"], r["edition"], r["profile"])),
            "profiles": profile_rows, "hosts_without_edition": unknown}
