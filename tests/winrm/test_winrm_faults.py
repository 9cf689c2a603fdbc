"""Network faults of a lab host's WinRM endpoint, met by the real winrm connection plugin and
pywinrm: each gives the host-level error, exit code and reason the table in docs/lab.md documents
(what to check, then the library's message; never the password); the other hosts are unaffected. A 1 MB collector result crosses intact
(several Receive chunks), over Ansible and over testinfra's winrm:// backend."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from types import SimpleNamespace

import pytest
from lab_session import CANARY, REPO, LabSession
from mt_eklient.lab import faults

BIG_HOST = "wm0-pacs-01"
OTHER_HOST = "wm0-lab-01"

# host -> fault kind: one scan meets every fault at once
FAULTS = {"w0-std-01": "winrm-refused", "wm0-lab-01": "winrm-bad-password", "wm1-sono-01": "winrm-cert-mismatch",
          "wm2-anest-01": "winrm-reset", "wm1-mismatch-01": "winrm-soap-fault",
          "m1-ct-01": "unreachable"}  # the lab's lock-out: the listener goes away


def documented() -> dict[str, tuple[str, int, str]]:
    """kind -> (host status, exit code, reason prefix): the table of docs/lab.md#network-faults, the
    one source of what each fault must give."""
    section = (REPO / "docs" / "lab.md").read_text(encoding="utf-8").split("\n## Network faults\n", 1)[1]
    rows = {}
    for line in section.split("\n## ", 1)[0].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0].startswith("`"):
            kind = cells[0].split("`")[1].split()[0]
            rows[kind] = (cells[2].split(",")[0], int(cells[3]), cells[4].strip("`"))
    return rows


DOCUMENTED = documented()


def assert_documented(kind: str, host: dict, password: str) -> None:
    status, _, prefix = DOCUMENTED[kind]
    reason = host["error"]
    assert host["status"] == status and reason.startswith(prefix), (kind, host["status"], reason)
    assert ". Check " in reason and ". Error: " in reason, reason  # what to check, then the library's words
    assert password not in reason


def test_every_fault_kind_is_documented():
    assert set(DOCUMENTED) == {*faults.KINDS, faults.UNREACHABLE} and set(FAULTS.values()) <= set(DOCUMENTED)


@pytest.fixture(scope="module")
def lab(lab_session: LabSession):
    """The session's lab (tests/lab_session.py), put back as it was after this module."""
    with lab_session.preserved():
        yield lab_session


def scan(lab: LabSession, limit: str, expect: int, *extra: str) -> dict[str, dict]:
    report = lab.root / "faults-report.json"
    lab.run("lab", "scan", "--limit", limit, "--json", str(report), "--no-history", *extra, expect=expect)
    return {h["host"]: h for h in json.loads(report.read_text())["hosts"]}


def test_each_fault_is_one_host_error_naming_what_to_check(lab):
    for host, kind in FAULTS.items():
        lab.run("lab", "drift", host, kind)
    report = lab.root / "faults-report.json"
    result = lab.run("lab", "scan", "--limit", "all", "--json", str(report), "--no-history", expect=None)
    assert result.returncode == max(DOCUMENTED[kind][1] for kind in FAULTS.values())
    hosts = {h["host"]: h for h in json.loads(report.read_text())["hosts"]}
    for host, kind in FAULTS.items():
        assert_documented(kind, hosts[host], CANARY)
    assert hosts[BIG_HOST]["status"] == "ok"  # the others are still collected and evaluated

    lab.run("lab", "reset", *FAULTS)
    hosts = scan(lab, ",".join(FAULTS), 1)  # fresh hosts: controls fail, but every host was collected
    assert {h: r["status"] for h, r in hosts.items()} == {h: "ok" for h in FAULTS}
    lab.assert_password_nowhere()


def test_slow_receive_runs_into_the_task_timeout(lab):
    host = "w0-std-01"
    lab.run("lab", "drift", host, faults.SLOW, "--delay", "40")
    hosts = scan(lab, host, DOCUMENTED[faults.SLOW][1], "--timeout", "12")
    assert_documented(faults.SLOW, hosts[host], CANARY)
    assert hosts[host]["error"].endswith("Error: no result within 12s (task timeout)"), hosts[host]["error"]
    lab.run("lab", "reset", host)


