"""Troubleshooting a failed collection (docs/scan.md, "Troubleshooting"): each reason names the step
that failed and the transport, 401, timeout and refused stay distinct, and -v/--keep-logs show
Ansible's own output with every secret redacted."""

from __future__ import annotations

import stat
import subprocess

import pytest
from mt_eklient import connerrors
from mt_eklient.scan import Redactor, classify_failure, outcome_from_event
from scan_helpers import CANARY, assert_no_secret, mtk, mtk_command, report_hosts, wm1, write_inventory

NTLM_HTTPS = "winrm ntlm over https"


@pytest.mark.parametrize(("hostvars", "expected"), [
    ({"ansible_connection": "winrm", "ansible_winrm_transport": "kerberos", "ansible_winrm_scheme": "https"},
     "winrm kerberos over https"),
    ({"ansible_connection": "winrm", "ansible_winrm_transport": "ntlm", "ansible_port": 5985}, "winrm ntlm over http"),
    ({"ansible_connection": "ansible.builtin.winrm", "ansible_winrm_transport": ["ntlm", "kerberos"]},
     "winrm ntlm/kerberos over https"),
    ({"ansible_connection": "psrp", "ansible_psrp_protocol": "https"}, "psrp negotiate over https"),
    ({"ansible_connection": "winrm", "ansible_winrm_transport": "{{ site_transport }}"},
     "winrm default transport over https"),
    ({"ansible_connection": "local"}, None),
])
def test_transport_in_words(hostvars, expected):
    assert connerrors.transport(hostvars) == expected


@pytest.mark.parametrize(("status", "result", "host_status", "prefix"), [
    ("unreachable", {"msg": "ntlm: the specified credentials were rejected by the server"}, "unreachable",
     f"authenticate ({NTLM_HTTPS}): authentication failed. Check the account"),
    ("unreachable", {"msg": "kerberos: HTTP 401 Unauthorized"}, "unreachable",
     f"authenticate ({NTLM_HTTPS}): authentication failed. "),
    ("unreachable", {"msg": "winrm connection error: [Errno 111] Connection refused"}, "unreachable",
     f"connect ({NTLM_HTTPS}): connection refused. Check that the WinRM service runs"),
    ("unreachable", {"msg": "HTTPSConnectionPool(host='wm1', port=5986): Read timed out. (read timeout=30)"},
     "unreachable", f"connect ({NTLM_HTTPS}): timeout. Check that the host is on"),
    ("unreachable", {"msg": "certificate verify failed: Hostname mismatch"}, "unreachable",
     f"connect ({NTLM_HTTPS}): TLS certificate rejected. Check that the host's WinRM HTTPS listener certificate"),
    ("failed", {"timedout": {"frame": 1}}, "error", f"connect or run collector ({NTLM_HTTPS}): timeout. Check "),
    ("failed", {"msg": "Unhandled exception while executing script: Access is denied"}, "error",
     f"run collector ({NTLM_HTTPS}): collector failed: Unhandled exception"),
    ("failed", {"msg": "connection reset by peer"}, "unreachable", f"run collector ({NTLM_HTTPS}): connection reset."),
])
def test_a_failure_names_step_and_transport(status, result, host_status, prefix):
    got_status, reason = classify_failure(status, result, 30, NTLM_HTTPS)
    assert got_status == host_status and reason.startswith(prefix), reason


def test_401_timeout_and_refused_are_told_apart():
    reasons = [classify_failure("unreachable", {"msg": message}, 30, NTLM_HTTPS)[1] for message in (
        "HTTP 401: the specified credentials were rejected", "Read timed out", "[Errno 111] Connection refused")]
    steps = [reason.split(":")[0] for reason in reasons]
    assert steps == [f"authenticate ({NTLM_HTTPS})", f"connect ({NTLM_HTTPS})", f"connect ({NTLM_HTTPS})"]
    assert len({reason.split(". Check")[0] for reason in reasons}) == 3


def test_an_answer_that_is_no_facts_document_fails_at_parse():
    event = {"host": "wm1", "status": "ok", "result": {"output": ["Get-Item : Access is denied. <not json>"]}}
    outcome = outcome_from_event(event, 30, Redactor(), NTLM_HTTPS)
    assert outcome.status == "error" and outcome.reason.startswith(f"parse ({NTLM_HTTPS}): facts are not valid JSON")


def test_verbose_scan_shows_ansible_output_and_keeps_redacted_logs(tmp_path, fake_env):
    inventory = write_inventory(tmp_path / "hosts.yml", {"wm1-ok-01": wm1("ok"), "wm1-auth-01": wm1("auth"),
                                                         "wm1-echo-01": wm1("echo-secret")},
                                group_vars={"ansible_password": CANARY, "ansible_user": "svc-mtk"})
    logs = tmp_path / "logs"
    result = mtk("scan", "-i", str(inventory), "-vvv", "--keep-logs", str(logs), "--no-history",
                 "--json", str(tmp_path / "r.json"), env=fake_env, cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    assert "--- ansible-playbook output (-vvv, secrets redacted) ---" in result.stderr
    assert "--- ansible-inventory output (-vvv, secrets redacted) ---" in result.stderr
    playbook_log = (logs / "ansible-playbook.log").read_text()
    assert "config file" in playbook_log  # Ansible's own -v line: the verbosity reached it
    assert stat.S_IMODE(logs.stat().st_mode) == 0o700
    assert stat.S_IMODE((logs / "ansible-playbook.log").stat().st_mode) == 0o600
    outcomes = dict(line.split(" ", 1) for line in (logs / "hosts.txt").read_text().splitlines())
    assert outcomes["wm1-ok-01"] == "ok: collected"
    assert outcomes["wm1-auth-01"].startswith("unreachable: authenticate: authentication failed. Check")
    assert report_hosts(tmp_path / "r.json")["wm1-auth-01"]["error"] == outcomes["wm1-auth-01"].split(": ", 1)[1]
    assert_no_secret(CANARY, result.stdout, result.stderr, files=sorted(logs.iterdir()))


def test_quiet_scan_keeps_nothing(tmp_path, fake_env):
    inventory = write_inventory(tmp_path / "hosts.yml", {"wm1-ok-01": wm1("ok")})
    result = mtk("scan", "-i", str(inventory), "--no-history", env=fake_env, cwd=tmp_path)
    assert result.returncode in (0, 1), result.stderr
    assert "ansible-playbook output" not in result.stderr


@pytest.mark.parametrize("command", [["scan"], ["plan"], ["lab", "scan"], ["lab", "plan"]])
def test_every_collecting_command_takes_verbosity_and_keep_logs(command):
    out = subprocess.run([*mtk_command(), *command, "--help"], capture_output=True, text=True, check=True).stdout
    assert "-v, --verbose" in out and "--keep-logs DIR" in out


def test_verbosity_stops_before_ansible_prints_every_commands_output():
    from mt_eklient.scan import AnsibleOptions

    assert AnsibleOptions(["inv"]).verbose_args() == []
    assert AnsibleOptions(["inv"], verbosity=3).verbose_args() == ["-vvv"]
    assert AnsibleOptions(["inv"], verbosity=7).verbose_args() == ["-vvvvv"]  # -vvvvvv would dump the facts

