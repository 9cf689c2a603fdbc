"""The lab through real ansible-playbook / ansible-doc processes and the `mtk lab` commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from mt_eklient import cli
from mt_eklient.lab import store

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def write_inventory(tmp_path: Path) -> Path:
    inventory = tmp_path / "inventory"
    (inventory / "group_vars").mkdir(parents=True)
    (inventory / "hosts.yml").write_text(textwrap.dedent("""\
        all:
          children:
            lab:
              hosts:
                t-2021-01: {mt_class: WM1, mtk_lab_edition: win10-ltsc-2021}
                t-2016-01: {mt_class: M1, mtk_lab_edition: win10-ltsb-2016, mtk_lab_domain_joined: false}
        """))
    (inventory / "group_vars" / "lab.yml").write_text("ansible_connection: local\n")
    return inventory


def mtk(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mt_eklient.cli", *args], check=False, capture_output=True, text=True,
                          env=env or dict(os.environ), cwd=REPO, timeout=120)


def playbook_results(stdout: str) -> dict[str, dict]:
    """{task name: result for the first host} from the ansible.posix.json callback."""
    data = json.loads(stdout[stdout.index("{"):])
    out = {}
    for task in data["plays"][0]["tasks"]:
        out[task["task"]["name"]] = next(iter(task["hosts"].values()))
    return out


PLAYBOOK = """\
- hosts: t-2021-01
  gather_facts: false
  tasks:
    - {name: ping, ansible.windows.win_ping: {}}
    - name: misspelt option
      ansible.windows.win_regedit: {path: 'HKLM:\\SOFTWARE\\Test', name: X, vaule: 1}
      ignore_errors: true
    - name: invalid type
      ansible.windows.win_regedit: {path: 'HKLM:\\SOFTWARE\\Test', name: X, data: 1, type: dwrod}
      ignore_errors: true
    - name: invalid direction
      community.windows.win_firewall_rule: {name: r, direction: inbound, action: allow}
      ignore_errors: true
    - name: invalid action
      community.windows.win_firewall_rule: {name: r, direction: in, action: permit}
      ignore_errors: true
    - name: invalid start_mode
      ansible.windows.win_service: {name: AppIDSvc, start_mode: automatic}
      ignore_errors: true
    - name: set
      ansible.windows.win_regedit: {path: 'HKLM:\\SOFTWARE\\Test', name: X, data: 1, type: dword}
    - name: set again
      ansible.windows.win_regedit: {path: 'HKLM:\\SOFTWARE\\Test', name: X, data: 1, type: dword}
