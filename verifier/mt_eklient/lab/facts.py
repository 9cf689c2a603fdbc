"""The collector's facts document from a lab host's state, mirroring collector/collect.ps1: the same
Request (registry [key, name] pairs with '*' for every value, services, optional_features,
local_groups, firewall_rule_groups; a missing key requests nothing), the same value forms
(unsigned DWORDs, hex binary, Win32_Service start modes - delayed start is "auto" -, snake-case
states, firewall addresses as Windows reports them, 10.20.0.0/255.255.255.0) and the same
selection of firewall rules (requested groups + every enabled allow rule).

`request=None` is the lab's convenience for `mtk lab facts` without --request: every registry
value, service, feature, group and rule the state has.
"""

from __future__ import annotations

import ipaddress
import json
import re
from datetime import UTC, datetime
from typing import Any

from . import applockerxml, clock, winservices
from .accounts import name_of
from .fresh import CURRENT_VERSION, NAMEPLATE_KEY, UNINSTALL
from .fwmodel import PROFILES
from .registry import Registry, RegistryPathError, normalise_key

COLLECTOR_VERSION = "0.1.0"
DEFENDER_POLICY = "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows Defender\\Exclusions"
LANMAN_PARAMETERS = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\LanmanServer\\Parameters"
_INT32 = re.compile(r"^-?\d+$")


def snake(text: str) -> str:
    """ConvertTo-MtkSnakeCase: 'ProfileSha256' -> profile_sha256, 'NotConfigured' -> not_configured."""
    spaced = re.sub(r"[\s-]+", "_", text.strip())
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", spaced).lower()


def windows_address(entry: str) -> str:
    """A stored CIDR as Get-NetFirewallAddressFilter shows it."""
    try:
        network = ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return entry  # keyword or range
    if network.num_addresses == 1:
        return str(network.network_address)
    if network.version == 4:
        return f"{network.network_address}/{network.netmask}"
    return str(network)


def _requested(request: dict[str, Any] | None, key: str) -> list[Any] | None:
    if request is None:
        return None
    value = request.get(key)
    return [] if value is None else list(value)


def _registry(state: dict[str, Any], request: dict[str, Any] | None, errors: list[dict[str, str]]) -> dict[str, Any]:
    reg = Registry(state["registry"])
    pairs = _requested(request, "registry")
    if pairs is None:
        return {key: {n: dict(v) for n, v in values.items()} for key, values in state["registry"].items()
                if values and key.startswith(("HKLM\\", "HKU\\"))}
    wanted: dict[str, list[str]] = {}
    presence_only: set[tuple[str, str]] = set()
    for pair in pairs:
        key, name = (pair["key"], pair.get("name", "")) if isinstance(pair, dict) else (pair[0], pair[1])
        wanted.setdefault(str(key), []).append(str(name))
        if not isinstance(pair, dict) and len(pair) > 2 and pair[2] == "presence":
            presence_only.add((str(key).casefold(), str(name).casefold()))
    out: dict[str, Any] = {}
    for key, names in wanted.items():
        try:
            hive = normalise_key(key).split("\\", 1)[0]
            if hive not in ("HKLM", "HKU"):
                raise RegistryPathError(f"unsupported registry hive in '{key}'")
        except RegistryPathError as err:
            out[key] = None
            errors.append({"section": "registry", "message": f"{key}: {err}"})
            continue
        values: dict[str, Any] = {}
        if reg.key_exists(key):
            if "*" in names:
                names = [n for n in reg.values(key) if n]
            for name in names:
                value = reg.get(key, name)
                if value is not None and (key.casefold(), name.casefold()) in presence_only:
                    values[name] = {"type": value["type"], "present": True}  # as the collector: never the data
                elif value is not None:
                    values[name] = dict(value)
        out[key] = values
    return out


def _os(state: dict[str, Any]) -> dict[str, Any]:
    reg = Registry(state["registry"])

    def value(name: str) -> Any:
        found = reg.get(CURRENT_VERSION, name)
        return found["value"] if found else None

    epoch = value("InstallDate")
    return {"edition_id": value("EditionID"), "current_build": int(value("CurrentBuild")), "ubr": value("UBR"),
            "product_name": value("ProductName"), "display_version": value("DisplayVersion") or value("ReleaseId"),
            "install_date": datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d") if epoch is not None else None,
            "sku": state["os"]["sku"], "architecture": state["os"]["architecture"]}


