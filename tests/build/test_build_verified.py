"""The build carries out the change set and ends verified (playbooks/build_wm.yml in the lab).

- A build of a compliant host makes exactly two remote calls (collect, verify), changes nothing and
  writes a passing report: tests/build/test_lab_build.py checks it on the second run of every WM host.
- `--check --diff` shows the change set of `mtk plan`: the appliers' diffs are the plan's items.
- A drift the build does not own fails the build at verification, naming the control; a nameplate the
  failed run wrote is taken back. Every build writes the host's scan report (JSON, HTML).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import mt_eklient
from mt_eklient.buildplan import NAMEPLATE_KEY

HOST = "wm1-sono-01"
REPORT_SCHEMA = json.loads((Path(mt_eklient.__file__).parent / "schemas" / "report.schema.json").read_text())


def _build(lab, reports: Path, *extra: str, expect: int | None = 0, env: dict[str, str] | None = None):
    return lab.play("--limit", HOST, "-e", f"mtk_build_report_dir={reports}", *extra, expect=expect, env=env)


def _drift(lab, *kinds: str) -> None:
    for kind in kinds:
        lab.run("lab", "drift", HOST, kind)


def _report(reports: Path) -> dict[str, Any]:
    assert (reports / f"{HOST}.html").is_file()
    report = json.loads((reports / f"{HOST}.json").read_text())
    jsonschema.validate(report, REPORT_SCHEMA)
    (host,) = report["hosts"]
    return host


def test_drift_not_owned_fails_at_verification_naming_the_control(built_lab, tmp_path):
    lab, reports = built_lab, tmp_path / "reports"
    with lab.preserved():
        _drift(lab, "hotfix-removed", "smb1-enabled")
        result = _build(lab, reports, "-e", "mtk_build_reboot=false", expect=None)
        assert result.returncode != 0
        assert f"VERIFICATION FAILED {HOST}" in result.stdout
        assert "PATCH-HOTFIX-AGE fail (not set by the build)" in result.stdout
        # SMBv1 off needs a reboot that did not happen: the failure says so.
        assert "a reboot is pending" in " ".join(result.stdout.split())
        assert _report(reports)["verdict"] == "fail"
        # This run wrote no nameplate (it was current): the one from the last good build stays.
        assert lab.facts(HOST)["nameplate"]["profile_id"] == "sonora-review-4"


def test_failed_verification_takes_back_the_nameplate_it_wrote(built_lab, tmp_path):
    lab = built_lab
    with lab.preserved():
        _drift(lab, "hotfix-removed", "nameplate-class-changed")
        result = _build(lab, tmp_path / "reports", expect=None)
        assert result.returncode != 0 and f"VERIFICATION FAILED {HOST}" in result.stdout
        assert "Take back the nameplate" in result.stdout
        assert not lab.facts(HOST)["nameplate"]


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


def test_check_diff_shows_the_plans_change_set(built_lab, tmp_path):
    lab = built_lab
    with lab.preserved():
        _drift(lab, "av-exclusion-added", "usb-storage-enabled", "local-admin-added", "smb1-enabled",
               "firewall-allow-any-outbound", "applocker-removed", "defender-realtime-off", "nameplate-class-changed")
        plan_file = tmp_path / "plan.json"
        lab.run("lab", "plan", "--limit", HOST, "--json", str(plan_file), expect=1)
        planned = {c["item"] for c in json.loads(plan_file.read_text())["hosts"][0]["changes"]}
        before = lab.state(HOST)
        result = _build(lab, tmp_path / "reports", "--check", "--diff",
                        env={**lab.env, "ANSIBLE_STDOUT_CALLBACK": "json"})
        observed = _observed_changes(json.loads(result.stdout))
        assert planned <= observed, planned - observed
        # Beyond the plan only the nameplate, which is rewritten whole (built_at, versions) when a value differs.
        assert all(item.startswith(NAMEPLATE_KEY + "\\") for item in observed - planned), observed - planned
        assert lab.state(HOST) == before
