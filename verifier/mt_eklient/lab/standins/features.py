"""ansible.windows.win_optional_feature (Enable/Disable-WindowsOptionalFeature -Online)."""

from __future__ import annotations

from typing import Any

from . import Ctx, ModuleFailure, State

# Enable/Disable-WindowsOptionalFeature -NoRestart return RestartNeeded and leave the feature
# EnablePending/DisablePending: the old state (e.g. the SMBv1 server) runs until the reboot. The lab
# treats every feature change so; only SMB1Protocol is ever changed by the build.
PENDING = {"present": "enable_pending", "absent": "disable_pending"}
SETTLED = {"enable_pending": "enabled", "disable_pending": "disabled"}


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
    # As the real module: only Enabled*/Disabled* count as done, so a pending feature is changed again.
    target = "enabled" if present else "disabled"
    todo = [n for n in names if features[n]["state"] != target]
    if present:
        for name in todo:
            parent = features[name].get("parent")
            if parent and features[parent]["state"] not in ("enabled", "enable_pending"):
                if not params["include_parent"]:
                    raise ModuleFailure(f"Enable-WindowsOptionalFeature : One or several parent features are "
                                        f"disabled so current feature can not be enabled. ({name} needs {parent})")
                if parent not in todo:
                    todo.append(parent)
    for name in todo:
        features[name]["state"] = PENDING[params["state"]]
    if not present:  # disabling a parent disables its children, as DISM does
        for name, feature in features.items():
            if feature.get("parent") in todo and feature["state"] == "enabled":
                feature["state"] = PENDING["absent"]
    if todo:
        ctx.applied += len(todo)
        state["lab"]["pending_reboot"] = True
    return {"changed": bool(todo), "reboot_required": bool(todo) and not ctx.check_mode}


def complete_pending(state: State) -> None:
    """A restart completes the pending feature changes."""
    for feature in state["optional_features"].values():
        feature["state"] = SETTLED.get(feature["state"], feature["state"])
