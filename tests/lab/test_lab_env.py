"""`mtk lab env`: the environment that points any Ansible run at the lab, in both formats."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from mt_eklient import cli
from mt_eklient.lab import paths
from mt_eklient.lab.labenv import lab_environment, lab_variables


def env_json(capsys, *args: str) -> dict[str, str]:
    assert cli.main(["lab", *args, "env", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_over_winrm_only_the_inventory_and_its_vault_password_are_the_labs(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("MTK_LAB_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("MTK_LAB_TRANSPORT", raising=False)
    monkeypatch.delenv("ANSIBLE_VAULT_PASSWORD_FILE", raising=False)
    env = env_json(capsys)
    assert "ANSIBLE_COLLECTIONS_PATH" not in env and "ANSIBLE_CONFIG" not in env  # the real collections
    assert env["ANSIBLE_INVENTORY"] == str(paths.LAB_INVENTORY)
    assert env["ANSIBLE_VAULT_PASSWORD_FILE"] == str((paths.LAB_INVENTORY / "vault-password.txt").resolve())


def test_json_names_the_shadow_collections_the_lab_dir_and_inventory(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("MTK_LAB_TRANSPORT", "inprocess")
    monkeypatch.setenv("MTK_LAB_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("MTK_LAB_INVENTORY", str(tmp_path / "inv"))
    env = env_json(capsys)
    assert env["ANSIBLE_COLLECTIONS_PATH"].split(os.pathsep)[0] == str(paths.SHADOW_COLLECTIONS)
    assert env["ANSIBLE_CONFIG"] == str(paths.ANSIBLE_DIR / "ansible.cfg")
    assert env["MTK_LAB_DIR"] == str(tmp_path / "state") and env["ANSIBLE_INVENTORY"] == str(tmp_path / "inv")
    assert env["ANSIBLE_ROLES_PATH"] == str(paths.REPO_ROOT / "roles")
    assert env_json(capsys, "--inventory", str(tmp_path / "other"))["ANSIBLE_INVENTORY"] == str(tmp_path / "other")
    # Only the lab's settings: nothing else of this process' environment is printed.
    assert set(env) == set(lab_variables())


def test_shell_format_sets_the_same_values(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("MTK_LAB_TRANSPORT", "inprocess")
    monkeypatch.setenv("MTK_LAB_DIR", str(tmp_path / "with space's"))
    expected = env_json(capsys)
    mtk = Path(sys.executable).with_name("mtk")
    script = (f'eval "$({mtk} lab env)" && {sys.executable} -c '
              f'"import json, os; print(json.dumps({{k: os.environ[k] for k in {sorted(expected)!r}}}))"')
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True, timeout=60,
                            env=dict(os.environ))
    assert json.loads(result.stdout) == expected


def test_the_lab_commands_use_the_same_settings(monkeypatch):
    monkeypatch.setenv("SOMETHING_ELSE", "kept")
    env = lab_environment()
    assert env["SOMETHING_ELSE"] == "kept"
    assert {k: env[k] for k in lab_variables()} == lab_variables()


def test_later_lab_commands_use_the_inventory_lab_up_was_given(capsys, tmp_path):
    # No MTK_LAB_INVENTORY (the fixture clears it): `mtk lab up --inventory` is remembered with the lab.
    inventory = tmp_path / "my-lab"
    inventory.mkdir()
    (inventory / "hosts.yml").write_text("all:\n  hosts:\n    t-2021-01:\n      mtk_lab_edition: win10-ltsc-2021\n")
    assert cli.main(["lab", "--inventory", str(inventory), "up", "--in-process"]) == 0
    capsys.readouterr()
    assert paths.lab_inventory() == inventory.resolve()
    assert env_json(capsys)["ANSIBLE_INVENTORY"] == str(inventory.resolve())
    assert cli.main(["lab", "reset"]) == 0 and capsys.readouterr().out.strip() == "reset t-2021-01"
    assert cli.main(["lab", "up", "--in-process"]) == 0  # the checkout's lab again
    capsys.readouterr()
    assert paths.lab_inventory() == paths.LAB_INVENTORY


def test_an_installed_package_finds_the_checkouts_lab_from_the_working_directory(tmp_path):
    # A package installed outside the checkout (site-packages) finds inventories/lab from the cwd up.
    import shutil
    package = tmp_path / "site-packages"
    shutil.copytree(paths.PACKAGE_DIR.parent, package / "mt_eklient", ignore=shutil.ignore_patterns("__pycache__"))
    code = "from mt_eklient.lab import paths; print(paths.PACKAGE_DIR); print(paths.LAB_INVENTORY)"
    run = subprocess.run([sys.executable, "-c", code], cwd=paths.REPO_ROOT / "docs", capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONPATH": str(package)})
    assert run.stdout.splitlines() == [str(package / "mt_eklient" / "lab"), str(paths.LAB_INVENTORY)]
