"""The testinfra plugin (mt_eklient.testinfra_checks) against the simulated lab over real WinRM (the
session's lab, tests/lab_session.py, two hosts back to a fresh install) with ansible:// hosts, in a
pytest subprocess: one test per control, waived/not applicable skipped with the reason, failures
with expected and actual values, and the collector run once per host whatever the number of tests."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from lab_session import LabSession
from scan_helpers import REPO

HOSTS = ["wm1-sono-01", "wm0-lab-01"]


@pytest.fixture(scope="module")
def lab(lab_session: LabSession) -> Iterator[LabSession]:
    with lab_session.preserved():
        lab_session.run("lab", "reset", *HOSTS)  # fresh installs: some controls fail, some pass
        yield lab_session


@pytest.fixture(scope="module")
def lab_env(lab: LabSession) -> dict[str, str]:
    import json

    env = {**lab.env, **json.loads(lab.run("lab", "env", "--json").stdout)}  # inventory, vault password file
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])  # testinfra runs `ansible`
    return env


def collector_calls(lab_dir: str) -> dict[str, int]:
    import json
    out = {}
    for path in Path(lab_dir).glob("*.journal.jsonl"):
        entries = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        out[path.name.split(".journal")[0]] = sum(
            1 for e in entries if str((e.get("args") or {}).get("script", "")).startswith("# mtk-collector"))
    return out


def test_one_pytest_test_per_control_and_one_collection_per_host(lab, lab_env, tmp_path):
    junit = tmp_path / "junit.xml"
    before = collector_calls(lab_env["MTK_LAB_DIR"])
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs", "--pyargs", "mt_eklient.testinfra_checks",
         "--hosts=" + ",".join(f"ansible://{h}" for h in HOSTS),
         f"--ansible-inventory={lab.inventory}", f"--junitxml={junit}"],
        cwd=tmp_path, env=lab_env, capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]  # unbuilt hosts fail controls
    lab.assert_password_nowhere(result.stdout, result.stderr, files=[junit])

    after = collector_calls(lab_env["MTK_LAB_DIR"])
    assert {h: after.get(h, 0) - before.get(h, 0) for h in after} == {h: int(h in HOSTS) for h in after}

    cases = ET.parse(junit).getroot().iter("testcase")
    by_id: dict[str, dict[str, ET.Element]] = {}
    for case in cases:
        inner = case.get("name").split("[", 1)[1].rstrip("]")
        assert inner.startswith("ansible://"), inner  # test_control[ansible://HOST-CONTROL_ID]
        host = next(h for h in HOSTS if inner.startswith(f"ansible://{h}-"))
        control = inner[len(f"ansible://{host}-"):]
        by_id.setdefault(host, {})[control] = case
    from datetime import date

    import yaml
    from mt_eklient.hosts import resolve_host
    baselines = {}
    for host in HOSTS:
        hostvars = {**yaml.safe_load((REPO / "inventories" / "lab" / "group_vars" / "lab.yml").read_text()),
                    **yaml.safe_load((REPO / "inventories" / "lab" / "host_vars" / f"{host}.yml").read_text())}
        _, baselines[host] = resolve_host(host, hostvars, date.today())
        assert {c.id for c in baselines[host].controls} <= set(by_id[host]), host

    sono = by_id["wm1-sono-01"]
    waivers = [c.id for c in baselines["wm1-sono-01"].controls if c.status == "waived"]
    assert waivers, "sonora-review-4 has a waiver"
    for control in waivers:
        skip = sono[control].find("skipped")
        assert skip is not None and skip.get("message", "").startswith("waived: "), ET.tostring(sono[control])
    skipped = [c.find("skipped").get("message", "") for c in sono.values() if c.find("skipped") is not None]
    assert any("not applicable" in m for m in skipped)
    failed = [c for c in sono.values() if c.find("failure") is not None]
    assert failed
    for case in failed:
        failure = case.find("failure")
        text = (failure.get("message") or "") + (failure.text or "")
        assert "expected (" in text and "actual: " in text, text
    passed = [c for c in sono.values() if not list(c)]
    assert passed, "some controls pass even on a fresh install"


def test_without_profile_or_inventory_variables_one_test_explains(tmp_path, lab_env):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all:\n  hosts:\n    wm1-sono-01: {ansible_connection: local}\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--pyargs", "mt_eklient.testinfra_checks",
         "--hosts=ansible://wm1-sono-01", f"--ansible-inventory={inventory}"],
        cwd=tmp_path, env=lab_env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1
    assert "no --profile and no mt_profile inventory variable" in result.stdout
