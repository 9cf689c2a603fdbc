"""win_firewall (ansible.windows and community.windows: the same Get/Set-NetFirewallProfile logic)
and community.windows.win_firewall_rule (the HNetCfg.FwPolicy2 COM object).

Faithful details that matter for the build: win_firewall only touches the default actions when
`state: enabled`; win_firewall_rule matches rules by their DISPLAY name (COM's Name) and a rule it
creates gets a GUID as its real name, so a catalog that compares rule names must use the
firewall_rules applier (New-NetFirewallRule -Name) instead.
"""

from __future__ import annotations

import uuid
from typing import Any

from . import Ctx, ModuleFailure, State

PROFILES = ("Domain", "Private", "Public")
_COM_FIELDS = ("description", "direction", "action", "program", "group", "service", "enabled", "profiles",
               "local_addresses", "remote_addresses", "local_ports", "remote_ports", "protocol", "icmp_type_code")


def run_profile(state: State, params: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
    wanted = [p for p in PROFILES if p.lower() in {str(x).lower() for x in params["profiles"]}]
    result: dict[str, Any] = {"changed": False, "profiles": params["profiles"], "state": params["state"],
                              "restart_required": False}
    for name in PROFILES:
        profile = state["firewall"]["profiles"][name]
        entry = {"enabled": profile["enabled"], "considered": name in wanted,
                 "currentstate": 1 if profile["enabled"] else 0}
        result[name] = entry
        if name not in wanted:
            continue
        if params["state"] == "enabled":
            if not profile["enabled"]:
                profile["enabled"] = entry["enabled"] = True
                result["changed"] = True
                ctx.applied += 1
            for option, field in (("inbound_action", "default_inbound_action"),
                                  ("outbound_action", "default_outbound_action")):
                if params.get(option) and params[option] != profile[field]:
                    profile[field] = params[option]
                    result["changed"] = True
                    ctx.applied += 1
        elif profile["enabled"]:
            profile["enabled"] = entry["enabled"] = False
            result["changed"] = True
            ctx.applied += 1
    return result


def _split(text: str | None) -> list[str]:
    if text is None or text.lower() == "any":
        return []
    return [part.strip() for part in text.split(",") if part.strip()]


def _requested(params: dict[str, Any]) -> dict[str, Any]:
    """The COM properties the task sets (None = not given, so not compared)."""
    protocol = params.get("protocol")
    if protocol is not None and protocol.lower() not in ("any", "tcp", "udp", "icmpv4", "icmpv6") \
            and not protocol.isdigit():
        raise ModuleFailure(f"Unknown protocol '{protocol}'.")
    profiles = params.get("profiles")
    if profiles is not None:
        bad = [p for p in profiles if str(p).lower() not in ("domain", "private", "public")]
        if bad:
            raise ModuleFailure(f"Unknown profile '{bad[0]}'.")
        profiles = [p for p in PROFILES if p.lower() in {str(x).lower() for x in profiles}]
    if protocol is not None and protocol.lower() == "any" and (
            _split(params.get("localport")) or _split(params.get("remoteport"))):
        raise ModuleFailure("The parameter is incorrect. (Exception from HRESULT: 0x80070057 (E_INVALIDARG))")
    return {
        "description": params.get("description"), "direction": params.get("direction"),
        "action": params.get("action"),
        "program": None if params.get("program") is None else (None if params["program"] == "any" else params["program"]),
        "group": params.get("group"), "service": params.get("service"), "enabled": params.get("enabled"),
        "profiles": profiles,
        "local_addresses": None if params.get("localip") is None else _split(params["localip"]),
        "remote_addresses": None if params.get("remoteip") is None else _split(params["remoteip"]),
        "local_ports": None if params.get("localport") is None else _split(params["localport"]),
        "remote_ports": None if params.get("remoteport") is None else _split(params["remoteport"]),
        "protocol": None if protocol is None else protocol.lower(),
        "icmp_type_code": params.get("icmp_type_code"),
    }


def _same(field: str, old: Any, new: Any) -> bool:
    if field.endswith("addresses") or field == "profiles":
        return sorted(str(x).lower() for x in old or []) == sorted(str(x).lower() for x in new or [])
    return old == new


def run_rule(state: State, params: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
    name, group = params.get("name"), params.get("group")
    if not name and not group:
        raise ModuleFailure("Either name or group must be specified")
    rules = state["firewall"]["rules"]
    matches = [r for r in rules if (r["display_name"].lower() == name.lower() if name else r.get("group") == group)]
    wanted = _requested(params)
    result: dict[str, Any] = {"changed": False}
    prepared: list[str] = []

    if params["state"] == "absent":
        if not matches:
            result["msg"] = f"Firewall rule '{name}' does not exist." if name else \
                f"No firewall rules in group '{group}' exist."
        else:
            for rule in matches:
                prepared.append(f"-[{rule['display_name']}]")
                rules.remove(rule)
            result.update(changed=True, msg=f"Firewall rule(s) '{', '.join(r['display_name'] for r in matches)}' removed.")
            ctx.applied += len(matches)
    elif not matches and name:
        rule = {
            "name": "{" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"{ctx.host}/{name}")).upper() + "}",
            "display_name": name, "display_group": group or "", "store": "PersistentStore",
            "description": wanted["description"] or "", "direction": wanted["direction"] or "in",
            "action": wanted["action"] or "allow", "enabled": True if wanted["enabled"] is None else wanted["enabled"],
            "group": group or "", "program": wanted["program"], "service": wanted["service"],
            "protocol": wanted["protocol"] or "any", "local_ports": wanted["local_ports"] or [],
            "remote_ports": wanted["remote_ports"] or [], "local_addresses": wanted["local_addresses"] or [],
            "remote_addresses": wanted["remote_addresses"] or [], "profiles": wanted["profiles"] or list(PROFILES),
        }
        rules.append(rule)
        prepared.append(f"+[{name}]")
        result.update(changed=True, msg=f"Firewall rule '{name}' created.")
        ctx.applied += 1
    elif matches:
        changed_names, unchanged = [], []
        for rule in matches:
            prepared.append(f"[{rule['display_name']}]")
            differs = False
            for field in _COM_FIELDS:
                if wanted[field] is None or _same(field, rule.get(field), wanted[field]):
                    continue
                prepared += [f"-{field}='{rule.get(field)}'", f"+{field}='{wanted[field]}'"]
                rule[field] = wanted[field]
                differs = True
            (changed_names if differs else unchanged).append(rule["display_name"])
        if changed_names:
            result["changed"] = True
            ctx.applied += len(changed_names)
        result["msg"] = f"Firewall rule(s) changed '{', '.join(changed_names)}' - unchanged '{', '.join(unchanged)}'"
    if ctx.diff:
        result["diff"] = {"prepared": "\n".join(prepared) + ("\n" if prepared else "")}
    return result
