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