def _security_policy(state: dict[str, Any]) -> dict[str, Any]:
    """As parsed from `secedit /export`: numbers as integers, quoted strings unquoted, rights as lists."""
    out: dict[str, Any] = {}
    for section, entries in state["security_policy"].items():
        out[section] = {}
        for key, value in entries.items():
            if section == "Privilege Rights":
                out[section][key] = list(value)
            elif isinstance(value, str) and not _INT32.match(value):
                out[section][key] = value
            else:
                out[section][key] = int(value)
    return out


def _services(state: dict[str, Any], request: dict[str, Any] | None) -> dict[str, Any]:
    names = _requested(request, "services")
    if names is None:
        names = sorted(state["services"], key=str.casefold)
    out: dict[str, Any] = {}
    for name in names:
        found = next((s for s in state["services"] if s.casefold() == str(name).casefold()), None)
        if found is None:
            out[name] = None
            continue
        mode = winservices.start_mode(state, found)
        out[name] = {"start_mode": "auto" if mode == "delayed" else mode, "state": state["services"][found]["state"]}
    return out


def _rule(rule: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": rule["name"], "display_name": rule["display_name"], "group": rule.get("group") or None,
        "direction": rule["direction"], "action": rule["action"], "enabled": bool(rule["enabled"]),
        "protocol": rule.get("protocol") or "any", "local_ports": list(rule.get("local_ports") or []),
        "remote_ports": list(rule.get("remote_ports") or []),
        "remote_addresses": [windows_address(a) for a in rule.get("remote_addresses") or []],
        "program": rule.get("program") or None,
        "profiles": [p for p in PROFILES if p in (rule.get("profiles") or PROFILES)],
    }


def _firewall(state: dict[str, Any], request: dict[str, Any] | None) -> dict[str, Any]:
    groups = _requested(request, "firewall_rule_groups")
    rules = []
    for rule in state["firewall"]["rules"]:
        in_group = groups is None or any(g and g in (rule.get("group"), rule.get("display_group")) for g in groups)
        open_rule = rule["enabled"] and rule["action"] == "allow"
        if in_group or open_rule:
            rules.append(_rule(rule))
    profiles = {name: {"enabled": p["enabled"], "default_inbound_action": p["default_inbound_action"],
                       "default_outbound_action": p["default_outbound_action"],
                       "allow_local_firewall_rules": p["allow_local_firewall_rules"],
                       "log_allowed": p.get("log_allowed", False), "log_blocked": p.get("log_blocked", False)}
                for name, p in state["firewall"]["profiles"].items()}
    return {"profiles": profiles, "rules": rules}


def _defender(state: dict[str, Any]) -> dict[str, Any]:
    defender = state["defender"]
    if not defender.get("present"):
        return {"present": False, "preferences": None, "status": None}
    prefs = dict(defender["preferences"])
    reg = Registry(state["registry"])
    for sub, pref in (("Paths", "ExclusionPath"), ("Processes", "ExclusionProcess"), ("Extensions", "ExclusionExtension")):
        local = list(prefs.get(pref) or [])
        policy = [n for n in reg.values(f"{DEFENDER_POLICY}\\{sub}") if n]  # Get-MpPreference merges them
        prefs[pref] = local + [p for p in policy if p.casefold() not in {x.casefold() for x in local}]
    prefs.setdefault("ExclusionIpAddress", [])
    for name in ("ScanScheduleTime", "ScanScheduleQuickScanTime"):  # the collector reports HH:mm
        if isinstance(prefs.get(name), str):
            prefs[name] = prefs[name][:5]
    status = dict(defender["status"])
    status["RealTimeProtectionEnabled"] = not prefs.get("DisableRealtimeMonitoring", False)
    status["BehaviorMonitorEnabled"] = not prefs.get("DisableBehaviorMonitoring", False)
    status["IoavProtectionEnabled"] = not prefs.get("DisableIOAVProtection", False)
    status["OnAccessProtectionEnabled"] = not prefs.get("DisableOnAccessProtection", False)
    return {"present": True, "preferences": prefs, "status": status}


def _programs(state: dict[str, Any]) -> list[dict[str, Any]]:
    reg = Registry(state["registry"])
    out = []
    for root in (UNINSTALL, UNINSTALL.replace("\\SOFTWARE\\", "\\SOFTWARE\\WOW6432Node\\")):
        for sub in reg.subkeys(root):
            values = reg.values(f"{root}\\{sub}")
            name = values.get("DisplayName")
            if not name or not name["value"]:
                continue
            out.append({"name": name["value"], "version": (values.get("DisplayVersion") or {}).get("value"),
                        "publisher": (values.get("Publisher") or {}).get("value"),
                        "install_location": (values.get("InstallLocation") or {}).get("value"), "key": sub})
    return out


