"""ansible.windows.win_service: start mode and run state of installed services (win_service.ps1
semantics: a disabled service cannot start, no service can pause, a missing one needs `path`)."""

from __future__ import annotations

from typing import Any

from .. import winservices
from ..registry import Registry
from . import Ctx, ModuleFailure, State

_DIFF_STATE = {"running": "started", "stopped": "stopped", "paused": "paused"}
_SETTABLE = ("display_name", "description", "path", "username", "dependencies")


def _diff(state: State, name: str | None) -> Any:
    if name is None:
        return ""
    info = winservices.describe(state, name)
    return {"name": name, "display_name": info["display_name"], "description": info["description"],
            "path": info["path"], "start_mode": info["start_mode"], "state": _DIFF_STATE[info["state"]],
            "username": info["username"], "dependencies": info["dependencies"]}


def _configure(state: State, name: str, params: dict[str, Any]) -> int:
    """Set the plain configuration options given; returns how many changed."""
    reg = Registry(state["registry"])
    key = winservices.key(name)
    values = {"display_name": ("DisplayName", "REG_SZ"), "description": ("Description", "REG_SZ"),
              "path": ("ImagePath", "REG_EXPAND_SZ"), "username": ("ObjectName", "REG_SZ")}
    changed = 0
    for option, (value_name, reg_type) in values.items():
        if params.get(option) is not None:
            changed += reg.set(key, value_name, reg_type, str(params[option]))
    if params.get("dependencies") is not None:
        current = (reg.get(key, "DependOnService") or {"value": []})["value"]
        wanted = [str(d) for d in params["dependencies"]]
        action = params.get("dependency_action") or "set"
        if action == "add":
            wanted = current + [d for d in wanted if d.casefold() not in {c.casefold() for c in current}]
        elif action == "remove":
            wanted = [c for c in current if c.casefold() not in {d.casefold() for d in wanted}]
        changed += reg.set(key, "DependOnService", "REG_MULTI_SZ", wanted)
    if params.get("start_mode"):
        changed += winservices.set_start_mode(state, name, params["start_mode"])
    return changed


def _set_state(state: State, name: str, wanted: str | None) -> int:
    if not wanted:
        return 0
    current = state["services"][name]["state"]
    if wanted == "paused":
        raise ModuleFailure(f"failed to pause service {name}: The service does not support pausing")
    if wanted in ("started", "restarted") and winservices.start_mode(state, name) == "disabled":
        raise ModuleFailure(f"Service '{name}' cannot be started: Cannot start service {name} on computer '.'. "
                            "The service cannot be started, either because it is disabled or because it has no "
                            "enabled devices associated with it")
    if wanted == "started" and current != "running":
        state["services"][name]["state"] = "running"
        return 1
    if wanted == "stopped" and current != "stopped":
        state["services"][name]["state"] = "stopped"
        return 1
    if wanted == "restarted":
        state["services"][name]["state"] = "running"
        return 1
    return 0


def run(state: State, params: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
    requested = params["name"]
    name = winservices.find(state, requested)
    before = _diff(state, name)
    if params["state"] == "absent":
        if name is None:
            return {"changed": False, "exists": False, "diff": {"before": "", "after": ""}}
        Registry(state["registry"]).delete_key(winservices.key(name))
        del state["services"][name]
        ctx.applied += 1
        return {"changed": True, "exists": False, "diff": {"before": before, "after": ""}}

    changed = 0
    if name is None:
        if params.get("path") is None:
            raise ModuleFailure(f"Service '{requested}' is not installed, need to set 'path' to create a new service")
        winservices.install(state, requested, params.get("display_name") or requested, "auto", "stopped",
                            params["path"])
        name, changed = requested, 1
    changed += _configure(state, name, params)
    changed += _set_state(state, name, params.get("state"))
    ctx.applied += changed
    info = winservices.describe(state, name)
    return dict(info, changed=bool(changed), diff={"before": before, "after": _diff(state, name)})
