"""`# mtk-applier: firewall_disable` (roles/mt_segmentation/files/firewall_disable.ps1).

Names: rules to disable (Disable-NetFirewallRule -Name, one call per name). No comparison: the
controller's change set decided. A name no rule has fails as Windows does ("No MSFT_NetFirewallRule
objects found"). Diff: {NAME: "enabled"} / {NAME: "disabled"}.
"""

from __future__ import annotations

from typing import Any

from . import ApplierError, Outcome, State, take


def apply(state: State, params: dict[str, Any], check_mode: bool) -> Outcome:
    names = [str(n) for n in take(params, "firewall_disable", {"Names": list}).get("Names") or []]
    rules = {str(r["name"]).casefold(): r for r in state["firewall"]["rules"]}
    for name in names:
        rule = rules.get(name.casefold())
        if rule is None:
            raise ApplierError(f"Disable-NetFirewallRule : No MSFT_NetFirewallRule objects found with property "
                               f"'InstanceID' equal to '{name}'")
        if not check_mode:
            rule["enabled"] = False
    before = {n: "enabled" for n in names}
    after = {n: "disabled" for n in names}
    return Outcome(bool(names), len(names), before, after, {})
