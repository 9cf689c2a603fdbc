"""The lab's hosts and their variables, read through Ansible's own inventory code so that
group_vars/host_vars merge exactly as they do for ansible-playbook."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import paths

KEEP_PREFIXES = ("mt_", "mtk_lab_")


def lab_hosts(source: str | Path | None = None) -> dict[str, dict[str, Any]]:
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.vars.manager import VariableManager

    path = Path(source) if source else paths.LAB_INVENTORY
    if not path.exists():
        raise FileNotFoundError(f"no lab inventory at {path}")
    loader = DataLoader()
    inventory = InventoryManager(loader=loader, sources=[str(path)])
    variables = VariableManager(loader=loader, inventory=inventory)
    out: dict[str, dict[str, Any]] = {}
    for host in sorted(inventory.get_hosts(), key=lambda h: h.name):
        hostvars = variables.get_vars(host=host, include_hostvars=False)
        out[host.name] = {k: v for k, v in hostvars.items() if k.startswith(KEEP_PREFIXES)}
        out[host.name]["group_names"] = sorted(hostvars.get("group_names", []))
    return out
