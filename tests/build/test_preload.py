"""The preload callback (playbooks/callback_plugins/mt_eklient_preload.py): Ansible forks a worker per
host and task, and the roles' action plugins import mt-eklient there. Imported once in the main
process, the modules and the parsed catalog are inherited by every worker instead."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CALLBACKS = REPO / "playbooks" / "callback_plugins"

# Runs in the forked worker: reports what it found there before importing anything itself.
PROBE = '''
import sys
from ansible.plugins.action import ActionBase

class ActionModule(ActionBase):
    def run(self, tmp=None, task_vars=None):
        catalog = sys.modules.get("mt_eklient.catalog")
        return {"changed": False, "modules": sorted(m for m in sys.modules if m.startswith("mt_eklient.build")),
                "catalog_loaded": bool(catalog and catalog.load_catalog.cache_info().currsize)}
'''
PLAY = """- hosts: localhost
  gather_facts: false
  tasks:
    - name: Probe the worker
      probe:
"""


def _probe(tmp_path: Path, callback_dir: Path) -> dict:
    (tmp_path / "action_plugins").mkdir(exist_ok=True)
    (tmp_path / "action_plugins" / "probe.py").write_text(PROBE, encoding="utf-8")
    (tmp_path / "play.yml").write_text(PLAY, encoding="utf-8")
    (tmp_path / "ansible.cfg").write_text("[defaults]\n", encoding="utf-8")  # not the repository's
    env = dict(os.environ, ANSIBLE_CALLBACK_PLUGINS=str(callback_dir), ANSIBLE_STDOUT_CALLBACK="json",
               ANSIBLE_CONFIG=str(tmp_path / "ansible.cfg"), ANSIBLE_LOCALHOST_WARNING="False")
    result = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), str(tmp_path / "play.yml")],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return json.loads(result.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]


@pytest.mark.parametrize("preload", [True, False], ids=["with-preload", "without"])
def test_workers_inherit_mt_eklient_from_the_main_process(tmp_path, preload):
    found = _probe(tmp_path, CALLBACKS if preload else tmp_path / "no-callbacks")
    assert ("mt_eklient.buildplan" in found["modules"]) is preload, found
    assert ("mt_eklient.buildverify" in found["modules"]) is preload, found
    assert found["catalog_loaded"] is preload, found


def test_every_playbook_gets_the_preload_without_configuration():
    """Ansible loads callback plugins next to the playbook being run, for ansible-playbook and
    ansible-runner (AWX, which replaces ANSIBLE_CALLBACK_PLUGINS) alike: no ansible.cfg entry needed."""
    source = (CALLBACKS / "mt_eklient_preload.py").read_text(encoding="utf-8")
    assert "CALLBACK_NEEDS_ENABLED = False" in source
    assert {p.parent for p in (REPO / "playbooks").glob("*.yml")} == {CALLBACKS.parent}
