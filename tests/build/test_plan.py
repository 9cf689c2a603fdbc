"""`mtk plan`: the change set a build would make, from one read-only collection per host.

In process (fast): on every WM lab host as built, the plan is empty; for every drift kind on every WM
lab host, the plan lists exactly the changes that undo it (and the failing controls the build does
not set). End to end (`mtk lab plan` in a subprocess): one collector call per planned host, none on
refused hosts, the JSON validates against its schema, exit 0/1/3; a build then empties the plan. The
end-to-end part runs over real WinRM on the session's lab (tests/lab_session.py).
"""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from lab_session import BUILT
from mt_eklient.changeset import plan_host
from mt_eklient.collection import collection_request
from mt_eklient.hosts import host_context, resolve_host
from mt_eklient.lab import drift
from mt_eklient.lab.facts import facts_from_state
from mt_eklient.lab.inventory import lab_hosts
from mt_eklient.reports.plan_report import render_text, validate_plan
from test_maintenance_window import INSIDE

# drift kind -> (controls whose changes undo it, failing controls the build does not set itself).
# A host where a control does not apply (its profile allows USB, forbids antivirus) expects neither.
DRIFTS: dict[str, tuple[set[str], set[str]]] = {
    "defender-realtime-off": ({"AV-RT-PREF"}, {"AV-REALTIME"}),
    "av-exclusion-added": ({"AV-EXCL-PATHS"}, set()),
    "firewall-allow-any-outbound": ({"FW-NO-OPEN-OUTBOUND"}, set()),
    "applocker-removed": ({f"WL-{c}-{p}" for c in ("EXE", "MSI", "SCRIPT", "APPX") for p in ("MODE", "RULES")}, set()),
    "local-admin-added": ({"ACC-LOCAL-ADMINS"}, set()),
    "usb-storage-enabled": ({"RM-USBSTOR-OFF"}, set()),
    "hotfix-removed": (set(), {"OS-PATCH-LEVEL", "PATCH-HOTFIX-AGE"}),
    "nameplate-class-changed": ({"NP-CLASS"}, {"CLASS-EVIDENCE"}),
    "smb1-enabled": ({"SMB-V1-FEATURE"}, {"SMB-V1-SERVER"}),
}


def test_every_drift_kind_is_covered():
    assert set(DRIFTS) == set(drift.KINDS) - {"unreachable"}


@pytest.fixture(scope="module")
def planners(built_lab):
    """{host: (plan(state) -> HostPlan, built state, applicable control ids)} for the built WM hosts."""
    today = date.today()
    hostvars = lab_hosts()
    states = built_lab.states()
    out = {}
    for name in BUILT:
        loaded, baseline = resolve_host(name, hostvars[name], today)
        request = collection_request(baseline, [a.model_dump(mode="json") for a in loaded.profile.applications])
        context = host_context(name, hostvars[name])

        def plan(state, loaded=loaded, baseline=baseline, request=request, context=context):
            return plan_host(baseline, loaded, facts_from_state(state, request), today, context)

        applicable = {c.id for c in baseline.controls if c.status == "applicable"} | {"CLASS-EVIDENCE"}
        out[name] = (plan, states[name], applicable)
    return out


def test_built_hosts_plan_nothing(planners):
    for name, (plan, state, _) in planners.items():
        result = plan(state)
        assert (result.changes, result.not_built) == ([], []), name


@pytest.mark.parametrize("kind", sorted(DRIFTS))
def test_drift_plans_exactly_its_undo(planners, kind):
    owned, not_owned = DRIFTS[kind]
    for name, (plan, state, applicable) in planners.items():
        drifted = copy.deepcopy(state)
        if not drift.apply_drift(drifted, kind):
            continue
        result = plan(drifted)
        assert {c["control"] for c in result.changes} == owned & applicable, (name, kind, result.changes)
        assert {c["control"] for c in result.not_built} == not_owned & applicable, (name, kind, result.not_built)
        for change in result.changes:
            assert change["before"] != change["after"], change
        assert result.needs_reboot == (kind == "smb1-enabled" and bool(owned & applicable))


