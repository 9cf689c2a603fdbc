"""ansible.windows.win_optional_feature (Enable/Disable-WindowsOptionalFeature -Online)."""

from __future__ import annotations

from typing import Any

from . import Ctx, ModuleFailure, State


def _find(features: dict[str, Any], name: str) -> str:
    for known in features:
        if known.lower() == name.lower():
            return known
    raise ModuleFailure(f"Failed to find feature '{name}'")


def run(state: State, params: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
    features = state["optional_features"]
    names = [_find(features, n) for n in params["name"]]
    present = params["state"] == "present"
    if params.get("source"):
        raise ModuleFailure(f"Path could not be found '{params['source']}'")
    todo = [n for n in names if (features[n]["state"] != "enabled") == present]
    if present:
        for name in todo:
            parent = features[name].get("parent")
            if parent and features[parent]["state"] != "enabled":
                if not params["include_parent"]:
                    raise ModuleFailure(f"Enable-WindowsOptionalFeature : One or several parent features are "
                                        f"disabled so current feature can not be enabled. ({name} needs {parent})")
                if parent not in todo:
                    todo.append(parent)
    for name in todo:
        features[name]["state"] = "enabled" if present else "disabled"
    if not present:  # disabling a parent disables its children, as DISM does
        for name, feature in features.items():
            if feature.get("parent") in todo and feature["state"] == "enabled":
                feature["state"] = "disabled"
    if todo:
        ctx.applied += len(todo)
        state["lab"]["pending_reboot"] = True
    return {"changed": bool(todo), "reboot_required": bool(todo) and not ctx.check_mode}
