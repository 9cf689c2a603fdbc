"""`mtk scan` against hostile hosts and with secrets only Ansible can resolve (issue 9): a password
from a lookup or behind a variable with an innocent name never reaches any output, even when a
host echoes it in an error or inside its facts document; a hostile facts document is one host error
and every other host is still reported."""

from __future__ import annotations

import json
from pathlib import Path

from scan_helpers import SAMPLE_FACTS, assert_no_secret, mtk, report_hosts, wm1, write_inventory

# Characters PowerShell's ConvertTo-Json escapes (<, >, ', &) and a quote: the canary must be caught
# however the facts document spells it.
LOOKUP_CANARY = "CANARY<lk>&'q\"-3e9d1b7a"
INDIRECT_CANARY = "CANARY-indirect-5c0f2a94"
VAULT_PASSWORD = "lab-vault-password-for-tests"


def _outputs(tmp_path: Path) -> list[Path]:
    out = tmp_path / "out"
    return [out / "r.json", out / "r.xml", out / "r.html", tmp_path / "history.sqlite"]


def _scan(tmp_path: Path, env: dict[str, str], inventory: Path):
    out = tmp_path / "out"
    return mtk("scan", "-i", str(inventory), "--forks", "4", "--timeout", "30",
               "--json", str(out / "r.json"), "--junit", str(out / "r.xml"), "--html", str(out / "r.html"),
               "--history", str(tmp_path / "history.sqlite"), env=env, cwd=tmp_path)


def test_password_from_a_lookup_is_redacted_everywhere(tmp_path, fake_env):
    inventory = write_inventory(tmp_path / "hosts.yml", {
        "wm1-echo-01": wm1("echo-secret"),
        "wm1-facts-01": wm1("echo-in-facts"),
        "wm1-ok-01": wm1("ok"),
    }, group_vars={"ansible_password": "{{ lookup('ansible.builtin.env', 'MTK_TEST_CONNECTION') }}"})
    env = dict(fake_env, MTK_TEST_CONNECTION=LOOKUP_CANARY)
    result = _scan(tmp_path, env, inventory)
    assert result.returncode == 3, result.stderr
    hosts = report_hosts(tmp_path / "out" / "r.json")
    assert "********" in hosts["wm1-echo-01"]["error"]
    facts_host = hosts["wm1-facts-01"]
    assert facts_host["status"] == "ok"
    assert any("the facts come from computer 'WM1-********'" in note for note in facts_host["notes"])
    for spelling in (LOOKUP_CANARY, json.dumps(LOOKUP_CANARY)[1:-1], "CANARY\\u003clk\\u003e", "CANARY<lk>"):
        assert_no_secret(spelling, result.stdout, result.stderr, files=_outputs(tmp_path))


def test_password_behind_an_innocently_named_variable_is_redacted(tmp_path, fake_env):
    inventory = write_inventory(tmp_path / "hosts.yml", {
        "wm1-echo-01": wm1("echo-secret"),
        "wm1-facts-01": wm1("echo-in-facts"),
    }, group_vars={"site_conn_value": INDIRECT_CANARY, "ansible_password": "{{ site_conn_value }}"})
    result = _scan(tmp_path, fake_env, inventory)
    assert result.returncode == 3, result.stderr
    assert "********" in report_hosts(tmp_path / "out" / "r.json")["wm1-echo-01"]["error"]
    assert_no_secret(INDIRECT_CANARY, result.stdout, result.stderr, files=_outputs(tmp_path))


def _vaulted(text: str, vault_file: Path, indent: int) -> str:
    """`!vault |` YAML block of `text`, as ansible-vault encrypt_string writes it."""
    from ansible.constants import DEFAULT_VAULT_ID_MATCH
    from ansible.parsing.vault import VaultLib, VaultSecret

    vault = VaultLib([(DEFAULT_VAULT_ID_MATCH, VaultSecret(vault_file.read_bytes().strip()))])
    ciphertext = vault.encrypt(text).decode()
    return "!vault |\n" + "".join(f"{' ' * indent}{line}\n" for line in ciphertext.splitlines())