def test_typed_before_and_after(planners):
    plan, state, _ = planners["wm1-sono-01"]
    drifted = copy.deepcopy(state)
    for kind in ("av-exclusion-added", "local-admin-added", "usb-storage-enabled"):
        drift.apply_drift(drifted, kind)
    changes = {c["control"]: c for c in plan(drifted).changes}
    assert changes["AV-EXCL-PATHS"]["removed"] == [drift.DRIFT_EXCLUSION]
    assert changes["AV-EXCL-PATHS"]["added"] == []
    support = next(u["sid"] for u in drifted["local_users"] if u["name"] == drift.DRIFT_ADMIN)
    assert (changes["ACC-LOCAL-ADMINS"]["added"], changes["ACC-LOCAL-ADMINS"]["removed"]) == ([], [support])
    drift.apply_drift(drifted, "firewall-allow-any-outbound")
    rule = next(c for c in plan(drifted).changes if c["control"] == "FW-NO-OPEN-OUTBOUND")
    assert (rule["item"], rule["changed"], rule["before"]["enabled"], rule["after"]["enabled"]) == (
        drift.DRIFT_RULE, ["enabled"], True, False)
    usb = changes["RM-USBSTOR-OFF"]
    assert (usb["kind"], usb["item"], usb["before"], usb["after"]) == (
        "registry_value", "HKLM\\SYSTEM\\CurrentControlSet\\Services\\USBSTOR\\Start", 3, 4)
    assert usb["references"] and usb["area"]


# -- end to end: `mtk lab plan` over WinRM (the session's lab, tests/lab_session.py) ----------------


def _plan(lab, tmp_path: Path, limit: str, name: str) -> tuple[int, dict[str, Any], str]:
    out = tmp_path / f"{name}.json"
    result = lab.run("lab", "plan", "--limit", limit, "--json", str(out), "--html", str(tmp_path / f"{name}.html"),
                     expect=None)
    assert result.returncode in (0, 1, 3), result.stderr[-3000:]
    document = json.loads(out.read_text(encoding="utf-8"))
    assert validate_plan(document) == []
    assert render_text(document) == result.stdout
    return result.returncode, document, result.stdout


def test_lab_plan_after_drift_then_build_empties_it(built_lab, tmp_path):
    lab = built_lab
    hosts = list(BUILT)
    victim = "wm1-sono-01"
    with lab.preserved():
        before = lab.collector_calls()
        code, document, _ = _plan(lab, tmp_path, ",".join(hosts), "built")
        assert code == 0 and document["summary"]["changes"] == 0, document["summary"]
        after = lab.collector_calls()
        assert {h: after[h] - before[h] for h in hosts} == {h: 1 for h in hosts}

        # Every drift kind the build owns, at once: one build undoes all of them. Only the drifted host
        # is planned again: the drifts leave the others as the plan above found them.
        others = {h: lab.state(h) for h in hosts if h != victim}
        owned = sorted(k for k, (controls, _) in DRIFTS.items() if controls)
        for kind in owned:
            lab.run("lab", "drift", victim, kind)
        assert {h: lab.state(h) for h in others} == others, "a drift changed another host"
        code, document, text = _plan(lab, tmp_path, victim, "drifted")
        assert code == 1
        by_host = {h["host"]: h for h in document["hosts"]}
        assert {c["control"] for c in by_host[victim]["changes"]} == set().union(*(DRIFTS[k][0] for k in owned))
        assert by_host[victim]["needs_reboot"] and document["summary"]["needs_reboot"] == [victim]
        assert "RM-USBSTOR-OFF registry_value HKLM\\SYSTEM\\CurrentControlSet\\Services\\USBSTOR\\Start: 3 -> 4" in text

        # Removing SMB1Protocol takes effect at the restart: build inside the maintenance window.
        lab.run("lab", "clock", victim, INSIDE.isoformat())
        lab.build(victim)
        code, document, _ = _plan(lab, tmp_path, victim, "rebuilt")
        assert code == 0 and document["hosts"][0]["changes"] == [], document["hosts"][0]
        lab.run("lab", "scan", "--limit", victim, "--no-history", "-q")
    lab.assert_password_nowhere(files=sorted(tmp_path.iterdir()))


def test_refused_hosts_are_planned_without_a_remote_call(built_lab, tmp_path):
    refused = ["m1-ct-01", "wm1-mismatch-01"]
    before = {h: len(built_lab.journal(h)) for h in refused}
    code, document, text = _plan(built_lab, tmp_path, ",".join(refused), "refused")
    assert code == 3
    assert {h["host"]: h["status"] for h in document["hosts"]} == {h: "refused" for h in refused}
    assert "vendor-managed medical computer" in text
    assert {h: len(built_lab.journal(h)) for h in refused} == before


def test_bad_inventory_is_exit_2(built_lab, tmp_path):
    result = built_lab.run("plan", "-i", str(tmp_path / "missing.yml"), "--json", str(tmp_path / "p.json"), expect=2)
    assert "Traceback" not in result.stderr and not (tmp_path / "p.json").exists()
