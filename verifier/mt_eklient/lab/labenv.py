"""The environment under which ansible-playbook runs against the lab."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from . import paths


def lab_variables(base: dict[str, str] | None = None) -> dict[str, str]:
    """The variables that point an Ansible run (ansible-playbook, ansible-runner, an AWX job) at the
    lab, given the environment it starts from (default: this process'). The one place that knows.

    Over WinRM (the default) only the inventory and its vault password are the lab's: the real
    collections run through the real winrm connection. In-process (`mtk lab up --in-process`) the
    shadow collections come first and modules never leave Ansible."""
    from .inventory import vault_password_file

    env = os.environ if base is None else base
    inventory = env.get("MTK_LAB_INVENTORY") or str(paths.lab_inventory())
    out = {
        "ANSIBLE_INVENTORY": inventory,
        "ANSIBLE_ROLES_PATH": str(paths.REPO_ROOT / "roles"),
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "MTK_LAB_DIR": str(paths.lab_dir().resolve()),
        "MTK_LAB": "1",
    }
    secret = vault_password_file(inventory)
    if secret is not None and not env.get("ANSIBLE_VAULT_PASSWORD_FILE"):
        out["ANSIBLE_VAULT_PASSWORD_FILE"] = str(secret.resolve())
    if in_process():
        user_paths = env.get("ANSIBLE_COLLECTIONS_PATH", "~/.ansible/collections:/usr/share/ansible/collections")
        # the stand-ins import mt_eklient: make it importable even without an installed package
        package_root = str(paths.PACKAGE_DIR.parents[1])
        out.update({
            "ANSIBLE_CONFIG": str(paths.ANSIBLE_DIR / "ansible.cfg"),
            # shadow tree first: it replaces ansible.windows and community.windows for this run only
            "ANSIBLE_COLLECTIONS_PATH": os.pathsep.join([str(paths.SHADOW_COLLECTIONS), user_paths]),
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            "PYTHONPATH": os.pathsep.join([package_root, *filter(None, [env.get("PYTHONPATH")])]),
        })
    return out


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


def transport_file() -> Path:
    return paths.lab_dir() / "transport"


def set_transport(kind: str) -> None:
    transport_file().parent.mkdir(parents=True, exist_ok=True)
    transport_file().write_text(kind + "\n", encoding="utf-8")


def in_process() -> bool:
    """True when `mtk lab up --in-process` set the lab up: modules run as shadow action plugins."""
    try:
        return transport_file().read_text(encoding="utf-8").strip() == "inprocess"
    except FileNotFoundError:
        return os.environ.get("MTK_LAB_TRANSPORT") == "inprocess"
