"""Build and scan through the lab's WinRM endpoints with the real ansible.windows collection,
Ansible's winrm connection (NTLM over HTTPS, certificate validation on, vaulted password) and
pywinrm: build -> plan empty -> scan passes -> drift -> scan fails on that host only -> rebuild ->
passes. The build is the session's (tests/lab_session.py: every WM client, over WinRM). The canary
password never appears in any output, log, journal, report or history."""

from __future__ import annotations

import json
from pathlib import Path

from lab_session import BUILT, LabSession, recap

HOSTS = ["wm1-sono-01", "wm0-lab-01"]
DRIFT_HOST = "wm1-sono-01"


def scan(lab: LabSession, root: Path, name: str, expect: int, hosts: list[str] = HOSTS) -> dict[str, dict]:
    report = root / f"{name}.json"
    lab.run("lab", "scan", "--limit", ",".join(hosts), "--json", str(report), "--html", str(root / f"{name}.html"),
            "--history", str(root / "history.sqlite"), expect=expect)
    return {h["host"]: h for h in json.loads(report.read_text())["hosts"]}


def test_build_scan_drift_rebuild_over_winrm(built_lab: LabSession, tmp_path: Path):
    lab = built_lab
    assert set(HOSTS) <= set(BUILT) and lab.first_run is not None
    counts = recap(lab.first_run.stdout)
    assert all(counts[h]["failed"] == 0 and counts[h]["unreachable"] == 0 and counts[h]["changed"] > 0 for h in HOSTS)
    for host in HOSTS:  # every module call reached the host through its endpoint, within the budget
        assert 0 < lab.calls[host] <= 40, lab.calls[host]
        assert all(e["module"].startswith(("ansible.windows.", "community.windows."))
                   for e in lab.journal(host)[:lab.calls[host]])

    with lab.preserved():
        plan = lab.play("--limit", ",".join(HOSTS), "--check", "-e", "mtk_build_batch=100%")
        assert all(recap(plan.stdout)[h]["changed"] == 0 for h in HOSTS), plan.stdout[-3000:]

        hosts = scan(lab, tmp_path, "built", 0)
        assert {h: r["status"] for h, r in hosts.items()} == {h: "ok" for h in HOSTS}

        # Only the drifted host is scanned again: the others are as the scan above found them.
        others = {h: (lab.state(h), lab.journal(h)) for h in HOSTS if h != DRIFT_HOST}
        lab.run("lab", "drift", DRIFT_HOST, "defender-realtime-off")
        hosts = scan(lab, tmp_path, "drifted", 1, [DRIFT_HOST])
        failing = [c["id"] for c in hosts[DRIFT_HOST]["controls"] if c["status"] == "fail"]
        assert "AV-REALTIME" in failing and all(c.startswith("AV-") for c in failing)

        lab.build(DRIFT_HOST)
        scan(lab, tmp_path, "rebuilt", 0, [DRIFT_HOST])
        assert {h: (lab.state(h), lab.journal(h)) for h in others} == others, "the drift or the rebuild touched another host"
    lab.assert_password_nowhere(files=[p for p in tmp_path.rglob("*") if p.is_file()])
