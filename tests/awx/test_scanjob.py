"""mt_eklient.scanjob without Ansible: how a registered collect result becomes a host outcome, where
reports go, and the verdict messages the job shows."""

from __future__ import annotations

from pathlib import Path

from mt_eklient import connerrors, scanjob
from mt_eklient.evaluate import ControlResult, HostResult

REPO = Path(__file__).resolve().parents[2]


def test_registered_results_become_the_scan_callbacks_events():
    assert scanjob.collection_event("h", None) is None
    assert scanjob.collection_event("h", {"unreachable": True, "msg": "x"})["status"] == "unreachable"
    assert scanjob.collection_event("h", {"failed": True, "msg": "x"})["status"] == "failed"
    assert scanjob.collection_event("h", {"skipped": True})["status"] == "skipped"
    event = scanjob.collection_event("h", {"output": ["{}"], "changed": False})
    assert event == {"event": "host", "host": "h", "status": "ok", "duration": None,
                     "result": {"output": ["{}"], "changed": False}}


def test_reports_go_to_the_runners_artefacts_else_a_timestamped_folder():
    assert scanjob.default_report_dir({"AWX_ISOLATED_DATA_DIR": "/runner/artifacts/42"}) == \
        Path("/runner/artifacts/42/mtk-scan")
    local = scanjob.default_report_dir({})
    assert local.parent == Path("reports") and local.name.startswith("scan-")


def control(cid: str, status: str, severity: str) -> ControlResult:
    return ControlResult(id=cid, title=cid, area="x", severity=severity, method="registry", status=status,
                         compare="equals")


def test_verdict_reason_names_the_most_severe_failures_first():
    host = HostResult(host="h", status="ok", controls=[
        control("LOW-1", "fail", "low"), control("CRIT-1", "error", "critical"), control("OK-1", "pass", "high"),
        *[control(f"MED-{i}", "fail", "medium") for i in range(5)]])
    reason = scanjob._reason(host)
    assert reason.startswith("7 control(s) failed or could not be read: CRIT-1 (error), MED-0 (fail)")
    assert reason.endswith("and 2 more") and "LOW-1" not in reason
    assert scanjob._reason(HostResult(host="h", status="unreachable", error="authentication failed: x")) == \
        "authentication failed: x"


class FakeHostVars:
    """Ansible's hostvars: raw_get() untemplated, [host][name] templated (here: upper-cased)."""

    def __init__(self, raw):
        self.raw = raw

    def raw_get(self, host):
        return self.raw[host]

    def __getitem__(self, host):
        raw = self.raw[host]

        class Templated:
            def __getitem__(self, name):
                if raw[name] == "{{ undefined }}":
                    raise KeyError(name)
                return str(raw[name]).upper() if isinstance(raw[name], str) else raw[name]
        return Templated()


def test_host_variables_keep_what_the_scan_needs_templated():
    hostvars = FakeHostVars({"h": {"mt_profile": "sonora", "ansible_password": "{{ vault_pw }}",
                                   "mt_zones": {"mgmt": ["10.0.0.0/24"]}, "winrm": {"password": "x1y2"},
                                   "ansible_host": "10.1.1.1", "other": "{{ undefined }}",
                                   "mt_broken": "{{ undefined }}", "groups": {"all": ["h"]},
                                   "ansible_play_hosts_all": ["h"], "mt_scan_collected": {"output": ["{}"]}}})
    assert scanjob.host_variables(hostvars, "h") == {
        "mt_profile": "SONORA", "ansible_password": "{{ VAULT_PW }}", "mt_zones": {"mgmt": ["10.0.0.0/24"]},
        "winrm": {"password": "x1y2"}, "mt_broken": "{{ undefined }}"}


def test_the_scan_job_keeps_the_connection_variables_its_reasons_name():
    hostvars = FakeHostVars({"h": {"mt_profile": "sonora", "ansible_connection": "winrm", "ansible_port": 5986,
                                   "ansible_winrm_transport": "kerberos", "ansible_host": "10.1.1.1"}})
    kept = scanjob.host_variables(hostvars, "h")
    assert connerrors.transport(kept) == "winrm kerberos over https"
    assert "ansible_host" not in kept


def test_report_redacts_a_connection_secret_echoed_in_the_facts(tmp_path):
    """Plan and report without Ansible: a host whose facts contain its own WinRM password (the scan's
    own redaction, shared through scan.outcome_from_event, covers the playbook too)."""
    import json

    import yaml

    secret = "CANARY-echo-1b2c3d4e"
    hostvars = {"wm1-sono-01": {**yaml.safe_load((REPO / "inventories/lab/host_vars/wm1-sono-01.yml").read_text()),
                                "mt_site": "region-vastland", "ansible_password": secret}}
    planned = scanjob.plan(hostvars, profiles_dir=REPO / "profiles")
    facts = json.loads((REPO / "tests/data/facts/wm1-sample.json").read_text())
    facts["host"]["computer_name"] = f"WM1-{secret}"  # named in the report's notes
    registered = {"output": [json.dumps(facts)], "changed": False}
    summary = scanjob.report(planned, hostvars, {"wm1-sono-01": registered}, timeout=60,
                             report_dir=tmp_path / "r", no_history=True)
    assert summary["hosts"]["wm1-sono-01"]["verdict"] in ("pass", "fail")
    for path in (tmp_path / "r").iterdir():
        assert secret not in path.read_text(encoding="utf-8"), path.name
    assert not Path(planned["work_dir"]).exists()
