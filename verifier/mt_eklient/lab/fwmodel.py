"""Firewall rules in the facts document's normalised shape, and whether WinRM still gets through.

Facts shape: name, display_name, group, direction (in/out), action (allow/block), enabled,
protocol (tcp/udp/icmpv4/icmpv6/any or a number), local_ports, remote_ports (strings, [] = any),
remote_addresses (CIDR, single hosts without /32, keywords such as LocalSubnet; [] = any),
program (null = any), profiles (subset of Domain/Private/Public in that order).
"""

from __future__ import annotations

import ipaddress
from typing import Any

PROFILES = ("Domain", "Private", "Public")
FACT_FIELDS = ("name", "display_name", "group", "direction", "action", "enabled", "protocol", "local_ports",
               "remote_ports", "remote_addresses", "program", "profiles")
KEYWORDS = {k.lower(): k for k in ("LocalSubnet", "DNS", "DHCP", "WINS", "DefaultGateway", "Internet", "Intranet",
                                   "IntranetRemoteAccess", "PlayToDevice")}
PROTOCOLS = ("tcp", "udp", "icmpv4", "icmpv6", "any")


def normalise_address(text: str) -> str:
    value = str(text).strip()
    if value.lower() in KEYWORDS:
        return KEYWORDS[value.lower()]
    if "-" in value:  # a range a-b
        low, high = (str(ipaddress.ip_address(part.strip())) for part in value.split("-", 1))
        return f"{low}-{high}"
    network = ipaddress.ip_network(value, strict=False)
    return str(network.network_address) if network.num_addresses == 1 else str(network)


def normalise_port(port: Any) -> str:
    text = str(port).strip()
    parts = text.split("-")
    if not 1 <= len(parts) <= 2 or not all(p.isdigit() and 0 < int(p) < 65536 for p in parts):
        if text in ("RPC", "RPC-EPMap", "IPHTTPS", "Teredo", "PlayToDiscovery", "mDNS"):
            return text
        raise ValueError(f"invalid port {port!r}")
    return text


def facts_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A state rule as the collector reports it."""
    out = {f: rule.get(f) for f in FACT_FIELDS}
    for f in ("local_ports", "remote_ports", "remote_addresses"):
        out[f] = sorted(out[f] or [])
    out["profiles"] = [p for p in PROFILES if p in (rule.get("profiles") or [])]
    out["group"] = rule.get("group") or ""
    return out


def _port_matches(ports: list[str], port: int) -> bool:
    if not ports:
        return True
    for entry in ports:
        low, _, high = entry.partition("-")
        if low.isdigit() and int(low) <= port <= int(high or low):
            return True
    return False


def _address_matches(addresses: list[str], ip: str, local_subnet: str) -> bool:
    if not addresses:
        return True
    address = ipaddress.ip_address(ip)
    for entry in addresses:
        if entry == "LocalSubnet":
            if address in ipaddress.ip_network(local_subnet, strict=False):
                return True
        elif "-" in entry:
            low, high = (ipaddress.ip_address(p) for p in entry.split("-", 1))
            if low <= address <= high:
                return True
        elif entry in KEYWORDS.values():
            continue
        elif address in ipaddress.ip_network(entry, strict=False):
            return True
    return False


def winrm_reachable(state: dict[str, Any]) -> tuple[bool, str]:
    """Whether the controller can still open a WinRM (TCP 5985) connection to the host."""
    lab = state["lab"]
    controller, subnet = lab.get("controller_ip", "10.20.0.10"), lab.get("local_subnet", "10.40.0.0/24")
    active = "Domain" if state["domain"]["joined"] else "Public"
    if state["services"].get("WinRM", {}).get("state") != "running":
        return False, "the WinRM service is not running"
    profile = state["firewall"]["profiles"][active]
    if not profile["enabled"]:
        return True, ""
    local_rules = profile.get("allow_local_firewall_rules", True)

    def hits(rule: dict[str, Any]) -> bool:
        return (rule.get("enabled") and rule.get("direction") == "in" and active in (rule.get("profiles") or [])
                and (rule.get("protocol") in ("tcp", "any")) and (local_rules or rule.get("store") != "PersistentStore")
                and _port_matches(rule.get("local_ports") or [], 5985)
                and _address_matches(rule.get("remote_addresses") or [], controller, subnet))

    rules = state["firewall"]["rules"]
    if any(hits(r) and r.get("action") == "block" for r in rules):
        return False, f"an inbound block rule stops TCP 5985 from {controller}"
    if any(hits(r) and r.get("action") == "allow" for r in rules) or profile["default_inbound_action"] == "allow":
        return True, ""
    return False, (f"no enabled inbound rule lets the controller ({controller}) reach TCP 5985 on the "
                   f"{active} profile, whose default inbound action is block")
