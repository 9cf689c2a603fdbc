"""The build carries out the change set and ends verified (playbooks/build_wm.yml in the lab).

- A build of a compliant host makes exactly two remote calls (collect, verify) and changes nothing.
- `--check --diff` shows the change set of `mtk plan`: the appliers' diffs are the plan's items.
- A drift the build does not own fails the build at verification, naming the control; a nameplate the
  failed run wrote is taken back. Every build writes the host's scan report (JSON, HTML).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import mt_eklient
import pytest
from mt_eklient.buildplan import NAMEPLATE_KEY

REPO = Path(__file__).resolve().parents[2]
PLAYBOOK = "playbooks/build_wm.yml"
HOST = "wm1-sono-01"
REPORT_SCHEMA = json.loads((Path(mt_eklient.__file__).parent / "schemas" / "report.schema.json").read_text())


def _mtk(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    beside = Path(sys.executable).parent / "mtk"
    cmd = [str(beside)] if beside.is_file() else [sys.executable, "-m", "mt_eklient.cli"]
    return subprocess.run([*cmd, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture
def lab(built_lab, tmp_path) -> dict[str, Any]:
    env = {**os.environ, "MTK_LAB_DIR": str(built_lab.copy_to(tmp_path / "state")), "MTK_LAB_LATENCY": "0",
           "MTK_LAB_TRANSPORT": "inprocess", "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"}
    env.pop("MTK_LAB_INVENTORY", None)
    return {"env": env, "reports": tmp_path / "reports", "state": Path(env["MTK_LAB_DIR"])}


def _journal(lab: dict[str, Any]) -> list[dict[str, Any]]:
    path = lab["state"] / f"{HOST}.journal.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _build(lab: dict[str, Any], *extra: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return _mtk(env or lab["env"], "lab", "ansible-playbook", PLAYBOOK, "--limit", HOST,
                "-e", "mt_preflight_os_override=true", "-e", f"mtk_build_report_dir={lab['reports']}", *extra)


def _drift(lab: dict[str, Any], *kinds: str) -> None:
    for kind in kinds:
        assert _mtk(lab["env"], "lab", "drift", HOST, kind).returncode == 0


def _report(lab: dict[str, Any]) -> dict[str, Any]:
    assert (lab["reports"] / f"{HOST}.html").is_file()
    report = json.loads((lab["reports"] / f"{HOST}.json").read_text())
    jsonschema.validate(report, REPORT_SCHEMA)
    (host,) = report["hosts"]
    return host


def _is_collector(entry: dict[str, Any]) -> bool:
    return str((entry.get("args") or {}).get("script", "")).startswith("# mtk-collector")


def test_compliant_host_two_remote_calls_no_change(lab):
    before = len(_journal(lab))
    result = _build(lab)
    assert result.returncode == 0, result.stdout[-4000:]
    calls = _journal(lab)[before:]
    assert len(calls) == 2 and all(_is_collector(c) for c in calls), [c.get("module") for c in calls]
    assert "changed=0" in result.stdout.split("PLAY RECAP")[-1]
    assert _report(lab)["verdict"] == "pass"


def test_drift_not_owned_fails_at_verification_naming_the_control(lab):
    _drift(lab, "hotfix-removed")
    result = _build(lab)
    assert result.returncode != 0
    assert f"VERIFICATION FAILED {HOST}" in result.stdout
    assert "PATCH-HOTFIX-AGE fail (not set by the build)" in result.stdout
    host = _report(lab)
    assert host["verdict"] == "fail"
    # This run wrote no nameplate (it was current): the one from the last good build stays.
    facts = json.loads(_mtk(lab["env"], "lab", "facts", HOST).stdout)
    assert facts["nameplate"]["profile_id"] == "sonora-review-4"


def test_failed_verification_takes_back_the_nameplate_it_wrote(lab):
    _drift(lab, "hotfix-removed", "nameplate-class-changed")
    result = _build(lab)
    assert result.returncode != 0 and f"VERIFICATION FAILED {HOST}" in result.stdout
    assert "Take back the nameplate" in result.stdout
    facts = json.loads(_mtk(lab["env"], "lab", "facts", HOST).stdout)
    assert not facts["nameplate"], facts["nameplate"]


def _observed_changes(document: dict[str, Any]) -> set[str]:
    """What the check run says it would change: the appliers' diff items, the loop items of the
    upstream modules (each names the change-set items it carries) and the optional features."""
    seen: set[str] = set()
    for play in document["plays"]:
        for task in play["tasks"]:
            result = task["hosts"].get(HOST) or {}
            for one in result.get("results") or [result]:
                if not one.get("changed"):
                    continue
                diff = one.get("diff")
                if isinstance(diff, dict) and isinstance(diff.get("after"), dict):
                    seen |= set(diff["after"])
                elif isinstance(one.get("item"), dict) and "items" in one["item"]:
                    seen |= set(one["item"]["items"])
                elif one.get("action") == "ansible.windows.win_optional_feature":
                    seen |= set(one["invocation"]["module_args"]["name"])
                else:
                    raise AssertionError(f"{task['task']['name']}: a change that names no item of the plan")
    return seen


def test_check_diff_shows_the_plans_change_set(lab, tmp_path):
    _drift(lab, "av-exclusion-added", "usb-storage-enabled", "local-admin-added", "smb1-enabled",
           "firewall-allow-any-outbound", "applocker-removed", "defender-realtime-off", "nameplate-class-changed")
    plan_file = tmp_path / "plan.json"
    assert _mtk(lab["env"], "lab", "plan", "--limit", HOST, "--json", str(plan_file)).returncode == 1
    planned = {c["item"] for c in json.loads(plan_file.read_text())["hosts"][0]["changes"]}
    before = (lab["state"] / f"{HOST}.json").read_text()
    result = _build(lab, "--check", "--diff", env={**lab["env"], "ANSIBLE_STDOUT_CALLBACK": "json"})
    assert result.returncode == 0, result.stdout[-3000:]
    observed = _observed_changes(json.loads(result.stdout))
    assert planned <= observed, planned - observed
    # Beyond the plan only the nameplate, which is rewritten whole (built_at, versions) when a value differs.
    assert all(item.startswith(NAMEPLATE_KEY + "\\") for item in observed - planned), observed - planned
    assert (lab["state"] / f"{HOST}.json").read_text() == before