"""


@pytest.fixture
def lab(tmp_path: Path) -> dict[str, object]:
    inventory = write_inventory(tmp_path)
    env = dict(os.environ, MTK_LAB_INVENTORY=str(inventory), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    assert mtk("lab", "up", env=env).returncode == 0
    return {"inventory": inventory, "env": env, "tmp": tmp_path}


def test_playbook_in_lab_mode_rejects_wrong_arguments_and_is_idempotent(lab) -> None:
    playbook = lab["tmp"] / "play.yml"
    playbook.write_text(PLAYBOOK)
    run = mtk("lab", "ansible-playbook", str(playbook), env=lab["env"])
    assert run.returncode == 0, run.stderr + run.stdout
    results = playbook_results(run.stdout)
    assert results["misspelt option"]["msg"].startswith(
        "Unsupported parameters for (win_regedit) module: vaule. Supported parameters include:")
    assert "value of type must be one of:" in results["invalid type"]["msg"]
    assert "value of direction must be one of: in, out. Got no match for: inbound" in results["invalid direction"]["msg"]
    assert "value of action must be one of: allow, block. Got no match for: permit" in results["invalid action"]["msg"]
    assert "Got no match for: automatic" in results["invalid start_mode"]["msg"]
    assert results["set"]["changed"] is True and results["set again"]["changed"] is False
    # only the stand-ins write the journal: the shadow action plugins are what ran
    entries = store.read_journal("t-2021-01")
    assert [e["module"] for e in entries][:2] == ["ansible.windows.win_ping", "ansible.windows.win_regedit"]
    assert len(entries) == 8 and sum(e["applied"] for e in entries) == 1


def test_check_mode_run_applies_nothing(lab) -> None:
    playbook = lab["tmp"] / "check.yml"
    playbook.write_text(textwrap.dedent("""\
        - hosts: all
          gather_facts: false
          tasks:
            - ansible.windows.win_service: {name: AppIDSvc, start_mode: auto, state: started}
            - ansible.windows.win_optional_feature: {name: SMB1Protocol, state: absent}
        """))
    before = {h: json.dumps(store.read_state(h), sort_keys=True) for h in store.hosts()}
    run = mtk("lab", "ansible-playbook", str(playbook), "--check", env=lab["env"])
    assert run.returncode == 0, run.stdout
    assert {h: json.dumps(store.read_state(h), sort_keys=True) for h in store.hosts()} == before
    status = json.loads(mtk("lab", "status", "--json", env=lab["env"]).stdout)
    assert {r["host"]: (r["invocations"], r["changes_applied"]) for r in status} == {
        "t-2016-01": (2, 0), "t-2021-01": (2, 0)}


def test_exit_code_of_ansible_playbook_passes_through(lab) -> None:
    playbook = lab["tmp"] / "fail.yml"
    playbook.write_text("- hosts: all\n  gather_facts: false\n  tasks:\n"
                        "    - ansible.windows.win_regedit: {path: 'HKLM:\\SOFTWARE\\X', vaule: 1}\n")
    assert mtk("lab", "ansible-playbook", str(playbook), env=lab["env"]).returncode == 2


def test_plain_ansible_resolves_the_real_collections() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "MTK_"))}
    run = subprocess.run([str(BIN / "ansible-doc"), "-t", "module", "ansible.windows.win_regedit", "--json"],
                         check=False, capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    filename = json.loads(run.stdout)["ansible.windows.win_regedit"]["doc"]["filename"]
    assert "site-packages" in filename and "mt_eklient" not in filename


def test_production_code_never_imports_the_lab() -> None:
    code = textwrap.dedent("""\
        import importlib, pkgutil, sys
        import mt_eklient
        from mt_eklient import cli
        cli.build_parser()
        def walk(path, prefix):  # like pkgutil.walk_packages, but never descends into the lab
            for info in pkgutil.iter_modules(path, prefix):
                if info.name == "mt_eklient.lab":
                    continue
                module = importlib.import_module(info.name)
                if info.ispkg:
                    walk(module.__path__, info.name + ".")
        walk(mt_eklient.__path__, "mt_eklient.")
        for argv in (["scan", "--help"], ["verify", "--help"]):
            try:
                cli.main(argv)
            except SystemExit:
                pass
        loaded = sorted(m for m in sys.modules if m == "mt_eklient.lab" or m.startswith("mt_eklient.lab."))
        print(loaded)
        sys.exit(1 if loaded else 0)
        """)
    run = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


def test_lab_commands(lab, capsys: pytest.CaptureFixture[str]) -> None:
    os.environ["MTK_LAB_INVENTORY"] = str(lab["inventory"])
    try:
        assert cli.main(["lab", "drift", "t-2021-01", "bogus-kind"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "unknown drift kind 'bogus-kind'" in err[0]
        assert cli.main(["lab", "drift", "nohost", "unreachable"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "unknown lab host 'nohost'" in err[0]
        assert cli.main(["lab", "drift", "t-2021-01", "smb1-enabled"]) == 0
        assert "SMB1Protocol" in capsys.readouterr().out
        for unknown in ("UNKNOWN", "../etc"):  # the lab is up: the host is what is unknown, never a traceback
            assert cli.main(["lab", "facts", unknown]) == 2
            err = capsys.readouterr().err.strip().splitlines()
            assert err == [f"mtk lab: unknown lab host {unknown!r} (lab hosts: t-2016-01, t-2021-01)"], err
        assert cli.main(["lab", "facts", "t-2021-01"]) == 0
        facts = json.loads(capsys.readouterr().out)
        assert facts["optional_features"]["SMB1Protocol"] == "enabled"
        request = lab["tmp"] / "request.json"
        request.write_text(json.dumps({"services": ["WinRM"]}))
        assert cli.main(["lab", "facts", "t-2021-01", "--request", str(request)]) == 0
        assert json.loads(capsys.readouterr().out)["services"] == {"WinRM": {"start_mode": "auto", "state": "running"}}
        assert cli.main(["lab", "status"]) == 0
        assert "smb1-enabled" in capsys.readouterr().out
        assert cli.main(["lab", "reset", "t-2021-01"]) == 0
        capsys.readouterr()
        assert cli.main(["lab", "reset", "nohost"]) == 2
        assert cli.main(["lab", "status", "--json"]) == 0
        rows = {r["host"]: r for r in json.loads(capsys.readouterr().out)}
        assert rows["t-2021-01"]["drift"] == [] and rows["t-2021-01"]["class"] == "-"
    finally:
        del os.environ["MTK_LAB_INVENTORY"]


def test_commands_before_up_say_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["lab", "status"]) == 2
    assert "run `mtk lab up`" in capsys.readouterr().err
    assert cli.main(["lab", "facts", "wm1-sono-01"]) == 2
    assert "run `mtk lab up` first" in capsys.readouterr().err
    assert cli.main(["lab", "drift", "wm1-sono-01", "unreachable"]) == 2
    assert "run `mtk lab up` first" in capsys.readouterr().err


def test_the_real_lab_inventory() -> None:
    from mt_eklient.lab.inventory import lab_hosts

    hosts = lab_hosts()
    assert len(hosts) >= 6
    assert {h["mt_profile"] for h in hosts.values()} >= {
        "sonora-review-4", "labflow-report-2", "radiant-dicom-viewer-7", "anaesthesia-kiosk-3", "standard-client",
        "modality-ct-vendor"}
    assert len({h["mtk_lab_edition"] for h in hosts.values()}) >= 2
    wm_group = {name for name, h in hosts.items() if "wm" in h["group_names"]}
    assert {"m1-ct-01", "wm1-mismatch-01"} <= wm_group  # a build aimed at `wm` reaches them and must refuse
    assert hosts["wm1-mismatch-01"]["mt_class"] == "WM1" and hosts["wm1-mismatch-01"]["mt_profile"] == "standard-client"
