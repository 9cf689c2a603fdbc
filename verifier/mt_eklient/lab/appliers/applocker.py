"""`# mtk-applier: applocker` (roles/mt_whitelisting/files/applocker.ps1).

PolicyXml: the whole local policy, set (Set-AppLockerPolicy without -Merge: a replacement) on every
call - the controller calls it only when its change set lists an AppLocker difference. Changes:
[{item, before, after}], the diff. A policy Windows refuses fails the run.
"""

from __future__ import annotations

from typing import Any

from .. import applockerxml
from . import ApplierError, Outcome, State, lower_keys, take


def apply(state: State, params: dict[str, Any], check_mode: bool) -> Outcome:
    p = take(params, "applocker", {"PolicyXml": str, "Changes": list}, required=("PolicyXml",))
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for index, raw in enumerate(p.get("Changes") or []):
        item = lower_keys(raw, f"applocker: Changes[{index}]", {"item", "before", "after"}, {"item"})
        before[str(item["item"])], after[str(item["item"])] = item.get("before"), item.get("after")
    try:
        state["applocker"]["policy_xml"] = applockerxml.normalise(p["PolicyXml"])
    except applockerxml.PolicyError as err:
        raise ApplierError(f"Set-AppLockerPolicy : {err}") from None
    return Outcome(True, 1, before, after, {})
