"""The playbooks as AWX runs them: `ansible-runner run` (the PyPI package AWX's execution nodes use)
with a private data directory, against the simulated lab over real WinRM (`mtk lab env` ->
env/envvars; the session's lab of tests/lab_session.py, one WM client reset to a fresh install).

build_wm.yml through the runner (a run that targets the M computer is refused before any change,
then the real build of the fresh WM client; the session lab built the others the same way), then
playbooks/scan.yml through the runner -> the runner's status and rc, its job events (per-host
verdicts, the collector's facts kept out of them, the AWX artefacts in the stats event), the
report files in the job's artefacts directory, the shared PostgreSQL history, and the lab journal
(one collector call per host). The inventory's vaulted canary password never reaches any artefact.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lab_session import BUILT, LabSession

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# Not built: the W client and the mismatched host fail their controls; the M computer is only verified.
NOT_BUILT = {"w0-std-01": "fail", "wm1-mismatch-01": "fail", "m1-ct-01": "pass"}
# The WM client this module builds through the runner: a build costs Ansible the same per host, so one
# fresh host shows the runner's build as well as four (the other WM clients stay as the session built them).
FRESH = "wm2-anest-01"


def tool(name: str) -> str:
    beside = BIN / name
    return str(beside) if beside.is_file() else name


class RunnerLab:
    """The session's lab over WinRM (tests/lab_session.py), FRESH back to a fresh install for this
    module's build, with this module's runner directories and history."""

    def __init__(self, session: LabSession, root: Path, history: str):
        self.session = session
        self.root = root
        self.state = session.dir
        self.inventory = session.inventory  # its vaulted ansible_password is the canary
        self.history = history
        self.env = dict(session.env, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
        self.mtk("lab", "reset", FRESH)
        self.envvars = json.loads(self.mtk("lab", "env", "--json").stdout)  # what a site puts into env/envvars

    def mtk(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([tool("mtk"), *args], env=self.env, capture_output=True, text=True, check=False,
                                cwd=self.root, timeout=300)
        assert result.returncode in (0, 1), f"mtk {' '.join(args)}: {result.returncode}\n{result.stderr[-3000:]}"
        return result

    def run(self, ident: str, playbook: str, extravars: dict[str, Any] | None = None,
            limit: str | None = None) -> Job:
        """`ansible-runner run` in a fresh private data directory; returns the job's artefacts."""
        private = self.root / f"runner-{ident}"
        (private / "env").mkdir(parents=True)
        envvars = {**self.envvars, "MTK_HISTORY": self.history}
        (private / "env" / "envvars").write_text(json.dumps(envvars), encoding="utf-8")
        (private / "env" / "extravars").write_text(json.dumps(extravars or {}), encoding="utf-8")
        command = [tool("ansible-runner"), "run", str(private), "-p", playbook, "--project-dir", str(REPO),
                   "--inventory", str(self.inventory), "--ident", ident]
        if limit:
            command += ["--limit", limit]
        result = subprocess.run(command, env=self.env, capture_output=True, text=True, check=False, timeout=600)
        return Job(private / "artifacts" / ident, result)

    def collector_calls(self) -> dict[str, int]:
        calls = {}
        for journal in self.state.glob("*.journal.jsonl"):
            entries = [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines() if line.strip()]
            calls[journal.name.split(".")[0]] = sum(
                1 for e in entries if e.get("module") == "ansible.windows.win_powershell"
                and str((e.get("args") or {}).get("script", "")).startswith("# mtk-collector"))
        return calls


