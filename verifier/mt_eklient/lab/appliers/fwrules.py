"""`# mtk-applier: firewall_rules` (roles/mt_segmentation/files/firewall_rules.ps1).

Group, Changes: [{item, before, after, action: create|update|remove, name, rule, clear_ports,
clear_program}], carried out in the order given; nothing is compared. `create` is
New-NetFirewallRule -Name in the group, `update` Set-NetFirewallRule -Name ... -NewDisplayName with the
parameters `update_parameters` lists (the script's Get-MtkSettings: every field, ports only with
TCP/UDP or to clear an old rule's ports, Program Any to clear an old program), `remove`
Remove-NetFirewallRule -Name. Windows refuses a port filter on a protocol other than TCP/UDP, a
name already used by another rule (create) and a name no rule has (update, remove).
Diff: {item: before} / {item: after}.
"""

from __future__ import annotations

from typing import Any

from ..fwmodel import FACT_FIELDS, PROFILES, normalise_address, normalise_port
from . import ApplierError, Outcome, State, lower_keys, take

NEEDED = set(FACT_FIELDS) - {"group"}


def record(rule: dict[str, Any]) -> dict[str, Any]:
    """Get-MtkRuleRecord of an installed rule."""
    return {
        "name": rule["name"], "display_name": rule["display_name"], "direction": rule["direction"],
        "action": rule["action"], "enabled": bool(rule["enabled"]), "protocol": rule.get("protocol") or "any",
        "local_ports": sorted(rule.get("local_ports") or []), "remote_ports": sorted(rule.get("remote_ports") or []),
        "remote_addresses": sorted(rule.get("remote_addresses") or []), "program": rule.get("program") or "",
        "profiles": sorted(rule.get("profiles") or PROFILES),
    }


def _text(value: Any) -> str:
    return "" if value is None else ("True" if value is True else "False" if value is False else str(value))


def wanted(raw: Any, where: str) -> dict[str, Any]:
    """Get-MtkWanted: strings as given, lists sorted."""
    item = lower_keys(raw, where, set(FACT_FIELDS), NEEDED)

    def strings(key: str) -> list[str]:
        value = item.get(key)
        return sorted(_text(v) for v in (value if isinstance(value, list) else [] if value is None else [value]))

    return {"name": _text(item["name"]), "display_name": _text(item["display_name"]),
            "direction": _text(item["direction"]), "action": _text(item["action"]),
            "enabled": bool(item["enabled"]) if not isinstance(item["enabled"], str) else item["enabled"] != "",
            "protocol": _text(item["protocol"]), "local_ports": strings("local_ports"),
            "remote_ports": strings("remote_ports"), "remote_addresses": strings("remote_addresses"),
            "program": _text(item["program"]), "profiles": strings("profiles")}


def _installed(want: dict[str, Any], group: str, where: str) -> dict[str, Any]:
    """What New-/Set-NetFirewallRule store for a wanted record (they validate it first)."""
    if want["direction"] not in ("in", "out"):
        raise ApplierError(f"{where}: Cannot bind parameter 'Direction': {want['direction']!r} is not in or out")
    if want["action"] not in ("allow", "block"):
        raise ApplierError(f"{where}: Cannot bind parameter 'Action': {want['action']!r} is not allow or block")
    protocol = want["protocol"].lower()
    if protocol not in ("tcp", "udp", "icmpv4", "icmpv6", "any") and not (protocol.isdigit() and int(protocol) < 256):
        raise ApplierError(f"{where}: New-NetFirewallRule : The protocol {want['protocol']!r} is not valid")
    if (want["local_ports"] or want["remote_ports"]) and protocol not in ("tcp", "udp"):
        raise ApplierError(f"{where}: New-NetFirewallRule : The port is only valid for TCP or UDP (protocol "
                           f"{want['protocol']})")
    if not want["profiles"] or any(p not in PROFILES for p in want["profiles"]):
        raise ApplierError(f"{where}: Cannot bind parameter 'Profile': {want['profiles']!r}")
    try:
        ports = {k: [normalise_port(p) for p in want[k]] for k in ("local_ports", "remote_ports")}
        addresses = [normalise_address(a) for a in want["remote_addresses"]]
    except ValueError as err:
        raise ApplierError(f"{where}: New-NetFirewallRule : The address or port is invalid: {err}") from None
    return {"name": want["name"], "display_name": want["display_name"], "group": group, "display_group": group,
            "direction": want["direction"], "action": want["action"], "enabled": want["enabled"],
            "protocol": protocol, **ports, "remote_addresses": addresses, "program": want["program"] or None,
            "profiles": [p for p in PROFILES if p in want["profiles"]], "store": "PersistentStore", "description": ""}


def update_parameters(want: dict[str, Any], clear_ports: bool, clear_program: bool) -> dict[str, Any]:
    """What the script's Set-NetFirewallRule call gives (Get-MtkSettings plus -NewDisplayName)."""
    keys = ["display_name", "direction", "action", "enabled", "protocol", "profiles", "remote_addresses"]
    if want["program"] or clear_program:
        keys.append("program")
    if want["protocol"].lower() in ("tcp", "udp") or clear_ports:
        keys += ["local_ports", "remote_ports"]
    return {k: want[k] for k in keys}


def set_rule(target: dict[str, Any], given: dict[str, Any], group: str, where: str) -> None:
    """Set-NetFirewallRule -Name: the given fields change, the others stay as they are."""
    if "name" in given or "group" in given:
        raise ApplierError(f"{where}: Set-NetFirewallRule : Parameter set cannot be resolved using the specified "
                           "named parameters.")
    merged = {**record(target), **given}
    installed = _installed(merged, group, where)
    target.update({k: installed[k] for k in given})


def _missing(name: str) -> ApplierError:
    return ApplierError(f"No MSFT_NetFirewallRule objects found with property 'InstanceID' equal to '{name}'")


def apply(state: State, params: dict[str, Any], check_mode: bool) -> Outcome:
    p = take(params, "firewall_rules", {"Group": str, "Changes": list}, required=("Group",))
    group = p["Group"]
    rules: list[dict[str, Any]] = state["firewall"]["rules"]
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for index, raw in enumerate(p.get("Changes") or []):
        where = f"Changes[{index}]"
        change = lower_keys(raw, where, {"item", "before", "after", "action", "name", "rule", "clear_ports",
                                         "clear_program"}, {"item", "action", "name"})
        name, action = str(change["name"]), change["action"]
        before[str(change["item"])], after[str(change["item"])] = change.get("before"), change.get("after")
        target = next((r for r in rules if str(r["name"]).lower() == name.lower()), None)
        if action == "remove":
            if target is None:
                raise _missing(name)
            rules.remove(target)
        elif action == "update":
            if target is None:
                raise _missing(name)
            want = wanted(dict(change.get("rule") or {}, name=name), where)
            set_rule(target, update_parameters(want, bool(change.get("clear_ports")), bool(change.get("clear_program"))),
                     group, where)
        elif action == "create":
            if target is not None:
                raise ApplierError(f"{where}: New-NetFirewallRule : Cannot create a file when that file already exists. "
                                   f"(rule {name!r} exists)")
            rules.append(_installed(wanted(dict(change.get("rule") or {}, name=name), where), group, where))
        else:
            raise ApplierError(f"unknown firewall rule action '{action}' for {name}")
    return Outcome(changed=bool(after), applied=len(after), before=before, after=after, result={})
