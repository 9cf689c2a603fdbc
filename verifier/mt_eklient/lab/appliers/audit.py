"""`# mtk-applier: audit_policy` (roles/mt_monitoring/files/audit_policy.ps1).

Changes: [{item: "{guid}", before, after, setting}], setting one of no_auditing|success|failure|
success_and_failure: each is set (auditpol /set /subcategory:{GUID}), nothing is compared; a GUID
auditpol does not know fails the run. Diff: {item: before} / {item: after}. No $Ansible.Result.
"""

from __future__ import annotations

from typing import Any

from ..fresh import defaults
from . import ApplierError, Outcome, State, lower_keys, take

SETTINGS = ("no_auditing", "success", "failure", "success_and_failure")


def apply(state: State, params: dict[str, Any], check_mode: bool) -> Outcome:
    p = take(params, "audit_policy", {"Changes": list})
    known = defaults()["audit_subcategories"]
    policy = state["audit_policy"]
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for index, raw in enumerate(p.get("Changes") or []):
        item = lower_keys(raw, f"audit_policy: Changes[{index}]", {"item", "before", "after", "setting"},
                          {"item", "setting"})
        guid = str(item["item"]).lower()
        setting = str(item["setting"])
        if setting not in SETTINGS:
            raise ApplierError(f"unknown audit setting '{setting}' for {guid}")
        if guid not in known:  # auditpol: Error 0x00000057 occurred: The parameter is incorrect.
            raise ApplierError(f"auditpol /set {guid} failed with exit code 87")
        before[str(item["item"])], after[str(item["item"])] = item.get("before"), item.get("after")
        policy[guid] = setting
    return Outcome(changed=bool(after), applied=len(after), before=before, after=after, result={})
