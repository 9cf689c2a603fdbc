"""ansible.windows.win_ping, win_reboot and win_updates."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from typing import Any

from ..fresh import CURRENT_VERSION
from ..registry import Registry
from . import Ctx, ModuleFailure, State
from .features import settle

CATEGORIES = ("Application", "Connectors", "CriticalUpdates", "DefinitionUpdates", "DeveloperKits", "Drivers",
              "FeaturePacks", "Guidance", "Microsoft Defender Antivirus", "SecurityUpdates", "ServicePacks",
              "Tools", "UpdateRollups", "Updates", "Upgrades", "*")


def ping(state: State, params: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
    if params["data"] == "crash":  # win_ping.ps1 throws on purpose for this value
        raise ModuleFailure("boom")
    return {"changed": False, "ping": params["data"]}


def _boot(state: State) -> None:
    state["lab"]["last_boot"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    state["lab"]["pending_reboot"] = False
    settle(state)


def reboot(state: State, params: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
    _boot(state)  # in check mode the runner throws this copy away, like the real action plugin
    ctx.applied += 1
    return {"changed": True, "rebooted": True, "elapsed": 0, "unreachable": False}


def _filtered(update: dict[str, Any], params: dict[str, Any]) -> list[str]:
    reasons = []
    categories = params["category_names"]
    if "*" not in categories and update["category"].lower() not in {c.lower() for c in categories}:
        reasons.append("category_names")
    text = f"{update['title']} {update['id']}"
    if params.get("accept_list") and not any(re.search(p, text, re.IGNORECASE) for p in params["accept_list"]):
        reasons.append("accept_list")
    if params.get("reject_list") and any(re.search(p, text, re.IGNORECASE) for p in params["reject_list"]):
        reasons.append("reject_list")
    return reasons


def updates(state: State, params: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
    bad = [c for c in params["category_names"] if c.lower() not in {k.lower() for k in CATEGORIES}]
    if bad:
        raise ModuleFailure(f"Unknown category_name {bad[0]}, must be one of ({', '.join(CATEGORIES)})")
    found, filtered = {}, {}
    selected = []
    for update in state["available_updates"]:
        update_id = str(uuid.uuid5(uuid.NAMESPACE_URL, update["id"]))
        info = {"title": update["title"], "kb": [update["id"][2:]], "categories": [update["category"]],
                "id": update_id, "downloaded": False, "installed": False}
        reasons = _filtered(update, params)
        if reasons:
            filtered[update_id] = dict(info, filtered_reasons=reasons, filtered_reason=reasons[0])
        else:
            found[update_id] = info
            selected.append((update, info))
    result: dict[str, Any] = {"changed": False, "updates": found, "filtered_updates": filtered,
                              "found_update_count": len(found), "installed_update_count": 0,
                              "failed_update_count": 0, "reboot_required": False, "rebooted": False}
    if params["state"] == "searched" or not selected:
        return result
    result["changed"] = True
    if params["state"] == "downloaded":
        for _, info in selected:
            info["downloaded"] = True
        return result
    reg = Registry(state["registry"])
    for update, info in selected:
        info.update(downloaded=True, installed=True)
        state["hotfixes"].append({"id": update["id"], "description": "Security Update",
                                  "installed_on": date.today().isoformat(), "ubr": update.get("ubr")})
        state["available_updates"].remove(update)
        if update.get("ubr"):
            current = reg.get(CURRENT_VERSION, "UBR")
            reg.set(CURRENT_VERSION, "UBR", "REG_DWORD", max(int(update["ubr"]), int(current["value"]) if current else 0))
        ctx.applied += 1
    result["installed_update_count"] = len(selected)
    state["lab"]["pending_reboot"] = True
    result["reboot_required"] = True
    if params["reboot"]:
        _boot(state)
        result.update(rebooted=True, reboot_required=False)
    return result