def test_drift_delay_applies_to_slow_only(lab):
    result = lab.run("lab", "drift", OTHER_HOST, "winrm-refused", "--delay", "3", expect=2)
    assert "--delay applies to winrm-slow only" in result.stderr


def big_policy(rules: int = 3500) -> str:
    """An AppLocker policy of a hash-rule-heavy site: ~1.1 MB of XML."""
    body = "".join(
        f'<FilePathRule Id="{{{i:08d}-0000-4000-8000-000000000000}}" Name="Imaging plug-in {i:05d}" '
        f'Description="Radiant DICOM viewer plug-in {i:05d}, approved by MT engineering" UserOrGroupSid="S-1-1-0" '
        f'Action="Allow"><Conditions><FilePathCondition Path="%PROGRAMFILES%\\Radiant\\Plugins\\{i:05d}\\*"/>'
        f"</Conditions></FilePathRule>" for i in range(rules))
    others = "".join(f'<RuleCollection Type="{kind}" EnforcementMode="NotConfigured" />'
                     for kind in ("Appx", "Dll", "Msi", "Script"))
    return (f'<AppLockerPolicy Version="1">{others}<RuleCollection Type="Exe" EnforcementMode="AuditOnly">{body}'
            "</RuleCollection></AppLockerPolicy>")


def test_a_megabyte_collector_result_crosses_intact(lab):
    from mt_eklient.testinfra_plugin import collect_winrm

    policy = big_policy()
    assert len(policy) > 1_000_000
    code = ("import sys; from mt_eklient.lab import store\n"
            f"with store.transaction({BIG_HOST!r}) as txn: txn.state['applocker']['policy_xml'] = sys.stdin.read()")
    subprocess.run([sys.executable, "-c", code], input=policy, text=True, check=True,
                   env=dict(os.environ, MTK_LAB_DIR=str(lab.dir)))

    endpoint = lab.endpoint(BIG_HOST)
    backend = SimpleNamespace(conn_args={
        "endpoint": f"https://{endpoint['address']}:{endpoint['port']}/wsman", "transport": "ntlm",
        "username": "svc-mtk", "password": CANARY, "ca_trust_path": str(lab.dir / "winrm" / "ca.pem")})
    raw = collect_winrm(SimpleNamespace(backend=backend), {})
    assert len(raw["output"][0]) > 1_000_000
    facts = json.loads(raw["output"][0])
    assert facts["applocker"]["policy_xml"] == policy
    assert facts["applocker"]["collections"]["Exe"]["rule_count"] == 3500

    # and through Ansible's winrm plugin: the scan validates and evaluates the whole document
    assert scan(lab, BIG_HOST, 1)[BIG_HOST]["status"] == "ok"


def test_testinfra_winrm_url_runs_the_controls_against_the_endpoint(lab, tmp_path):
    """The documented `pytest --hosts winrm://USER:PASSWORD@HOST:PORT` path (testinfra's own backend)."""
    lab.run("lab", "reset", OTHER_HOST)  # a fresh host: some controls fail, some pass
    endpoint = lab.endpoint(OTHER_HOST)
    junit = tmp_path / "junit.xml"
    env = dict(lab.env, REQUESTS_CA_BUNDLE=str(lab.dir / "winrm" / "ca.pem"))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--pyargs", "mt_eklient.testinfra_checks",
         f"--hosts=winrm://svc-mtk:{CANARY}@{endpoint['address']}:{endpoint['port']}",
         "--profile", "profiles/labflow-report-2.yml", "--mt-site", "region-vastland", "--mt-class", "WM0",
         f"--junitxml={junit}"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]  # a fresh host fails controls
    cases = list(ET.parse(junit).getroot().iter("testcase"))
    passed = [c for c in cases if not list(c)]
    failures = [f.get("message", "") for c in cases for f in c.iter("failure")]
    assert passed and failures and not any("unreachable" in m or "connection" in m for m in failures), failures[:3]
    journal = (lab.dir / f"{OTHER_HOST}.journal.jsonl").read_text().splitlines()
    assert sum(1 for line in journal if "# mtk-collector" in line) >= 1