def _local_groups(state: dict[str, Any], request: dict[str, Any] | None,
                  errors: list[dict[str, str]]) -> dict[str, Any]:
    sids = _requested(request, "local_groups")
    if sids is None:
        sids = sorted(state["local_groups"])
    out: dict[str, Any] = {}
    for sid in sids:
        group = next((g for s, g in state["local_groups"].items() if s.upper() == str(sid).upper()), None)
        if group is None:
            out[sid] = None
            errors.append({"section": "local_groups", "message": f"{sid}: Exception calling \"Translate\": "
                           "Some or all identity references could not be translated."})
            continue
        out[sid] = {"name": group["name"], "members": [{"sid": m, "name": name_of(state, m)} for m in group["members"]]}
    return out


def _features(state: dict[str, Any], request: dict[str, Any] | None) -> dict[str, str]:
    features = state["optional_features"]
    names = _requested(request, "optional_features")
    if names is None:
        names = sorted(features, key=str.casefold)
    out = {}
    for name in names:
        found = next((f for f in features if f.casefold() == str(name).casefold()), None)
        out[name] = snake(features[found]["state"]) if found else "absent"
    return out


def _smb(state: dict[str, Any]) -> dict[str, Any]:
    features = state["optional_features"]
    server_feature = "SMB1Protocol-Server" if "SMB1Protocol-Server" in features else "SMB1Protocol"
    # Until the restart a DisablePending SMBv1 server still runs; an EnablePending one does not yet.
    feature_on = features.get(server_feature, {}).get("state") in ("enabled", "disable_pending")
    param = Registry(state["registry"]).get(LANMAN_PARAMETERS, "SMB1")
    return {"server_smb1": bool(feature_on and not (param and param["value"] == 0)), "server_smb2": True,
            "require_security_signature": False, "encrypt_data": False}


def nameplate(state: dict[str, Any]) -> dict[str, Any] | None:
    reg = Registry(state["registry"])
    if not reg.key_exists(NAMEPLATE_KEY):
        return None
    return {snake(name): value["value"] for name, value in reg.values(NAMEPLATE_KEY).items() if name}


def facts_from_state(state: dict[str, Any], request: dict[str, Any] | str | None = None,
                     now: datetime | None = None) -> dict[str, Any]:
    if isinstance(request, str):  # the collector accepts the Request as a JSON string too
        request = json.loads(request)
    now = now or clock.now(state)  # the host's clock (`mtk lab clock`)
    errors: list[dict[str, str]] = []
    domain = state["domain"]
    policy_xml = state["applocker"]["policy_xml"]
    appid = state["services"].get("AppIDSvc")
    return {
        "schema_version": 1,
        "collector": {"name": "mt-eklient", "version": COLLECTOR_VERSION},
        "collected_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "host": {"computer_name": state["os"]["computer_name"],
                 "domain": domain["name"] if domain["joined"] else "WORKGROUP",
                 "part_of_domain": bool(domain["joined"]),
                 "local_time": now.strftime("%Y-%m-%dT%H:%M:%S"),  # lab hosts keep UTC as local time
                 "machine_sid": state["machine_sid"]},
        "os": _os(state),
        "registry": _registry(state, request, errors),
        "audit_policy": dict(state["audit_policy"]),
        "security_policy": _security_policy(state),
        "services": _services(state, request),
        "firewall": _firewall(state, request),
        "defender": _defender(state),
        "applocker": {"service_state": appid["state"] if appid else None,
                      "collections": applockerxml.collections_summary(policy_xml), "policy_xml": policy_xml},
        "wdac": {"code_integrity": state["wdac"]["code_integrity"],
                 "usermode_code_integrity": state["wdac"]["usermode_code_integrity"],
                 "virtualization_based_security": state["wdac"].get("virtualization_based_security", 0)},
        "hotfixes": [{"id": h["id"], "installed_on": h["installed_on"]} for h in state["hotfixes"]],
        "programs": _programs(state),
        "local_groups": _local_groups(state, request, errors),
        "optional_features": _features(state, request),
        "smb": _smb(state),
        "nameplate": nameplate(state),
        "errors": errors,
    }

