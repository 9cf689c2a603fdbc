"""Test catalog (one control per check method), profile and a facts document on which every control
passes; tests mutate the facts to reach each status. The facts follow design.md and validate
against schemas/facts.schema.json."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from mt_eklient import applocker
from mt_eklient.catalog import Catalog, Control
from mt_eklient.classification import MtClass
from mt_eklient.profile import LoadedProfile, load_profile
from mt_eklient.resolve import Baseline, HostContext, firewall_rules, resolve

TODAY = date(2026, 11, 25)
ADMIN_SID = "S-1-5-21-3623811015-3361044348-30300820-1013"
BUILTIN_ADMIN = "S-1-5-21-1111111111-2222222222-3333333333-500"
WU_KEY = "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\WindowsUpdate"
SMB_KEY = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\LanmanServer\\Parameters"
WINLOGON = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon"
AUDIT_GUID = "{0cce9215-69ae-11d9-bed3-505054503030}"
ALLOW_IDS_KEY = "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\DeviceInstall\\Restrictions\\AllowDeviceIDs"
ALLOWED_IDS = {"1": "USBSTOR\\DiskKingstonIronKey_VP50____", "2": "USB\\VID_0B95&PID_1790"}
TS_POLICY_KEY = "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services"
TS_KEY = "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server"


def control(id: str, area: str, check: dict[str, Any], expected: dict[str, Any] | None = None,
            compare: str = "equals", **extra: Any) -> Control:
    data = {"id": id, "title": f"Test control {id}", "area": area, "severity": "high", "check": check,
            "compare": compare, "rationale": "A control for the evaluator's tests.", "references": {"normen": "4.6"},
            **extra}
    if expected is not None:
        data["expected"] = expected
    if not data.get("build"):
        data.setdefault("build_reason", "a test control the build does not set")
    return Control.model_validate(data)


CONTROLS = [
    control("T-REG", "smb", {"method": "registry", "key": SMB_KEY, "name": "SMB1", "type": "dword"}, {"value": 0}),
    control("T-AUTOLOGON-PW", "accounts", {"method": "registry", "key": WINLOGON, "name": "DefaultPassword",
                                           "type": "string"}, compare="absent"),
    control("T-REG-POLICY", "remote_access", {"method": "registry_policy", "key": TS_POLICY_KEY,
                                               "fallback_key": TS_KEY, "name": "fDenyTSConnections", "type": "dword"},
            {"value": 1}),
    control("T-REG-VALUES", "removable_media", {"method": "registry_values", "key": ALLOW_IDS_KEY, "type": "string"},
            {"value": ALLOWED_IDS}),
    control("T-AUDIT", "audit", {"method": "audit_policy", "guid": AUDIT_GUID}, {"value": "success_and_failure"}),
    control("T-SECPOL", "accounts", {"method": "security_policy", "section": "System Access",
                                     "key": "MinimumPasswordLength"}, {"value": 14}, "at_least"),
    control("T-DENYNET", "accounts", {"method": "security_policy", "section": "Privilege Rights",
                                      "key": "SeDenyNetworkLogonRight"}, {"value": ["*S-1-5-32-546"]}, "superset_of"),
    control("T-SVC", "whitelisting", {"method": "service", "name": "AppIDSvc", "property": "start_mode"},
            {"value": "auto"}),
    control("T-SVC-OFF", "remote_access", {"method": "service", "name": "RemoteRegistry", "property": "start_mode"},
            {"value": "disabled"}),
    control("T-FW-IN", "firewall", {"method": "firewall_profile", "property": "default_inbound_action"},
            {"value": "block"}),
    control("T-FW-ON", "firewall", {"method": "firewall_profile", "property": "enabled"}, {"value": True}),
    control("T-FW-RULES", "firewall", {"method": "firewall_rules", "group": "mt-eklient"},
            {"derive": "firewall_rules"}, "set_equals"),
    control("T-FW-MGMT", "firewall", {"method": "firewall_management"}, {"derive": "management_rule"}),
    control("T-FW-OPEN-OUT", "firewall", {"method": "firewall_open_rules", "direction": "out"}, {"value": []}),
    control("T-AV", "antivirus", {"method": "defender", "source": "status", "property": "RealTimeProtectionEnabled"},
            {"value": True}, when=[{"profile": "antivirus.permitted", "equals": True}]),
    control("T-AV-EXCL", "antivirus", {"method": "defender", "source": "preferences", "property": "ExclusionPath"},
            {"profile": "antivirus.exclusions.paths"}, "set_equals"),
    control("T-AL-EXE", "whitelisting", {"method": "applocker", "collection": "Exe", "property": "mode"},
            {"profile": "whitelisting.mode", "map": {"audit": "AuditOnly", "enforce": "Enabled"}}),
    control("T-AL-RULES", "whitelisting", {"method": "applocker", "collection": "Exe", "property": "rules"},
            {"derive": "applocker_rules"}, "set_equals"),
    control("T-WDAC", "whitelisting", {"method": "wdac", "property": "usermode_code_integrity"}, {"value": 2},
            "at_most"),
    control("T-PATCH-AGE", "patching", {"method": "hotfix", "property": "max_age_days"},
            {"profile": "patching.max_patch_age_days"}, "at_most"),
    control("T-PATCH-BLOCKED", "patching", {"method": "hotfix", "property": "installed"},
            {"profile": "patching.blocked_kbs"}, "not_contains"),
    control("T-PROGRAMS", "whitelisting", {"method": "programs", "property": "profile_applications_present"},
            {"value": True}),
    control("T-ADMINS", "accounts", {"method": "local_group", "sid": "S-1-5-32-544"}, {"derive": "local_admins"},
            "set_equals"),
    control("T-SMB1", "smb", {"method": "optional_feature", "name": "SMB1Protocol"}, {"value": "disabled"}),
    control("T-SMB1-SERVER", "smb", {"method": "smb", "property": "server_smb1"}, {"value": False}),
    control("T-OS-EDITION", "os", {"method": "os", "property": "supported_edition"}, {"profile": "os.editions"},
            "one_of"),
    control("T-OS-LIFE", "os", {"method": "os", "property": "lifecycle"}, {"value": ["supported", "ending_soon"]},
            "one_of"),
    control("T-OS-PATCH", "os", {"method": "os", "property": "min_patch_level"}, {"profile": "os.min_ubr"},
            "at_least"),
    control("T-NAMEPLATE", "nameplate", {"method": "nameplate", "property": "class"}, {"derive": "nameplate"}),
    control("T-CLASS", "classification", {"method": "class_evidence"}, compare="present"),
    control("T-M-ONLY", "os", {"method": "wdac", "property": "code_integrity"}, {"value": 2},
            applies_to={"types": ["M"]}),
]
CATALOG = Catalog("test-1", tuple(CONTROLS))


def profile_data(sonora: dict[str, Any]) -> dict[str, Any]:
    """A WM1 profile for these tests: identity and governance from the repository's profile, every
    section the tests depend on pinned here (the shared profile changes with the catalog work)."""
    data = {k: copy.deepcopy(sonora[k]) for k in ("schema_version", "id", "profile_version", "application",
                                                 "manufacturer", "governance")}
    data.update({
        "classification": {"type": "WM", "group": 1},
        "platform": {"kind": "physical"},
        "os": {"editions": ["win10-ltsc-2021", "win10-iot-ltsc-2021", "win11-ltsc-2024"],
               "min_ubr": {19044: 5011, 26100: 2033}},
        "applications": [{
            "name": "SonoRev Review", "version": "4.2", "publisher": "O=SONORA MEDICAL AB, L=GOTHENBURG, C=SE",
            "install_paths": ["%PROGRAMFILES%\\Sonora\\SonoRev"], "executables": ["SonoRev.exe"],
            "services": ["SonoRevDicom"], "uninstall_display_name": "SonoRev Review 4.*"}],
        "whitelisting": {"engine": "applocker", "mode": "enforce"},
        "antivirus": {"permitted": True, "realtime": True,
                      "exclusions": {"paths": ["D:\\SonoRevData\\Images", "%PROGRAMDATA%\\Sonora\\SonoRev\\Cache"]}},
        "network": {
            "internet": "deny", "management_zone": "management",
            "zones": {"management": ["10.20.0.0/24"], "pacs": ["10.30.4.10", "10.30.4.11"],
                      "ultrasound_scanners": ["10.31.0.0/22"], "wsus": ["10.10.2.20"]},
            "inbound": [{"name": "dicom-store-scp", "protocol": "tcp", "ports": [104],
                         "remote": ["ultrasound_scanners"]}],
            "outbound": [{"name": "dicom-to-pacs", "protocol": "tcp", "ports": [104, 11112], "remote": ["pacs"]},
                         {"name": "wsus", "protocol": "tcp", "ports": [8530, 8531], "remote": ["wsus"]}]},
        "patching": {"policy": "deferred", "defer_days": 7,
                     "wsus": {"server": "https://wsus.region.example:8531", "target_group": "MT-WM1-Sonora"},
                     "blocked_kbs": ["KB5034441"], "max_patch_age_days": 45},
        "removable_media": {"policy": "block"},
        "accounts": {"local_admins": [ADMIN_SID], "screen_lock_seconds": 600},
        "remote_access": {"method": "none", "rdp": "disabled"},
        "waivers": [],
    })
    return data


def write_yaml(path: Path, data: Any) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def make_baseline(profile_path: Path, declared: str | None = "WM1", catalog: Catalog = CATALOG,
                  today: date = TODAY, name: str = "wm1-sono-01") -> tuple[LoadedProfile, Baseline]:
    loaded = load_profile(profile_path)
    context = HostContext(name=name, declared_class=MtClass.parse(declared) if declared else None)
    return loaded, resolve(catalog, loaded, context, today)


def applications(loaded: LoadedProfile) -> list[dict[str, Any]]:
    return [a.model_dump(mode="json") for a in loaded.profile.applications]


def _windows_address(text: str) -> str:
    """10.20.0.0/24 -> 10.20.0.0/255.255.255.0, as Get-NetFirewallAddressFilter reports it."""
    import ipaddress
    if "/" not in text:
        return text
    net = ipaddress.ip_network(text)
    return f"{net.network_address}/{net.netmask}"


def good_facts(loaded: LoadedProfile) -> dict[str, Any]:
    """A facts document on which every control of CATALOG passes for `loaded` (a WM1 profile)."""
    profile = loaded.profile
    rules = []
    for rule in reversed(firewall_rules(profile, HostContext("x"))):  # order and address form differ from the build's
        facts_rule = dict(rule)
        facts_rule["remote_addresses"] = [_windows_address(a) for a in reversed(rule["remote_addresses"])]
        facts_rule["local_ports"] = list(reversed(rule["local_ports"]))
        facts_rule["profiles"] = ["Public", "Domain", "Private"]
        rules.append(facts_rule)
    rules.append({"name": "CoreNet-DHCP-In", "display_name": "Core Networking - DHCP", "group": "@FirewallAPI.dll,-25000",
                  "direction": "in", "action": "allow", "enabled": True, "protocol": "udp", "local_ports": ["68"],
                  "remote_ports": ["67"], "remote_addresses": [], "program": None, "profiles": ["Domain"]})
    firewall_profile = {"enabled": True, "default_inbound_action": "block", "default_outbound_action": "block",
                        "allow_local_firewall_rules": False, "log_allowed": False, "log_blocked": True}
    return {
        "schema_version": 1,
        "collector": {"name": "mt-eklient", "version": "0.1.0"},
        "collected_at": "2026-11-25T10:00:00Z",
        "host": {"computer_name": "WM1-SONO-01", "domain": "region.local", "part_of_domain": True},
        "os": {"edition_id": "EnterpriseS", "current_build": 19044, "ubr": 5131,
               "product_name": "Windows 10 Enterprise LTSC 2021", "display_version": "21H2",
               "install_date": "2025-01-10", "sku": 125, "architecture": "64-bit"},
        "registry": {
            SMB_KEY: {"SMB1": {"type": "REG_DWORD", "value": 0}},
            WINLOGON: {"AutoAdminLogon": {"type": "REG_SZ", "value": "0"}},
            WU_KEY: {"WUServer": {"type": "REG_SZ", "value": "https://wsus.region.example:8531"}},
            ALLOW_IDS_KEY: {name: {"type": "REG_SZ", "value": data} for name, data in ALLOWED_IDS.items()},
            TS_POLICY_KEY: {},
            TS_KEY: {"fDenyTSConnections": {"type": "REG_DWORD", "value": 1}},
        },
        "audit_policy": {AUDIT_GUID: "success_and_failure", "{0cce9216-69ae-11d9-bed3-505054503030}": "success"},
        "security_policy": {"System Access": {"MinimumPasswordLength": 14, "PasswordComplexity": 1},
                            "Privilege Rights": {"SeDenyNetworkLogonRight": ["*S-1-5-32-546", "*S-1-5-113"]}},
        "services": {"AppIDSvc": {"start_mode": "auto", "state": "running"},
                     "RemoteRegistry": {"start_mode": "disabled", "state": "stopped"},
                     "SonoRevDicom": {"start_mode": "auto", "state": "running"}},
        "firewall": {"profiles": {"Domain": dict(firewall_profile), "Private": dict(firewall_profile),
                                  "Public": dict(firewall_profile)},
                     "rules": rules},
        "defender": {"present": True,
                     "preferences": {"DisableRealtimeMonitoring": False,
                                     "ExclusionPath": ["%ProgramData%\\Sonora\\SonoRev\\Cache\\", "d:\\sonorevdata\\images"],
                                     "ExclusionProcess": [], "ExclusionExtension": [], "ExclusionIpAddress": []},
                     "status": {"RealTimeProtectionEnabled": True, "IsTamperProtected": True, "AntivirusSignatureAge": 1}},
        "applocker": {"service_state": "running",
                      "collections": {"Appx": {"mode": "Enabled", "rule_count": 1}, "Dll": {"mode": "NotConfigured", "rule_count": 0},
                                      "Exe": {"mode": "Enabled", "rule_count": 5}, "Msi": {"mode": "Enabled", "rule_count": 2},
                                      "Script": {"mode": "Enabled", "rule_count": 3}},
                      "policy_xml": applocker.policy_xml(profile)},
        "wdac": {"code_integrity": 0, "usermode_code_integrity": 0, "virtualization_based_security": 0},
        "hotfixes": [{"id": "KB5046613", "installed_on": "2026-11-12"}, {"id": "KB5042097", "installed_on": "2026-09-15"},
                     {"id": "KB5011048", "installed_on": None}],
        "programs": [{"name": "SonoRev Review 4.2.1", "version": "4.2.1", "publisher": "Sonora Medical AB",
                      "install_location": "C:\\Program Files\\Sonora\\SonoRev\\"},
                     {"name": "Microsoft Edge", "version": "131.0", "publisher": "Microsoft Corporation",
                      "install_location": None}],
        "local_groups": {"S-1-5-32-544": {"name": "Administratörer", "members": [
            {"sid": BUILTIN_ADMIN, "name": "WM1-SONO-01\\Administratör"},
            {"sid": ADMIN_SID, "name": "REGION\\MT-Admins"}]}},
        "optional_features": {"SMB1Protocol": "disabled_with_payload_removed"},
        "smb": {"server_smb1": False},
        "nameplate": {"class": "WM1", "profile_id": profile.id, "profile_version": profile.profile_version,
                      "profile_sha256": loaded.sha256, "built_at": "2026-11-20T14:03:11Z", "toolkit_version": "0.1.0"},
        "errors": [],
    }
