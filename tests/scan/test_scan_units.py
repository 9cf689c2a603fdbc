"""Fast unit tests of mt_eklient.scan and the testinfra plugin's pieces (no Ansible run)."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
from datetime import date

import pytest
import yaml
from mt_eklient import scan
from mt_eklient.errors import InputError
from mt_eklient.hosts import HostResolver, resolve_host
from scan_helpers import REPO, SAMPLE_FACTS

LAB = REPO / "inventories" / "lab"


def sample() -> dict:
    return json.loads(SAMPLE_FACTS.read_text(encoding="utf-8"))


# --- secrets -----------------------------------------------------------------------------------

def test_redactor_collects_secret_looking_variables_only():
    redactor = scan.Redactor()
    redactor.add_hostvars({"ansible_password": "hunter2-long", "ansible_user": "svc-mtk",
                           "ansible_psrp_cert_key_passphrase": "p4ss-phrase",
                           "mt_zones": {"pacs": ["10.0.0.1"]}, "vault_tokens": {"api": ["tok-123456"]},
                           "ansible_become_pass": "abc"})  # too short to redact safely
    text = "user svc-mtk with hunter2-long, p4ss-phrase and tok-123456 (abc)"
    assert redactor(text) == "user svc-mtk with ********, ******** and ******** (abc)"
    assert redactor.deep({"a": [text], "hunter2-long": 1}) == {"a": [redactor(text)], "********": 1}
    assert redactor(None) is None


# --- facts in a win_powershell result ------------------------------------------------------------

def test_facts_from_result_accepts_the_collectors_single_json_string_or_an_object():
    facts = sample()
    assert scan.facts_from_result("h", {"output": [json.dumps(facts)]}) == facts
    assert scan.facts_from_result("h", {"output": [facts]}) == facts


@pytest.mark.parametrize(("output", "reason"), [
    (None, "no output"),
    ([], "no output"),
    (["not json at all"], "not valid JSON"),
    ([json.dumps(sample())[:-40]], "truncated?"),
    (["[1, 2]"], "JSON list, not an object"),
    (["{}", "{}"], "2 output objects"),
    ([json.dumps({"schema_version": 2})], "invalid facts document"),
])
def test_facts_from_result_reasons(output, reason):
    with pytest.raises(scan.BadFacts, match=reason.replace("?", r"\?")):
        scan.facts_from_result("h", {"output": output} if output is not None else {})


@pytest.mark.parametrize(("status", "result", "expected"), [
    ("failed", {"msg": "The ansible.windows.win_powershell action failed to execute in the expected time frame (5)",
                "timedout": {"period": 5}}, ("error", "timeout: no result within 9s (task timeout)")),
    ("unreachable", {"msg": "ntlm: the specified credentials were rejected by the server"},
     ("unreachable", "authentication failed: ntlm: the specified credentials were rejected by the server")),
    ("unreachable", {"msg": "kerberos: Bad HTTP response returned from server. Code 401"},
     ("unreachable", "authentication failed: kerberos: Bad HTTP response returned from server. Code 401")),
    ("unreachable", {"msg": "ntlm: HTTPSConnectionPool(host='h', port=5986): Max retries exceeded with url: /wsman "
                             "(Caused by NewConnectionError: [Errno 111] Connection refused)"},
     ("unreachable", ("connection refused: ntlm: HTTPSConnectionPool(host='h', port=5986): Max retries exceeded with "
                      "url: /wsman (Caused by NewConnectionError: [Errno 111] Connection refused)"))),
    ("unreachable", {"msg": "kerberos: kinit: Password incorrect while getting initial credentials"},
     ("unreachable", "authentication failed: kerberos: kinit: Password incorrect while getting initial credentials")),
    ("failed", {"msg": "Unhandled exception while executing script: Access is denied"},
     ("error", "collector failed: Unhandled exception while executing script: Access is denied")),
    ("unreachable", {"msg": "winrm connection error: [Errno 113] No route to host"},
     ("unreachable", "connection failed: winrm connection error: [Errno 113] No route to host")),
    ("failed", {"msg": "Unhandled exception while executing script: boom",
                "error": [{"exception": {"message": "Access is denied"}, "error_details": None}]},
     ("error", "collector failed: Unhandled exception while executing script: boom: Access is denied")),
    ("skipped", {}, ("error", "the collection task was skipped")),
])
def test_classify_failure(status, result, expected):
    host_status, reason = scan.classify_failure(status, result, 9)
    assert host_status == expected[0]
    # Every failure but a skipped task names its step first (no transport for a non-WinRM host).
    step = next((s for s in ("connect or run collector: ", "connect: ", "authenticate: ", "run collector: ")
                 if reason.startswith(s)), "")
    assert bool(step) == (status != "skipped"), reason
    reason = reason[len(step):]
    summary, _, message = expected[1].partition(": ")
    assert reason == expected[1] or (reason.startswith(summary + ". Check ") and reason.endswith(". Error: " + message))


# --- streaming ---------------------------------------------------------------------------------

def test_event_reader_waits_for_complete_lines(tmp_path):
    path = tmp_path / "events.jsonl"
    reader = scan._EventReader(path)
    assert reader.read() == []
    with open(path, "a") as handle:
        handle.write('{"event": "host", "host": "a"}\n{"event": "ho')
    assert reader.read() == [{"event": "host", "host": "a"}]
    with open(path, "a") as handle:
        handle.write('st", "host": "b"}\n')
    assert reader.read() == [{"event": "host", "host": "b"}]


def test_progress_lines(capsys):
    out = io.StringIO()
    emit = scan.progress_printer(200, out)
    emit("wm1-sono-01", "ok", 0.42, None)
    emit("wm1-x", "unreachable", 2.0, "authentication failed: ntlm")
    assert out.getvalue().splitlines() == ["[  1/200] wm1-sono-01 ok 0.4s",
                                           "[  2/200] wm1-x unreachable 2.0s: authentication failed: ntlm"]


def test_request_file_name_matches_ansibles_hash_filter():
    from ansible.plugins.filter.core import get_hash
    for host in ("wm1-sono-01", "10.0.0.5", "ÅSA-klient.region.local"):
        assert scan.request_file_name(host) == get_hash(host, "sha1") + ".json"


# --- planning ------------------------------------------------------------------------------------

def lab_hostvars() -> dict[str, dict]:
    group = yaml.safe_load((LAB / "group_vars" / "lab.yml").read_text())
    return {p.stem: {**group, **(yaml.safe_load(p.read_text()) or {})} for p in sorted((LAB / "host_vars").glob("*.yml"))}


def test_one_resolver_for_a_fleet_loads_each_profile_once_and_reports_per_host():
    today = date(2026, 11, 25)
    hosts = lab_hostvars()
    resolver = HostResolver(today)
    for name, hostvars in hosts.items():
        assert resolver(name, hostvars)[1].to_dict() == resolve_host(name, hostvars, today)[1].to_dict()
    assert len(resolver._profiles) == len({h["mt_profile"] for h in hosts.values()})
    for name in ("no-profile", "no-profile-2"):  # a cached failure still names the host that asked
        with pytest.raises(InputError) as err:
            resolver(name, {**hosts["wm1-sono-01"], "mt_profile": "does-not-exist"})
        assert str(err.value).startswith(f"inventory ({name}): mt_profile: no profile 'does-not-exist'")


def test_hosts_resolved_alike_share_one_resolution_and_differ_only_in_name():
    """A fleet of copies costs one resolution; a different site (zones) or class is resolved anew and
    gives exactly what resolving that host alone gives."""
    today = date(2026, 11, 25)
    sono = lab_hostvars()["wm1-sono-01"]
    site_b = {**sono, "mt_zones": {"management": ["10.99.0.0/24"]}}
    planned = scan.plan_hosts({"a": sono, "b": dict(sono), "c": site_b}, today)
    a, b, c = planned
    assert a.baseline.controls is b.baseline.controls and a.request is b.request
    assert (a.baseline.host, b.baseline.host, c.baseline.host) == ("a", "b", "c")
    assert c.baseline.controls is not a.baseline.controls and c.baseline.controls != a.baseline.controls
    for entry, hostvars in ((b, sono), (c, site_b)):
        assert entry.baseline.to_dict() == resolve_host(entry.name, hostvars, today)[1].to_dict()


def test_plan_hosts_turns_bad_variables_into_host_errors():
    planned = scan.plan_hosts({"ok": lab_hostvars()["wm1-sono-01"], "none": {}}, date(2026, 11, 25))
    assert planned[0].request and planned[0].baseline and planned[0].error is None
    assert planned[1].baseline is None and "mt_profile" in planned[1].error


# --- CLI and boundaries ----------------------------------------------------------------------------

def test_scan_and_lab_scan_commands_registered():
    from mt_eklient.cli import build_parser
    parser = build_parser()
    args = parser.parse_args(["scan", "-i", "inv", "--forks", "7", "--timeout", "9", "--no-history"])
    assert (args.inventory, args.forks, args.timeout, args.no_history) == (["inv"], 7, 9, True)
    args = parser.parse_args(["lab", "--inventory", "x", "scan", "--limit", "wm*"])
    assert args.inventory == "x" and args.scan_inventory is None and args.limit == "wm*"
    with pytest.raises(SystemExit):
        parser.parse_args(["scan", "-i", "inv", "--forks", "0"])


def test_production_scan_never_imports_the_lab():
    code = ("import sys; from mt_eklient import scan, testinfra_plugin; from mt_eklient.cli import build_parser; "
            "build_parser(); bad = [m for m in sys.modules if m.startswith('mt_eklient.lab')]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


# --- testinfra winrm:// path -----------------------------------------------------------------------

def test_winrm_bootstrap_is_short_and_decodes():
    from mt_eklient.testinfra_plugin import WINRM_BOOTSTRAP, winrm_command
    command = winrm_command()
    assert len(command) < 2000  # far below cmd.exe's 8191 characters, whatever the collector's size
    encoded = command.rsplit(" ", 1)[1]
    assert base64.b64decode(encoded).decode("utf-16-le") == WINRM_BOOTSTRAP


def test_collect_winrm_sends_collector_and_request_on_stdin():
    from mt_eklient import testinfra_plugin as plugin

    calls = {}

    class FakeProtocol:
        def __init__(self, **kwargs):
            calls["conn"] = kwargs

        def open_shell(self):
            return "shell"

        def run_command(self, shell, command):
            calls["command"] = command
            return "cmd"

        def send_command_input(self, shell, command, data, end=False):
            calls["stdin"], calls["end"] = json.loads(data), end

        def get_command_output(self, shell, command):
            return json.dumps(sample()).encode(), b"", 0

        def cleanup_command(self, shell, command):
            calls["cleaned"] = True

        def close_shell(self, shell):
            calls["closed"] = True

    class Backend:
        def __init__(self):
            self.conn_args = {"endpoint": "https://h:5986/wsman", "transport": "ntlm", "username": "u", "password": "p"}

    class Host:
        backend = Backend()

    result = plugin.collect_winrm(Host(), {"services": ["AppIDSvc"]}, protocol_factory=FakeProtocol)
    assert scan.facts_from_result("h", result) == sample()
    assert calls["conn"] == Host.backend.conn_args and calls["end"] and calls["closed"]
    assert calls["stdin"]["request"] == {"services": ["AppIDSvc"]}
    assert calls["stdin"]["script"].startswith("# mtk-collector")


def test_bench_smoke(tmp_path):
    """bench/fleet_scan.py --mode share with 5 hosts, once: the no-op floor play reaches every host,
    every host of the scan is evaluated after one remote call, the CPU and memory figures are measured
    (not left empty) and the project's share is mtk's CPU plus the scan's Ansible CPU above the floor."""
    out = tmp_path / "bench.json"
    result = subprocess.run([sys.executable, str(REPO / "bench" / "fleet_scan.py"), "--mode", "share", "--hosts", "5",
                             "--forks", "5", "--repeat", "1", "--json", str(out)], capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    row = json.loads(out.read_text())["rows"][0]
    run = row["each"][0]
    assert row["mode"] == "share" and row["calls_per_host"] == [[1, 1]] and run["evaluated"] == 5
    assert row["mtk_cpu_ms_per_host"]["median"] > 0 and row["ansible_cpu_ms_per_host"]["median"] > 0
    assert row["floor_cpu_ms_per_host"]["median"] > 0
    assert run["share_cpu_s"] == pytest.approx(run["mtk_cpu_s"] + run["ansible_cpu_s"] - run["floor_cpu_s"])
    assert row["mtk_rss_mb"]["median"] > 10 and row["json_kb_per_host"]["median"] > 1
    assert "project's share" in result.stdout


def test_bench_models_latency_on_the_winrm_endpoint(tmp_path):
    """Over WinRM the modelled latency reaches the endpoint (set at `lab up`; each Receive answers late):
    a scan of two hosts with 8 s of latency takes at least 8 s, and each host costs one remote call."""
    out = tmp_path / "bench.json"
    result = subprocess.run([sys.executable, str(REPO / "bench" / "fleet_scan.py"), "--hosts", "2", "--forks", "2",
                             "--latency", "8", "--transport", "winrm", "--repeat", "1", "--json", str(out)],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    row = json.loads(out.read_text())["rows"][0]
    assert row["transport"] == "winrm" and row["calls_per_host"] == [[1, 1]]
    assert row["wall_s"]["median"] >= 8.0


def test_a_host_that_is_not_windows_is_named_so():
    # Ansible's own advice for a PowerShell module run on a POSIX connection (set the interpreter) misleads.
    status, reason = scan.classify_failure("failed", {
        "msg": "The module failed to execute correctly, you probably need to set the interpreter.\n"
               "See stdout/stderr for the exact error", "module_stderr": "/bin/sh: 1: powershell: not found"}, 9)
    assert status == "error"
    assert reason.startswith("the host is not a Windows host as Ansible reaches it: the collector is a PowerShell "
                             "module, so give the host ansible_connection winrm or psrp. Error: The module failed")