def test_vaulted_values_are_redacted_per_host(tmp_path, fake_env):
    """The group's vaulted password, one host's own vaulted password and a vaulted value under an
    innocent name: each host's answer is redacted with the values it has, however many hosts share a
    ciphertext (the callback decrypts each ciphertext once per run)."""
    vault_file = tmp_path / "vault-pass.txt"
    vault_file.write_text(VAULT_PASSWORD + "\n", encoding="utf-8")
    group, own, innocent = "CANARY-vault-group-7f1e", "CANARY-vault-own-0b6d", "CANARY-vault-innocent-91ac"
    host_extra = {"wm1-echo-02": [f"      ansible_password: {_vaulted(own, vault_file, 8)}"],
                  "wm1-var-01": ["      fake_echo: site_value"]}
    lines = ["all:", "  vars:", "    ansible_connection: local",
             f"    ansible_password: {_vaulted(group, vault_file, 6)}", f"    site_value: {_vaulted(innocent, vault_file, 6)}",
             "  hosts:"]
    for name, mode in (("wm1-echo-01", "echo-secret"), ("wm1-facts-01", "echo-in-facts"),
                       ("wm1-echo-02", "echo-secret"), ("wm1-echo-03", "echo-secret"), ("wm1-var-01", "echo-var")):
        lines += [f"    {name}:", *(f"      {key}: {json.dumps(value)}" for key, value in wm1(mode).items()),
                  *host_extra.get(name, [])]
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    result = mtk("scan", "-i", str(inventory), "--forks", "4", "--timeout", "30",
                 "--vault-password-file", str(vault_file), "--json", str(out / "r.json"),
                 "--junit", str(out / "r.xml"), "--html", str(out / "r.html"),
                 "--history", str(tmp_path / "history.sqlite"), env=fake_env, cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    hosts = report_hosts(out / "r.json")
    for name in ("wm1-echo-01", "wm1-echo-02", "wm1-echo-03"):
        assert "logon as svc with ******** failed" in hosts[name]["error"], hosts[name]["error"]
    assert "unexpected value ********" in hosts["wm1-var-01"]["error"], hosts["wm1-var-01"]["error"]
    assert any("the facts come from computer 'WM1-********'" in note for note in hosts["wm1-facts-01"]["notes"])
    for secret in (group, own, innocent):
        assert_no_secret(secret, result.stdout, result.stderr, files=_outputs(tmp_path))


def _hostile_files(tmp_path: Path) -> dict[str, str]:
    facts = json.loads(SAMPLE_FACTS.read_text(encoding="utf-8"))
    deep = json.dumps(facts)[:-1] + ', "x": ' + "[" * 50_000 + "]" * 50_000 + "}"
    escapes = dict(facts, host=dict(facts["host"], computer_name="X\x1b[2J\x1b[H"),
                   errors=[{"section": "programs", "message": "gone\n[3/3] wm1-forged ok 0.1s\x1b]0;owned\x07"}])
    surrogate = json.dumps(dict(facts, programs=[dict(facts["programs"][0], name="bad \ud800 name")]))
    files = {}
    for name, text in (("deep", deep), ("escapes", json.dumps(escapes)), ("surrogate", surrogate)):
        path = tmp_path / f"{name}.json"
        path.write_text(text, encoding="utf-8")
        files[f"FAKE_HOSTILE_{name.upper()}"] = str(path)
    return files


def test_hostile_hosts_are_one_host_error_each(tmp_path, fake_env):
    inventory = write_inventory(tmp_path / "hosts.yml", {
        "wm1-deep-01": wm1("deep"),
        "wm1-escapes-01": wm1("escapes"),
        "wm1-surrogate-01": wm1("surrogate"),
        "wm1-ok-01": wm1("ok"),
    })
    env = dict(fake_env, **_hostile_files(tmp_path))
    result = _scan(tmp_path, env, inventory)
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr
    hosts = report_hosts(tmp_path / "out" / "r.json")
    assert hosts["wm1-deep-01"]["status"] == "error"
    assert "nested deeper than 32 levels" in hosts["wm1-deep-01"]["error"]
    assert hosts["wm1-ok-01"]["status"] == "ok"
    assert hosts["wm1-escapes-01"]["status"] == "ok" and hosts["wm1-surrogate-01"]["status"] == "ok"
    for text in (result.stdout, result.stderr):
        assert "\x1b" not in text and "\x07" not in text
    progress = [line for line in result.stderr.splitlines() if line.startswith("[")]
    assert len(progress) == 4 and not any("wm1-forged" in line for line in progress)
    for path in _outputs(tmp_path)[:3]:
        path.read_text(encoding="utf-8")
