"""Services as Windows keeps them: configuration in the registry (Start, DelayedAutostart,
DisplayName, ImagePath under HKLM\\SYSTEM\\CurrentControlSet\\Services\\<name>) and the runtime
state (`state["services"][name]["state"]`). Keeping the start mode only in the registry makes a
registry write and a win_service call see the same thing, as on Windows."""

from __future__ import annotations

from typing import Any

from .registry import Registry

SERVICES_KEY = "HKLM\\SYSTEM\\CurrentControlSet\\Services"
START_BY_MODE = {"auto": 2, "delayed": 2, "manual": 3, "disabled": 4}


def key(name: str) -> str:
    return f"{SERVICES_KEY}\\{name}"


def find(state: dict[str, Any], name: str) -> str | None:
    """The service's key name, matched on name or display name (case-insensitive), like Get-Service."""
    services = state["services"]
    wanted = name.casefold()
    for svc in services:
        if svc.casefold() == wanted:
            return svc
    reg = Registry(state["registry"])
    for svc in services:
        display = reg.get(key(svc), "DisplayName")
        if display and str(display["value"]).casefold() == wanted:
            return svc
    return None


def start_mode(state: dict[str, Any], name: str) -> str:
    reg = Registry(state["registry"])
    start = reg.get(key(name), "Start")
    delayed = reg.get(key(name), "DelayedAutostart")
    value = int(start["value"]) if start else 3
    if value == 2:
        return "delayed" if delayed and int(delayed["value"]) == 1 else "auto"
    return {0: "boot", 1: "system", 3: "manual", 4: "disabled"}.get(value, "manual")


def set_start_mode(state: dict[str, Any], name: str, mode: str) -> bool:
    """True when anything changed. Leaving delayed start clears DelayedAutostart as sc.exe does."""
    reg = Registry(state["registry"])
    changed = reg.set(key(name), "Start", "REG_DWORD", START_BY_MODE[mode])
    if mode == "delayed":
        changed = reg.set(key(name), "DelayedAutostart", "REG_DWORD", 1) or changed
    elif reg.get(key(name), "DelayedAutostart"):
        changed = reg.delete_value(key(name), "DelayedAutostart") or changed
    return changed


def install(state: dict[str, Any], name: str, display_name: str, start: str, run_state: str, image: str,
            description: str = "", account: str = "LocalSystem") -> None:
    reg = Registry(state["registry"])
    reg.set(key(name), "DisplayName", "REG_SZ", display_name)
    reg.set(key(name), "ImagePath", "REG_EXPAND_SZ", image)
    reg.set(key(name), "ObjectName", "REG_SZ", account)
    reg.set(key(name), "Type", "REG_DWORD", 0x10 if "svchost" not in image else 0x20)
    if description:
        reg.set(key(name), "Description", "REG_SZ", description)
    set_start_mode(state, name, start)
    state["services"][name] = {"state": run_state}


def describe(state: dict[str, Any], name: str) -> dict[str, Any]:
    """win_service's return values for an installed service."""
    reg = Registry(state["registry"])

    def text(value: str) -> str:
        found = reg.get(key(name), value)
        return str(found["value"]) if found else ""

    depended_by = sorted(s for s in state["services"] if s != name and any(
        d.casefold() == name.casefold() for d in (reg.get(key(s), "DependOnService") or {"value": []})["value"]))
    deps = reg.get(key(name), "DependOnService")
    return {
        "exists": True,
        "name": name,
        "display_name": text("DisplayName"),
        "state": state["services"][name]["state"],
        "start_mode": start_mode(state, name),
        "path": text("ImagePath"),
        "can_pause_and_continue": False,
        "description": text("Description"),
        "username": text("ObjectName") or "LocalSystem",
        "desktop_interact": False,
        "dependencies": list(deps["value"]) if deps else [],
        "depended_by": depended_by,
    }
