"""`mtk scan` error paths against a fake win_powershell (fake_collections/): host-level errors with
reasons, exit codes, one collector call per host, Ctrl-C, deadlines, vault, and secrets never shown."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from scan_helpers import (
    CANARY,
    CANARY_VAULT,
    assert_no_secret,
    journal_counts,
    mtk,
    mtk_command,
    report_hosts,
    wm1,
    write_inventory,
)


def test_mixed_fleet_reports_every_host_with_its_reason(tmp_path, fake_env):
    inventory = write_inventory(tmp_path / "hosts.yml", {
        "wm1-ok-01": wm1("ok"),
        "wm1-garbage-01": wm1("garbage"),
        "wm1-trunc-01": wm1("truncated"),
        "wm1-invalid-01": wm1("invalid"),
        "wm1-two-01": wm1("two"),
        "wm1-auth-01": wm1("auth"),
        "wm1-refused-01": wm1("refused"),
        "wm1-echo-01": wm1("echo-secret"),
        "wm1-novars-01": {"mt_profile": "sonora-review-4", "mt_site": "region-vastland", "fake_mode": "ok"},  # no mt_class
        "wm1-noprofile-01": wm1("ok", mt_profile="no-such-profile"),
    }, group_vars={"ansible_password": CANARY, "ansible_become_password": CANARY,
                   "ansible_winrm_transport": "ntlm", "ansible_user": "svc-mtk"})
    out = tmp_path / "out"
    history = tmp_path / "history.sqlite"
    result = mtk("scan", "-i", str(inventory), "--forks", "4", "--timeout", "30",
                 "--json", str(out / "r.json"), "--junit", str(out / "r.xml"), "--html", str(out / "r.html"),
                 "--history", str(history), env=fake_env, cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    hosts = report_hosts(out / "r.json")
    assert len(hosts) == 10
    from mt_eklient.reports.json_report import validate_report
    assert validate_report(json.loads((out / "r.json").read_text())) == []

    ok = hosts["wm1-ok-01"]
    assert ok["status"] == "ok" and ok["controls"], ok
    assert ok["verdict"] in ("pass", "fail")

    def error(host: str) -> str:
        return hosts[host]["error"] or ""

    assert hosts["wm1-garbage-01"]["status"] == "error" and "not valid JSON" in error("wm1-garbage-01")
    assert hosts["wm1-trunc-01"]["status"] == "error" and "truncated" in error("wm1-trunc-01")
    assert hosts["wm1-invalid-01"]["status"] == "error" and "invalid facts document" in error("wm1-invalid-01")
    assert hosts["wm1-two-01"]["status"] == "error" and "2 output objects" in error("wm1-two-01")
    assert hosts["wm1-auth-01"]["status"] == "unreachable"
    assert error("wm1-auth-01").startswith("authenticate: authentication failed. Check the account (ansible_user)")
    assert "Error: ntlm: the specified credentials were rejected" in error("wm1-auth-01")
    assert hosts["wm1-refused-01"]["status"] == "unreachable" and "Connection refused" in error("wm1-refused-01")
    assert hosts["wm1-echo-01"]["status"] == "error" and "********" in error("wm1-echo-01")
    assert hosts["wm1-novars-01"]["status"] == "error" and "mt_class" in error("wm1-novars-01")
    assert hosts["wm1-noprofile-01"]["status"] == "error" and "no-such-profile" in error("wm1-noprofile-01")

    # Exactly one collector call per collectable host; hosts whose variables do not resolve are not contacted.
    calls = journal_counts(Path(fake_env["FAKE_JOURNAL"]))
    assert calls == {h: 1 for h in hosts if h not in ("wm1-novars-01", "wm1-noprofile-01")}
    first = (Path(fake_env["FAKE_JOURNAL"]) / "wm1-ok-01.jsonl").read_text().splitlines()[0]
    assert json.loads(first)["first_line"] == "# mtk-collector"
    assert json.loads(first)["request"]["registry"], "the host's collection request reaches the collector"

    # Progress: one line per host on stderr, counted.
    progress = [line for line in result.stderr.splitlines() if line.startswith("[")]
    assert len(progress) == 10
    assert any(line.startswith("[") and "/10] wm1-ok-01 ok " in line for line in progress), progress
    assert any("wm1-auth-01 unreachable" in line and "authentication failed" in line for line in progress)

    assert (out / "r.xml").read_text().startswith("<?xml")
    assert "<html" in (out / "r.html").read_text().lower()
    assert_no_secret(CANARY, result.stdout, result.stderr,
                     files=[out / "r.json", out / "r.xml", out / "r.html", history])


def test_per_host_timeout(tmp_path, fake_env):
    inventory = write_inventory(tmp_path / "hosts.yml", {"wm1-hang-01": wm1("hang"), "wm1-ok-01": wm1("ok")})
    started = time.monotonic()
    result = mtk("scan", "-i", str(inventory), "--timeout", "1", "--no-history", "--json", str(tmp_path / "r.json"),
                 env=fake_env, cwd=tmp_path)
    assert time.monotonic() - started < 20
    assert result.returncode == 3, result.stderr
    hosts = report_hosts(tmp_path / "r.json")
    assert hosts["wm1-hang-01"]["status"] == "error"
    assert hosts["wm1-hang-01"]["error"].startswith("connect or run collector: timeout. Check ")
    assert hosts["wm1-hang-01"]["error"].endswith("Error: no result within 1s (task timeout)")
    assert hosts["wm1-ok-01"]["status"] == "ok"


@pytest.mark.parametrize("case", ["missing", "broken", "no-match"])
def test_unreadable_inventory_is_a_usage_error(tmp_path, fake_env, case):
    inventory = tmp_path / "hosts.yml"
    args = []
    if case == "broken":
        inventory.write_text("all:\n  hosts: [unclosed\n", encoding="utf-8")
    elif case == "no-match":
        write_inventory(inventory, {"wm1-ok-01": wm1()})
        args = ["--limit", "nothing-like-this"]
    result = mtk("scan", "-i", str(inventory), *args, "--no-history", env=fake_env, cwd=tmp_path)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert str(inventory) in result.stderr
    assert journal_counts(Path(fake_env["FAKE_JOURNAL"])) == {}


def _vaulted_inventory(tmp_path: Path) -> tuple[Path, Path]:
    directory = tmp_path / "inv"
    (directory / "group_vars" / "all").mkdir(parents=True)
    write_inventory(directory / "hosts.yml", {"wm1-ok-01": wm1("ok"), "wm1-echo-01": wm1("echo-secret")})
    secret_file = directory / "group_vars" / "all" / "vault.yml"
    secret_file.write_text(f"ansible_password: {CANARY_VAULT}\n", encoding="utf-8")
    password_file = tmp_path / "vault-pass.txt"
    password_file.write_text("vault-test-passphrase\n", encoding="utf-8")
    from mt_eklient.scan import ansible_bin
    subprocess.run([ansible_bin("ansible-vault"), "encrypt", "--vault-password-file", str(password_file),
                    str(secret_file)], check=True, capture_output=True)
    assert CANARY_VAULT.encode() not in secret_file.read_bytes()
    return directory, password_file


def test_vault_password_file_and_prompt(tmp_path, fake_env):
    inventory, password_file = _vaulted_inventory(tmp_path)
    # Without the vault password the inventory cannot be read: usage error.
    result = mtk("scan", "-i", str(inventory), "--no-history", env=fake_env, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "vault" in result.stderr.lower()

    for how in ("file", "prompt"):
        out = tmp_path / f"r-{how}.json"
        args = ["--vault-password-file", str(password_file)] if how == "file" else ["--ask-vault-pass"]
        result = mtk("scan", "-i", str(inventory), *args, "--json", str(out), "--history",
                     str(tmp_path / "h.sqlite"), env=fake_env, cwd=tmp_path,
                     input="vault-test-passphrase\n" if how == "prompt" else None)
        assert result.returncode == 3, result.stderr
        hosts = report_hosts(out)
        assert hosts["wm1-ok-01"]["status"] == "ok"
        assert "********" in hosts["wm1-echo-01"]["error"]  # the decrypted password, redacted
        assert_no_secret(CANARY_VAULT, result.stdout, result.stderr, files=[out, tmp_path / "h.sqlite"])
        assert_no_secret("vault-test-passphrase", result.stdout, result.stderr, files=[out])


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupt_keeps_what_arrived(tmp_path, fake_env, sig):
    hosts = {f"wm1-n{i:02d}": wm1("ok") for i in range(10)}
    inventory = write_inventory(tmp_path / "hosts.yml", hosts)
    env = dict(fake_env, FAKE_DELAY="0.5")
    out = tmp_path / "r.json"
    proc = subprocess.Popen([*mtk_command(), "scan", "-i", str(inventory), "--forks", "2", "--no-history",
                             "--json", str(out)], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    lines: list[str] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # wait for a few hosts to finish
        line = proc.stderr.readline()
        lines.append(line)
        if sum(1 for entry in lines if entry.startswith("[")) >= 2:
            break
    started = time.monotonic()
    os.kill(proc.pid, sig)  # Ctrl-C sends SIGINT to mtk only: ansible runs in its own session
    _, stderr = proc.communicate(timeout=30)
    assert time.monotonic() - started < 15
    assert proc.returncode == 3, stderr
    assert "interrupted" in stderr
    report = report_hosts(out)
    assert set(report) == set(hosts)
    evaluated = [h for h, r in report.items() if r["status"] == "ok"]
    interrupted = [h for h, r in report.items() if r["error"] == "scan interrupted"]
    assert len(evaluated) >= 2 and interrupted, report
    assert len(evaluated) + len(interrupted) == len(hosts)
    assert all(report[h]["controls"] for h in evaluated)
    # Ansible stopped: no more collector calls after the interrupt.
    counts = journal_counts(Path(fake_env["FAKE_JOURNAL"]))
    time.sleep(0.5)
    assert journal_counts(Path(fake_env["FAKE_JOURNAL"])) == counts
    assert all(n == 1 for n in counts.values())


def test_limit_names_every_pattern_that_matches_nothing(tmp_path, fake_env):
    inventory = write_inventory(tmp_path / "hosts.yml", {"wm1-ok-01": wm1()})
    long_typo = "wm1-a-host-name-long-enough-that-ansible-wraps-its-warning-in-the-middle-of-it-01"
    result = mtk("scan", "-i", str(inventory), "--limit", f"wm1-ok-01,typo-host,{long_typo},!wm9*",
                 "--no-history", env=fake_env, cwd=tmp_path)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr.strip() == (f"{inventory}: --limit: no host or group matches 'typo-host', "
                                     f"'{long_typo}'")
    assert journal_counts(Path(fake_env["FAKE_JOURNAL"])) == {}


def test_inventory_yaml_error_keeps_file_line_and_column(tmp_path, fake_env):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all:\n  hosts:\n    wm1-ok-01:\n      mt_class: \"WM1\n    wm1-two-01:\n", encoding="utf-8")
    result = mtk("scan", "-i", str(inventory), "--no-history", env=fake_env, cwd=tmp_path)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr.startswith(f"{inventory}:6: cannot read the inventory: malformed YAML at line 6, column 1: "
                                    "unclosed quote opened at line 4"), result.stderr


def test_lab_hosts_scanned_like_a_site_say_to_use_mtk_lab_scan(tmp_path, fake_env):
    # The lab inventory vaults its password inline and reaches endpoints only `mtk lab up` starts:
    # scanned with plain `mtk scan`, every lab host says what is wrong and what to run instead.
    password_file = tmp_path / "vault-pass.txt"
    password_file.write_text("vault-test-passphrase\n", encoding="utf-8")
    from mt_eklient.scan import ansible_bin
    vaulted = subprocess.run([ansible_bin("ansible-vault"), "encrypt_string", "--vault-password-file",
                              str(password_file), "--name", "ansible_password", CANARY_VAULT],
                             check=True, capture_output=True, text=True).stdout
    inventory = tmp_path / "inv"
    (inventory / "group_vars").mkdir(parents=True)
    write_inventory(inventory / "hosts.yml", {"wm1-sono-01": wm1("ok", mtk_lab_edition="win10-ltsc-2021"),
                                              "wm1-site-01": wm1("ok")})
    (inventory / "group_vars" / "all.yml").write_text(vaulted, encoding="utf-8")
    out = tmp_path / "r.json"
    result = mtk("scan", "-i", str(inventory), "--no-history", "--json", str(out), env=fake_env, cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    hosts = report_hosts(out)
    vault = ("the inventory holds vaulted values (ansible_password) and no vault password was given: use "
             "--vault-password-file FILE or --ask-vault-pass")
    assert hosts["wm1-site-01"]["error"] == vault
    assert hosts["wm1-sono-01"]["error"] == (
        "a host of the simulated lab (mtk_lab_* variables): scan it with `mtk lab scan`, which gives Ansible the "
        f"lab's vault password and endpoints (after `mtk lab up`). {vault}")
    assert "object at 0x" not in result.stdout + result.stderr
