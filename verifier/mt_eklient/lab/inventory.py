"""The lab's hosts and their variables, read through Ansible's own inventory code so that
group_vars/host_vars merge exactly as they do for ansible-playbook."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from . import paths

KEEP_PREFIXES = ("mt_", "mtk_lab_")
VAULT_PASSWORD_FILE = "vault-password.txt"  # next to the lab inventory; Ansible ignores *.txt there


def vault_password_file(source: str | Path | None = None) -> Path | None:
    """$ANSIBLE_VAULT_PASSWORD_FILE, else the lab inventory's own vault-password.txt."""
    if os.environ.get("ANSIBLE_VAULT_PASSWORD_FILE"):
        return Path(os.environ["ANSIBLE_VAULT_PASSWORD_FILE"])
    path = paths.lab_inventory(source)
    candidate = (path if path.is_dir() else path.parent) / VAULT_PASSWORD_FILE
    return candidate if candidate.is_file() else None


def _read(source: str | Path | None) -> list[tuple[str, dict[str, Any]]]:
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.parsing.vault import VaultSecret
    from ansible.vars.manager import VariableManager

    path = paths.lab_inventory(source)
    if not path.exists():
        raise FileNotFoundError(f"no lab inventory at {path} (give `mtk lab --inventory PATH`, or run from the "
                                "repository checkout)")
    loader = DataLoader()
    secret_file = vault_password_file(path)
    if secret_file is not None:
        loader.set_vault_secrets([("default", VaultSecret(secret_file.read_bytes().strip()))])
    inventory = InventoryManager(loader=loader, sources=[str(path)])
    variables = VariableManager(loader=loader, inventory=inventory)
    return [(host.name, variables.get_vars(host=host, include_hostvars=False))
            for host in sorted(inventory.get_hosts(), key=lambda h: h.name)]


def lab_hosts(source: str | Path | None = None) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, hostvars in _read(source):
        out[name] = {k: v for k, v in hostvars.items() if k.startswith(KEEP_PREFIXES)}
        out[name]["group_names"] = sorted(hostvars.get("group_names", []))
    return out


def lab_accounts(source: str | Path | None = None) -> dict[str, tuple[str, str]]:
    """{host: (ansible_user, ansible_password)}: the account each lab endpoint accepts. ValueError
    when a host has none or its vaulted password cannot be decrypted."""
    out = {}
    for name, hostvars in _read(source):
        try:
            user, password = str(hostvars["ansible_user"]), str(hostvars["ansible_password"])
        except KeyError as err:
            raise ValueError(f"lab host {name}: no {err.args[0]} in the lab inventory") from None
        except Exception as err:  # noqa: BLE001 - ansible's vault errors have no common base worth importing
            raise ValueError(f"lab host {name}: cannot decrypt ansible_password ({type(err).__name__}); "
                             f"vault password file: {vault_password_file(source) or 'none found'}") from None
        out[name] = (user, password)
    return out
