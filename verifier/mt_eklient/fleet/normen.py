"""A profile's Normen properties (seed 001, 5.1): declared in `normen:`, else derived from what the
profile already says, else the assumption the exposure data (catalog/risk/exposure.yml) names.

Each property comes with where its value came from, so the ranking can say "vendor remote access
(derived from remote_access.method: vendor_portal)".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..profile import Profile

# Remote access run by the manufacturer or its service partner (Normen 5.1.2 no. 6), not the
# hospital's own management RDP.
VENDOR_REMOTE_METHODS = frozenset({"customer_initiated_vpn", "vendor_portal"})
# Ports of the Windows infrastructure every managed client talks to (AD, DNS, Kerberos, NTP, RPC,
# SMB for Group Policy, LDAP(S), global catalog, WSUS, WinRM/WEF). A firewall rule with any other
# port carries the application's own data: an integration (DICOM 104/11112, HL7 2575, ...).
INFRASTRUCTURE_PORTS = frozenset({53, 88, 123, 135, 389, 445, 464, 636, 3268, 3269, 5985, 5986, 8530, 8531})
DYNAMIC_RPC = (49152, 65535)

PROPERTIES = ("health_data", "networked", "integrations", "vendor_remote_access", "cloud", "print_or_storage",
              "manufacturer_configuration_control")


@dataclass(frozen=True)
class Property:
    value: bool | None  # None: unknown (neither declared nor derivable)
    source: str  # declared | derived | unknown
    basis: str  # what the value rests on, for the reasons shown to people

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "source": self.source, "basis": self.basis}


def _infrastructure_port(port: int | str) -> bool:
    low, high = (port, port) if isinstance(port, int) else (int(p) for p in str(port).split("-"))
    if (low, high) == DYNAMIC_RPC:
        return True
    return low == high and low in INFRASTRUCTURE_PORTS


def integration_rules(profile: Profile) -> list[str]:
    """Names of firewall rules that carry application data (not only Windows infrastructure)."""
    rules = [*profile.network.inbound, *profile.network.outbound]
    return [r.name for r in rules if r.protocol in ("tcp", "udp") and (not r.ports or not all(
        _infrastructure_port(p) for p in r.ports))]


def _derived(profile: Profile) -> dict[str, Property]:
    out: dict[str, Property] = {}
    kind = profile.classification.type
    method = profile.remote_access.method
    integrations = integration_rules(profile)
    internet = profile.network.internet == "allow"
    networked_because = []
    if kind in ("W", "WM"):
        networked_because.append(f"a {kind} client is managed over the network")
    if integrations:
        networked_because.append(f"firewall rules {', '.join(integrations)}")
    if internet:
        networked_because.append("network.internet: allow")
    if method != "none":
        networked_because.append(f"remote_access.method: {method}")
    out["networked"] = Property(bool(networked_because), "derived",
                                "; ".join(networked_because) or "no network rule, no remote access")
    out["integrations"] = Property(bool(integrations), "derived",
                                   f"firewall rules {', '.join(integrations)}" if integrations
                                   else "no firewall rule beyond Windows infrastructure ports")
    out["vendor_remote_access"] = Property(method in VENDOR_REMOTE_METHODS, "derived", f"remote_access.method: {method}")
    if internet:
        out["cloud"] = Property(True, "derived", "network.internet: allow (cloud services possible)")
    if profile.removable_media.policy != "block":
        out["print_or_storage"] = Property(True, "derived",
                                           f"removable_media.policy: {profile.removable_media.policy} "
                                           "(patient data can leave on media)")
    vendor_control = []
    if kind == "M":
        vendor_control.append("an M computer is configured by its manufacturer")
    if not profile.antivirus.permitted:
        vendor_control.append("antivirus.permitted: false")
    if profile.patching.policy in ("vendor_approved", "vendor_managed"):
        vendor_control.append(f"patching.policy: {profile.patching.policy}")
    out["manufacturer_configuration_control"] = Property(
        bool(vendor_control), "derived", "; ".join(vendor_control) or "the hospital configures and patches it")
    return out


def normen_properties(profile: Profile) -> dict[str, Property]:
    """Every property of PROPERTIES: declared beats derived; neither gives value None."""
    declared = profile.normen
    derived = _derived(profile)
    out: dict[str, Property] = {}
    for name in PROPERTIES:
        value = getattr(declared, name, None) if declared is not None else None
        if value is not None:
            out[name] = Property(value, "declared", f"normen.{name}: {str(value).lower()}")
        elif name in derived:
            out[name] = derived[name]
        else:
            out[name] = Property(None, "unknown", f"normen.{name} not given")
    if declared is not None and declared.use_scenario in (1, 2):
        # The guide's scenarios 1 and 2 are devices without a network connection.
        out["networked"] = Property(False, "declared", f"normen.use_scenario: {declared.use_scenario}")
    return out


def use_scenario(profile: Profile, properties: dict[str, Property] | None = None) -> tuple[int, str]:
    """The Normen use scenario: declared, else 3 (networked) or 2 (not networked)."""
    if profile.normen is not None and profile.normen.use_scenario is not None:
        return profile.normen.use_scenario, "declared"
    props = properties or normen_properties(profile)
    return (3 if props["networked"].value else 2), "derived"


def normen_problems(profile: Profile) -> list[tuple[tuple[str | int, ...], str]]:
    """Declared properties that contradict what the rest of the profile says."""
    declared = profile.normen
    if declared is None:
        return []
    found: list[tuple[tuple[str | int, ...], str]] = []
    scenario = declared.use_scenario
    # Scenario 1 processes no information; scenarios 1 and 2 have no network (Normen 5.1.1).
    if scenario == 1 and declared.health_data:
        found.append((("normen", "health_data"), "true contradicts use_scenario 1 (no information processing)"))
    for name in ("integrations", "vendor_remote_access", "cloud"):
        if scenario in (1, 2) and getattr(declared, name):
            found.append((("normen", name), f"true contradicts use_scenario {scenario} (not networked)"))
    method = profile.remote_access.method
    if declared.vendor_remote_access is False and method in VENDOR_REMOTE_METHODS:
        found.append((("normen", "vendor_remote_access"), f"false, but remote_access.method is {method}"))
    kind = profile.classification.type
    if scenario in (1, 2) and kind in ("W", "WM"):
        found.append((("normen", "use_scenario"), (f"scenario {scenario} is a device without network, but a {kind} "
                                                   "client is managed over the network (scenario 3-5)")))
    elif scenario in (1, 2) and method != "none":
        found.append((("normen", "use_scenario"), (f"scenario {scenario} is a device without network, but "
                                                   f"remote_access.method is {method}")))
    return found
