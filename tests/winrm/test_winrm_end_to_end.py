"""Build and scan through the lab's WinRM endpoints with the real ansible.windows collection,
Ansible's winrm connection (NTLM over HTTPS, certificate validation on, vaulted password) and
pywinrm: build -> plan empty -> scan passes -> drift -> scan fails on that host only -> rebuild ->
passes. The canary password never appears in any output, log, journal, report or history."""

from __future__ import annotations

import json
import re

from winrm_helpers import REPO

PLAYBOOK = REPO / "playbooks" / "build_wm.yml"
HOSTS = ["wm1-sono-01", "wm0-lab-01"]
DRIFT_HOST = "wm1-sono-01"
BUILD_EXTRA = ["-e", "mt_preflight_os_override=true", "-e", "mtk_build_batch=100%"]


def recap(output: str) -> dict[str, dict[str, int]]:
    rows = re.findall(r"^(\S+)\s+:\s+(.*)$", output.split("PLAY RECAP", 1)[1], re.MULTILINE)
    return {host: {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", counts)} for host, counts in rows}


def scan(lab, name: str, expect: int) -> dict[str, dict]:
    report = lab.root / f"{name}.json"
    lab.run("lab", "scan", "--limit", ",".join(HOSTS), "--json", str(report), "--html", str(lab.root / f"{name}.html"),
            expect=expect)
    return {h["host"]: h for h in json.loads(report.read_text())["hosts"]}


def journal(lab, host: str) -> list[dict]:
    path = lab.dir / f"{host}.journal.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_build_scan_drift_rebuild_over_winrm(winrm_lab):
    lab = winrm_lab
    built = lab.run("lab", "ansible-playbook", str(PLAYBOOK), "--limit", ",".join(HOSTS), *BUILD_EXTRA)
    counts = recap(built.stdout)
    assert all(counts[h]["failed"] == 0 and counts[h]["unreachable"] == 0 and counts[h]["changed"] > 0 for h in HOSTS)
    for host in HOSTS:  # every module call reached the host through its endpoint, within the budget
        calls = [e for e in journal(lab, host) if e.get("module") != "lab.drift"]
        assert 0 < len(calls) <= 40, len(calls)

    plan = lab.run("lab", "ansible-playbook", str(PLAYBOOK), "--limit", ",".join(HOSTS), "--check", *BUILD_EXTRA)
    assert all(recap(plan.stdout)[h]["changed"] == 0 for h in HOSTS), plan.stdout[-3000:]

    hosts = scan(lab, "built", 0)
    assert {h: r["status"] for h, r in hosts.items()} == {h: "ok" for h in HOSTS}

    lab.run("lab", "drift", DRIFT_HOST, "defender-realtime-off")
    hosts = scan(lab, "drifted", 1)
    failing = {h: [c["id"] for c in r["controls"] if c["status"] == "fail"] for h, r in hosts.items()}
    assert "AV-REALTIME" in failing[DRIFT_HOST] and all(c.startswith("AV-") for c in failing[DRIFT_HOST])
    assert all(not failing[h] for h in HOSTS if h != DRIFT_HOST)

    lab.run("lab", "ansible-playbook", str(PLAYBOOK), "--limit", DRIFT_HOST, *BUILD_EXTRA)
    scan(lab, "rebuilt", 0)
    lab.assert_canary_nowhere()
