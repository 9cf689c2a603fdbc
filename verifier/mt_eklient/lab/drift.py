"""Drift: what happens to a built client after the build, one named change at a time, so that
`mtk scan` has something to find. Each kind changes exactly what its name says and nothing else."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import applockerxml
from .fresh import CURRENT_VERSION, NAMEPLATE_KEY
from .registry import Registry
from .winservices import key as service_key

State = dict[str, Any]
DRIFT_EXCLUSION = "C:\\Users\\Public\\Downloads"
DRIFT_RULE = "mtk-lab-drift-allow-any-out"
DRIFT_ADMIN = "support"


def _realtime_off(state: State) -> str:
    prefs = state["defender"]["preferences"]
    if prefs.get("DisableRealtimeMonitoring"):
        return ""
    prefs["DisableRealtimeMonitoring"] = True
    return "Defender real-time protection turned off (DisableRealtimeMonitoring = true)"


def _exclusion(state: State) -> str:
    paths = state["defender"]["preferences"].setdefault("ExclusionPath", [])
    if DRIFT_EXCLUSION.casefold() in {p.casefold() for p in paths}:
        return ""
    paths.append(DRIFT_EXCLUSION)
    return f"Defender exclusion added: ExclusionPath {DRIFT_EXCLUSION}"


def _allow_any_out(state: State) -> str:
    rules = state["firewall"]["rules"]
    if any(r["name"] == DRIFT_RULE for r in rules):
        return ""
    rules.append({"name": DRIFT_RULE, "display_name": "Allow any outbound", "group": "", "display_group": "",
                  "description": "added outside the build", "store": "PersistentStore", "direction": "out",
                  "action": "allow", "enabled": True, "protocol": "any", "local_ports": [], "remote_ports": [],
                  "remote_addresses": [], "program": None, "profiles": ["Domain", "Private", "Public"]})
    return f"firewall rule {DRIFT_RULE} added: outbound, allow, any protocol, any address, all profiles"


def _applocker_removed(state: State) -> str:
    empty = applockerxml.empty_policy()
    if state["applocker"]["policy_xml"] == empty:
        return ""
    state["applocker"]["policy_xml"] = empty
    return "AppLocker policy removed (every rule collection NotConfigured, no rules)"


def _local_admin(state: State) -> str:
    users = state["local_users"]
    admins = state["local_groups"]["S-1-5-32-544"]["members"]
    user = next((u for u in users if u["name"].lower() == DRIFT_ADMIN), None)
    if user is None:
        rids = [int(u["sid"].rsplit("-", 1)[1]) for u in users if u["sid"].startswith(state["machine_sid"] + "-")]
        user = {"name": DRIFT_ADMIN, "sid": f"{state['machine_sid']}-{max([1000, *rids]) + 1}", "enabled": True,
                "builtin": False}
        users.append(user)
    if user["sid"] in admins:
        return ""
    admins.append(user["sid"])
    return f"local account {DRIFT_ADMIN} ({user['sid']}) added to Administrators"


def _usb(state: State) -> str:
    changed = Registry(state["registry"]).set(service_key("USBSTOR"), "Start", "REG_DWORD", 3)
    return "USB mass storage enabled (USBSTOR Start = 3)" if changed else ""


def _hotfix_removed(state: State) -> str:
    hotfixes = state["hotfixes"]
    if not hotfixes:
        return ""
    newest = max(range(len(hotfixes)), key=lambda i: (hotfixes[i]["installed_on"], i))
    removed = hotfixes.pop(newest)
    note = f"hotfix {removed['id']} uninstalled"
    if removed.get("ubr"):  # uninstalling a cumulative update rolls the patch level back
        ubr = max([h["ubr"] for h in hotfixes if h.get("ubr")] or [state["lab"].get("media_ubr", 0)])
        Registry(state["registry"]).set(CURRENT_VERSION, "UBR", "REG_DWORD", ubr)
        note += f", UBR back to {ubr}"
    return note


def _nameplate(state: State) -> str:
    reg = Registry(state["registry"])
    current = reg.get(NAMEPLATE_KEY, "Class")
    old = str(current["value"]) if current else None
    new = "W0" if old != "W0" else "WM0"
    reg.set(NAMEPLATE_KEY, "Class", "REG_SZ", new)
    return f"nameplate class changed from {old or '(none)'} to {new}"


def _smb1(state: State) -> str:
    features = state["optional_features"]
    names = [n for n in ("SMB1Protocol", "SMB1Protocol-Client", "SMB1Protocol-Server") if n in features
             and features[n]["state"] != "enabled"]
    for name in names:
        features[name]["state"] = "enabled"
    return f"optional feature(s) enabled: {', '.join(names)}" if names else ""


def _unreachable(state: State) -> str:
    if not state["lab"].get("reachable", True):
        return ""
    state["lab"]["reachable"] = False
    state["lab"]["unreachable_reason"] = "drift: WinRM does not answer"
    return "host no longer answers on WinRM (every module call is unreachable until `mtk lab reset`)"


KINDS: dict[str, tuple[Callable[[State], str], str]] = {
    "defender-realtime-off": (_realtime_off, "turn Defender real-time protection off"),
    "av-exclusion-added": (_exclusion, f"add the Defender path exclusion {DRIFT_EXCLUSION}"),
    "firewall-allow-any-outbound": (_allow_any_out, "add an enabled outbound allow-any firewall rule"),
    "applocker-removed": (_applocker_removed, "remove the AppLocker policy (all collections NotConfigured)"),
    "local-admin-added": (_local_admin, f"create local user '{DRIFT_ADMIN}' and add it to Administrators"),
    "usb-storage-enabled": (_usb, "set USBSTOR Start to 3 (USB mass storage allowed)"),
    "hotfix-removed": (_hotfix_removed, "uninstall the newest hotfix (an LCU also rolls UBR back)"),
    "nameplate-class-changed": (_nameplate, "change the nameplate's Class value"),
    "smb1-enabled": (_smb1, "enable the SMB1Protocol optional feature(s)"),
    "unreachable": (_unreachable, "stop answering on WinRM (like a timeout)"),
}


def apply_drift(state: State, kind: str) -> str:
    """Apply one drift kind; returns what changed ('' when the host already had it)."""
    return KINDS[kind][0](state)