class Job:
    def __init__(self, artifacts: Path, process: subprocess.CompletedProcess[str]):
        self.artifacts = artifacts
        self.process = process
        self.status = (artifacts / "status").read_text().strip()
        self.rc = int((artifacts / "rc").read_text().strip())
        self.events = [json.loads(p.read_text(encoding="utf-8"))
                       for p in sorted((artifacts / "job_events").glob("*.json"),
                                       key=lambda p: int(p.name.split("-", 1)[0]))]

    def host_events(self, task: str) -> dict[str, str]:
        """host -> runner event name of the task whose name starts with `task`."""
        return {e["event_data"]["host"]: e["event"] for e in self.events
                if e["event"].startswith("runner_on_") and e["event"] != "runner_on_start"
                and str(e["event_data"].get("task", "")).startswith(task)}

    def stats(self) -> dict[str, Any]:
        [event] = [e for e in self.events if e["event"] == "playbook_on_stats"]
        return event["event_data"]

    def report(self) -> dict[str, Any]:
        return json.loads((self.artifacts / "mtk-scan" / "scan.json").read_text(encoding="utf-8"))

    def explain(self) -> str:
        return f"status {self.status} rc {self.rc}\n{self.process.stdout[-6000:]}\n{self.process.stderr[-2000:]}"


@pytest.fixture(scope="module")
def lab(built_lab: LabSession, tmp_path_factory, postgres_cluster) -> Iterator[RunnerLab]:
    with built_lab.preserved():
        yield RunnerLab(built_lab, tmp_path_factory.mktemp("runner"), postgres_cluster.new_database())


@pytest.fixture(scope="module")
def build(lab: RunnerLab) -> tuple[Job, Job]:
    """(a build that targets the M computer too: refused before anything changes, the real build)"""
    extravars = {"mt_preflight_os_override": True, "mtk_build_batch": "100%"}
    refused = lab.run("build-refused", "playbooks/build_wm.yml", extravars, limit=",".join([*BUILT, "m1-ct-01"]))
    built = lab.run("build", "playbooks/build_wm.yml", extravars, limit=FRESH)
    return refused, built


@pytest.fixture(scope="module")
def scan(lab: RunnerLab, build) -> tuple[Job, dict[str, int]]:
    before = lab.collector_calls()
    job = lab.run("scan-1", "playbooks/scan.yml")
    after = lab.collector_calls()
    return job, {host: after[host] - before.get(host, 0) for host in after}


def test_build_through_the_runner(lab: RunnerLab, build):
    refused, built = build
    # The M computer is refused in the preflight play; any_errors_fatal stops every host before a change.
    assert (refused.status, refused.rc) == ("failed", 2), refused.explain()
    [event] = [e for e in refused.events if e["event"] == "runner_on_failed"]
    assert event["event_data"]["host"] == "m1-ct-01" and "REFUSED" in event["event_data"]["res"]["msg"]
    assert refused.stats()["changed"] == {}
    assert (built.status, built.rc) == ("successful", 0), built.explain()
    assert set(built.stats()["changed"]) == {FRESH}
    # The job's events carry the change set as data (the preflight's result), and the plan fact only
    # what the roles read.
    [preflight] = [e["event_data"]["res"] for e in built.events if e["event"] == "runner_on_ok"
                   and str(e["event_data"].get("task", "")).startswith("Check the OS, complete the plan")]
    assert preflight["changes"] and all({"control", "before", "after"} <= set(c) for c in preflight["changes"])
    assert "changes" not in preflight["ansible_facts"]["mt_build"] and "apply" in preflight["ansible_facts"]["mt_build"]
    assert lab.session.journal("m1-ct-01") == [], "the M computer was contacted"  # since the session's lab up


def test_scan_job_status_follows_the_verdicts(scan):
    job, _ = scan
    # Hosts with failing controls fail the job, as `mtk scan` exits 1: ansible-playbook's rc 2.
    assert (job.status, job.rc) == ("failed", 2), job.explain()
    expected = {**{h: "pass" for h in BUILT}, **NOT_BUILT}
    outcome = {"pass": "runner_on_ok", "fail": "runner_on_failed"}
    assert job.host_events("Verdict") == {h: outcome[v] for h, v in expected.items()}
    stats = job.stats()
    assert set(stats["failures"]) == {h for h, v in expected.items() if v == "fail"}
    assert stats["dark"] == {}


