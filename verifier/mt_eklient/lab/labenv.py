"""The environment under which ansible-playbook runs against the lab."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from . import paths


def lab_variables(base: dict[str, str] | None = None) -> dict[str, str]:
    """The variables that point an Ansible run (ansible-playbook, ansible-runner, an AWX job) at the
    lab, given the environment they start from (default: this process'). The one place that knows."""
    env = os.environ if base is None else base
    cfg = paths.ANSIBLE_DIR / "ansible.cfg"
    user_paths = env.get("ANSIBLE_COLLECTIONS_PATH", "~/.ansible/collections:/usr/share/ansible/collections")
    # the stand-ins import mt_eklient: make it importable even without an installed package
    package_root = str(paths.PACKAGE_DIR.parents[1])
    return {
        "ANSIBLE_CONFIG": str(cfg),
        # shadow tree first: it replaces ansible.windows and community.windows for this run only
        "ANSIBLE_COLLECTIONS_PATH": os.pathsep.join([str(paths.SHADOW_COLLECTIONS), user_paths]),
        "ANSIBLE_INVENTORY": env.get("MTK_LAB_INVENTORY", str(paths.LAB_INVENTORY)),
        "ANSIBLE_ROLES_PATH": str(paths.REPO_ROOT / "roles"),
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "MTK_LAB_DIR": str(paths.lab_dir().resolve()),
        "MTK_LAB": "1",
        "PYTHONPATH": os.pathsep.join([package_root, *filter(None, [env.get("PYTHONPATH")])]),
    }


def lab_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env.update(lab_variables(env))
    return env


def ansible_command(name: str = "ansible-playbook") -> str:
    """The tool next to this interpreter (the venv's), else the one on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    found = shutil.which(name)
    if not found:
        raise FileNotFoundError(f"{name} not found next to {sys.executable} or on PATH")
    return found
