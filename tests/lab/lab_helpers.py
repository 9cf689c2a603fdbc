"""Shared helpers for tests/lab."""

from __future__ import annotations

import copy
import json
from datetime import date
from typing import Any

from mt_eklient.lab import store
from mt_eklient.lab.fresh import HostSpec, fresh_state
from mt_eklient.lab.runner import run_standin

TODAY = date(2026, 11, 25)
HOST = "wm1-test-01"
APPLOCKER_XML = """<AppLockerPolicy Version="1">
  <RuleCollection Type="Exe" EnforcementMode="Enabled">
    <FilePathRule Id="921cc481-6e17-4653-8f75-050b80acca20" Name="Windows" Description="" UserOrGroupSid="S-1-1-0" Action="Allow">
      <Conditions><FilePathCondition Path="%WINDIR%\\*" /></Conditions>
    </FilePathRule>
    <FilePathRule Id="a61c8b2c-a319-4cd0-9690-d2177cad7b51" Name="Program Files" Description="" UserOrGroupSid="S-1-1-0" Action="Allow">
      <Conditions><FilePathCondition Path="%PROGRAMFILES%\\*" /></Conditions>
    </FilePathRule>
  </RuleCollection>
</AppLockerPolicy>"""


def fresh(edition: str = "win10-ltsc-2021", host: str = HOST, **kwargs: Any) -> dict[str, Any]:
    return fresh_state(HostSpec(name=host, edition=edition, **kwargs), today=TODAY)


def up(edition: str = "win10-ltsc-2021", host: str = HOST, **kwargs: Any) -> dict[str, Any]:
    state = fresh(edition, host, **kwargs)
    store.reset(host, state)
    return copy.deepcopy(state)


def script(name: str, params: str = "[object[]]$Changes", should_process: bool = True) -> str:
    binding = "[CmdletBinding(SupportsShouldProcess)]" if should_process else "[CmdletBinding()]"
    return f"# mtk-applier: {name}\n{binding}\nparam({params})\n$Ansible.Changed = $false\n"


APPLIER_PARAMS = {
    "registry": "[object[]]$Changes = @()",
    "audit_policy": "[object[]]$Changes = @()",
    "security_policy": "[object[]]$Changes = @()",
    "defender": "[object[]]$Changes = @()",
    "applocker": "[Parameter(Mandatory)][string]$PolicyXml, [object[]]$Changes = @()",
    "firewall_rules": "[Parameter(Mandatory)][string]$Group, [object[]]$Changes = @()",
    "firewall_disable": "[string[]]$Names = @()",
}


def applier(name: str, parameters: dict[str, Any], check_mode: bool = False, host: str = HOST,
            depth: int | None = None) -> dict[str, Any]:
    args: dict[str, Any] = {"script": script(name, APPLIER_PARAMS[name]), "parameters": parameters}
    if depth is not None:
        args["depth"] = depth
    return run_standin("ansible.windows.win_powershell", host, args, check_mode=check_mode, diff=True)


def state_json(host: str = HOST) -> str:
    return json.dumps(store.read_state(host), sort_keys=True)


def journal(host: str = HOST) -> list[dict[str, Any]]:
    return store.read_journal(host)