def test_scan_job_writes_the_reports_and_the_awx_artefacts(scan):
    job, _ = scan
    report = job.report()
    verdicts = {h["host"]: h["verdict"] for h in report["hosts"]}
    assert verdicts == {**{h: "pass" for h in BUILT}, **NOT_BUILT}
    assert report["summary"]["exit_code"] == 1 and report["scan"]["command"] == "ansible scan"
    assert (job.artifacts / "mtk-scan" / "scan.junit.xml").stat().st_size > 0
    assert (job.artifacts / "mtk-scan" / "scan.html").stat().st_size > 0
    artefacts = job.stats()["artifact_data"]["mt_scan"]  # what AWX keeps as the job's artefacts
    assert artefacts["exit_code"] == 1
    assert artefacts["counts"] == {"pass": 5, "fail": 2, "error": 0, "unreachable": 0}
    assert artefacts["reports"]["json"] == str(job.artifacts / "mtk-scan" / "scan.json")


def test_scan_job_collects_once_per_host_and_keeps_facts_out_of_events(scan):
    job, calls = scan
    assert calls == {h: 1 for h in [*BUILT, *NOT_BUILT]}
    collect = [e for e in job.events if e["event"].startswith("runner_on_")
               and str(e["event_data"].get("task", "")).startswith("Collect")]
    assert {e["event_data"]["host"] for e in collect if e["event"] == "runner_on_ok"} == set(BUILT) | set(NOT_BUILT)
    text = json.dumps(job.events)
    assert '"schema_version"' not in text and "registry" not in text, "facts reached the job events"


def test_scan_job_stores_into_the_shared_postgresql_history(lab: RunnerLab, scan):
    job, _ = scan
    assert job.report()["summary"]["exit_code"] == 1
    drift = json.loads(lab.mtk("drift", "--json", "--history", lab.history).stdout)
    assert {d["host"] for d in drift} == set(BUILT) | set(NOT_BUILT)
    assert all(d["latest_scan"]["command"] == "ansible scan" for d in drift)


def test_scan_job_judges_exactly_as_mtk_scan(lab: RunnerLab, scan):
    """The playbook shares mtk scan's code: the same lab state gives the same result, control by control."""
    job, _ = scan
    direct = lab.root / "direct.json"
    lab.mtk("lab", "scan", "--json", str(direct), "--no-history", "--quiet")

    def judged(report: dict[str, Any]) -> dict[str, Any]:
        return {h["host"]: (h["status"], h["verdict"], {c["id"]: (c["status"], c["expected"], c["actual"], c["message"])
                                                       for c in h["controls"]}) for h in report["hosts"]}

    assert judged(job.report()) == judged(json.loads(direct.read_text(encoding="utf-8")))


def test_unreachable_host_stays_unreachable(lab: RunnerLab, scan):
    victim = "wm0-lab-01"
    lab.mtk("lab", "drift", victim, "unreachable")
    try:
        job = lab.run("scan-unreachable", "playbooks/scan.yml", limit=",".join(BUILT))
    finally:
        lab.mtk("lab", "reset", victim)
    # ansible-playbook's rc 4 (unreachable) wins over failures, as mtk's exit 3 does.
    assert (job.status, job.rc) == ("failed", 4), job.explain()
    verdicts = job.host_events("Verdict")
    assert verdicts[victim] == "runner_on_unreachable"
    assert all(verdicts[h] == "runner_on_ok" for h in BUILT if h != victim)
    assert set(job.stats()["dark"]) == {victim}
    [event] = [e for e in job.events if e["event"] == "runner_on_unreachable"
               and e["event_data"]["task"].startswith("Verdict")]
    # the reason, redacted: step and transport first
    assert re.match(r"unreachable: connect \(winrm [^)]+\): connection refused\. ", event["event_data"]["res"]["msg"])
    hosts = {h["host"]: h for h in job.report()["hosts"]}
    assert hosts[victim]["status"] == "unreachable"
    drift = {d["host"]: d for d in json.loads(lab.mtk("drift", "--json", "--host", victim,
                                                      "--history", lab.history).stdout)}
    assert (drift[victim]["status_before"], drift[victim]["status_after"]) == ("ok", "unreachable")


def test_no_secret_in_any_artefact(lab: RunnerLab, scan, build):
    assert scan and build
    lab.session.assert_password_nowhere(files=[p for p in lab.root.rglob("*") if p.is_file()])
