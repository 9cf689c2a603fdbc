"""`# mtk-applier: firewall_rules` (roles/mt_segmentation/files/firewall_rules.ps1).

Group, Rules: the group's exact rule set, rules in the facts document's shape. Each wanted rule is
compared with the installed rule of the same name as the script does - its record as JSON: name,
display_name, direction, action, enabled, protocol, ports, remote addresses (CIDR as the script
converts Windows' masks back), program ("" for any), profiles, list fields sorted - and created
(New-NetFirewallRule -Name, in the group) or corrected (Set-NetFirewallRule -Name ... -NewDisplayName);
afterwards rules of the group not in the list are removed. Set-NetFirewallRule changes only the
parameters it is given (`update_parameters` lists the ones the script passes), and Windows refuses a
port filter on a protocol other than TCP/UDP after the update too. A value written in a form Windows reports differently (an
upper-case protocol, "10.30.4.10/32") differs on every run, as on Windows. Ports need tcp/udp; a
name used by a rule outside the group fails New-NetFirewallRule. Every key of a rule is needed
(the script would otherwise create it disabled, or fail); `group` is ignored.
Diff: {group, rules: [records sorted by name]} for before and after.
"""

from __future__ import annotations

import ipaddress
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


def update_parameters(want: dict[str, Any], have: dict[str, Any]) -> dict[str, Any]:
    """What the script's Set-NetFirewallRule call gives (Get-MtkSettings plus -NewDisplayName): every
    field but the ports, which go only with TCP/UDP or to clear the ports an old rule has."""
    keys = ["display_name", "direction", "action", "enabled", "protocol", "profiles", "remote_addresses", "program"]
    if want["protocol"].lower() in ("tcp", "udp") or have["local_ports"] or have["remote_ports"]:
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


def reported(address: str) -> str:
    """An address as the script reads it back (Windows' mask form converted to a prefix)."""
    try:
        network = ipaddress.ip_network(address, strict=False)
    except ValueError:
        return address
    return str(network.network_address) if network.num_addresses == 1 else str(network)


def apply(state: State, params: dict[str, Any], check_mode: bool) -> Outcome:
    p = take(params, "firewall_rules", {"Group": str, "Rules": list}, required=("Group",))
    group = p["Group"]
    rules: list[dict[str, Any]] = state["firewall"]["rules"]
    existing = [r for r in rules if r.get("store", "PersistentStore") == "PersistentStore"
                and str(r.get("group") or "").lower() == group.lower()]
    current = {r["name"]: dict(record(r), remote_addresses=sorted(reported(a) for a in r.get("remote_addresses") or []))
               for r in existing}
    before = {"group": group, "rules": [current[n] for n in sorted(current)]}
    wants = [wanted(raw, f"Rules[{i}]") for i, raw in enumerate(p.get("Rules") or [])]
    keep: set[str] = set()
    applied = 0
    changed = False
    for index, want in enumerate(wants):
        where = f"Rules[{index}]"
        have = current.get(want["name"])
        if have is not None:
            keep.add(want["name"])
            if have == want:
                continue
            changed = True
            target = next(r for r in rules if r["name"] == want["name"])
            set_rule(target, update_parameters(want, have), group, where)
            applied += 1
            continue
        changed = True
        if any(r["name"].lower() == want["name"].lower() for r in rules):
            raise ApplierError(f"{where}: New-NetFirewallRule : Cannot create a file when that file already exists. "
                               f"(rule {want['name']!r} exists outside group {group!r})")
        rules.append(_installed(want, group, where))
        applied += 1
    for rule in existing:
        if rule["name"] not in keep:
            changed = True
            rules.remove(rule)
            applied += 1
    after = {"group": group, "rules": sorted(wants, key=lambda r: r["name"])}
    return Outcome(changed=changed, applied=applied, before=before, after=after, result={})
