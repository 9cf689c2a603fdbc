"""End to end in the simulated lab over real WinRM (the session's lab, tests/lab_session.py):

the WM clients as built (playbooks/build_wm.yml) -> `mtk lab scan` passes (exit 0) ->
each drift kind makes its control fail on that host only (exit 1) -> an unreachable host gives exit 3
with the others still evaluated -> the host back as built -> pass (a fresh host rebuilt is the session
build, which test_built_wm_clients_pass scans). Every scan calls the collector exactly once per host
(lab journal); the canary ansible_password never reaches any output, report or history.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from lab_session import BUILT, LabSession

DRIFT_HOST = "wm1-sono-01"

# drift kind -> (a control that must fail, prefixes every failing control of that host must have)
DRIFTS: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "defender-realtime-off": ("AV-REALTIME", ("AV-",)),
    "av-exclusion-added": ("AV-EXCL-PATHS", ("AV-",)),
    "firewall-allow-any-outbound": (None, ("FW-",)),  # any firewall control
    "applocker-removed": ("WL-EXE-MODE", ("WL-",)),
    "local-admin-added": ("ACC-LOCAL-ADMINS", ("ACC-",)),
    "usb-storage-enabled": ("RM-USBSTOR-OFF", ("RM-",)),
    "hotfix-removed": (None, ("PATCH-", "OS-")),  # patch age and/or patch level
    "nameplate-class-changed": ("NP-CLASS", ("NP-", "CLASS-")),
    "smb1-enabled": ("SMB-V1-FEATURE", ("SMB-",)),
}


def scan(lab: LabSession, root: Path, *args: str, expect: int | None, hosts: tuple[str, ...] = BUILT,
         name: str = "scan") -> dict[str, dict]:
    """`mtk lab scan` of `hosts`; checks one collector call per host; returns the JSON report's hosts."""
    before = lab.collector_calls()
    out = root / "reports" / name
    lab.run("lab", "scan", "--limit", ",".join(hosts), "--forks", "4", "--history", str(root / "history.sqlite"),
            "--json", str(out / "report.json"), "--junit", str(out / "report.xml"),
            "--html", str(out / "report.html"), *args, expect=expect)
    after = lab.collector_calls()
    assert {h: after[h] - before.get(h, 0) for h in hosts} == {h: 1 for h in hosts}, "one collector call per host"
    assert all(after[h] == before.get(h, 0) for h in after if h not in hosts), "other hosts not contacted"
    return {h["host"]: h for h in json.loads((out / "report.json").read_text(encoding="utf-8"))["hosts"]}


def failing(host: dict[str, Any]) -> set[str]:
    return {c["id"] for c in host["controls"] if c["status"] in ("fail", "error")}


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    """This module's reports and history."""
    return tmp_path_factory.mktemp("lab-scan")


@pytest.fixture(scope="module")
def built_scan(built_lab: LabSession, root: Path) -> tuple[int, dict[str, dict]]:
    """The first scan after the build: (exit code, report hosts)."""
    hosts = scan(built_lab, root, expect=None, name="built")
    code = json.loads((root / "reports" / "built" / "report.json").read_text())["summary"]["exit_code"]
    return code, hosts


def test_built_wm_clients_pass(root: Path, built_scan):
    code, hosts = built_scan
    assert sorted(hosts) == sorted(BUILT)
    assert {name: sorted(failing(host)) for name, host in hosts.items()} == {name: [] for name in BUILT}
    assert code == 0
    for suffix in ("json", "xml", "html"):
        assert (root / "reports" / "built" / f"report.{suffix}").stat().st_size > 0


@pytest.mark.parametrize("kind", list(DRIFTS))
def test_drift_fails_its_control_on_that_host_only(built_lab: LabSession, root: Path, built_scan, kind: str):
    """Compared with the scan right after the build: the drift adds failures on its host only."""
    control, prefixes = DRIFTS[kind]
    _, built = built_scan
    others = [h for h in BUILT if h != DRIFT_HOST]
    with built_lab.preserved():
        before = built_lab.snapshot()
        built_lab.run("lab", "drift", DRIFT_HOST, kind)
        assert {h: built_lab.state(h) for h in others} == {h: built_lab.states(before)[h] for h in others}, \
            "the drift changed another host"
        hosts = scan(built_lab, root, expect=1, name=f"drift-{kind}", hosts=(DRIFT_HOST,))  # the others are as built
    new = failing(hosts[DRIFT_HOST]) - failing(built[DRIFT_HOST])
    assert new, f"{kind}: no control failed on {DRIFT_HOST} because of the drift"
    if control:
        assert control in new, (kind, sorted(new))
    assert all(c.startswith(prefixes) for c in new), (kind, sorted(new))


def test_unreachable_host_exit_3_then_back_as_built_passes(built_lab: LabSession, root: Path, built_scan):
    victim = "wm0-lab-01"
    _, built = built_scan
    with built_lab.preserved():
        built_lab.run("lab", "drift", victim, "unreachable")
        before = built_lab.collector_calls()
        result = built_lab.run("lab", "scan", "--limit", ",".join(BUILT), "--json", str(root / "unreachable.json"),
                               "--history", str(root / "history.sqlite"), expect=3)
        hosts = {h["host"]: h for h in json.loads((root / "unreachable.json").read_text())["hosts"]}
        assert hosts[victim]["status"] == "unreachable" and hosts[victim]["error"], hosts[victim]
        assert f"{victim} unreachable" in result.stderr
        for name in BUILT:
            if name != victim:  # still evaluated, exactly as after the build
                assert hosts[name]["status"] == "ok" and failing(hosts[name]) == failing(built[name]), name
        after = built_lab.collector_calls()
        assert all(after[h] - before[h] == 1 for h in BUILT if h != victim)

        built_lab.restore_host(victim)
        hosts = scan(built_lab, root, expect=None, name="back")
    assert hosts[victim]["status"] == "ok"
    assert {name: sorted(failing(host)) for name, host in hosts.items()} == {name: [] for name in BUILT}


def test_canary_password_never_shown(built_lab: LabSession, root: Path, built_scan):
    assert built_scan
    built_lab.assert_password_nowhere(files=[p for p in root.rglob("*") if p.is_file()])
