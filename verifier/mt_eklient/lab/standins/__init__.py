"""Python stand-ins for the Windows modules the build uses, keyed by fully qualified name.

Each stand-in is `run(state, params, ctx) -> result`: `params` are already validated against the
real module's spec; it changes `state` in place (the runner hands it a throw-away copy in check
mode), reports item changes through `ctx.applied`, and raises `ModuleFailure` where the real
module would fail. `_background: True` in a result says the change was made by work the module
started in the background (win_updates' update task), so its own result says changed=false.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

State = dict[str, Any]


class ModuleFailure(Exception):
    def __init__(self, msg: str, **result: Any):
        super().__init__(msg)
        self.msg = msg
        self.result = result


@dataclass
class Ctx:
    host: str
    check_mode: bool
    diff: bool
    applied: int = 0
    warnings: list[str] = field(default_factory=list)


StandIn = Callable[[State, dict[str, Any], Ctx], dict[str, Any]]


def registry() -> dict[str, StandIn]:
    # imported here so that loading one action plugin does not parse every stand-in up front
    from .. import wuapi
    from . import features, firewall, groups, powershell, regedit, service, system

    return {
        "ansible.windows.win_regedit": regedit.run,
        "ansible.windows.win_service": service.run,
        "ansible.windows.win_optional_feature": features.run,
        "ansible.windows.win_group_membership": groups.run,
        "ansible.windows.win_powershell": powershell.run,
        "ansible.windows.win_ping": system.ping,
        "ansible.windows.win_reboot": system.reboot,
        "ansible.windows.win_updates": wuapi.run,
        "ansible.windows.win_firewall": firewall.run_profile,
        "community.windows.win_firewall": firewall.run_profile,
        "community.windows.win_firewall_rule": firewall.run_rule,
    }
