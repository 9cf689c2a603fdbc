"""The state of a freshly installed LTSC client, from its edition and inventory variables."""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from importlib import resources
from typing import Any

from ..yamlsource import safe_load
from . import applockerxml, winservices
from .editions import LabEdition
from .editions import get as get_edition
from .registry import Registry

STATE_SCHEMA = "mtk-lab-state/1"
CURRENT_VERSION = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion"
UNINSTALL = "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall"
NAMEPLATE_KEY = "HKLM\\SOFTWARE\\mt-eklient\\Nameplate"
DEFAULT_DOMAIN = {"name": "region.local", "netbios": "REGION", "sid": "S-1-5-21-3623811015-3361044348-30300820"}


@cache
def defaults() -> dict[str, Any]:
    return safe_load(resources.files("mt_eklient.lab").joinpath("data/fresh.yml").read_text("utf-8"), "data/fresh.yml")


@dataclass
class HostSpec:
    """What the inventory says about a lab host (`mtk_lab_*` variables)."""

    name: str
    edition: str
    domain_joined: bool = True
    domain: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_DOMAIN))
    domain_accounts: dict[str, int] = field(default_factory=dict)  # name -> RID
    programs: list[dict[str, Any]] = field(default_factory=list)   # vendor software already installed
    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    controller_ip: str = "10.20.0.10"   # where Ansible connects from (the management zone)
    local_subnet: str = "10.40.0.0/24"  # the host's own subnet ("LocalSubnet" in firewall rules)
    tamper_protection: bool | None = None  # None: the edition's default

    @classmethod
    def from_hostvars(cls, name: str, hostvars: dict[str, Any]) -> HostSpec:
        edition = hostvars.get("mtk_lab_edition")
        if not edition:
            raise ValueError(f"{name}: mtk_lab_edition is not set")
        domain = dict(DEFAULT_DOMAIN, **(hostvars.get("mtk_lab_domain") or {}))
        return cls(
            name=name, edition=str(edition),
            domain_joined=bool(hostvars.get("mtk_lab_domain_joined", True)),
            domain=domain,
            domain_accounts={str(k): int(v) for k, v in (hostvars.get("mtk_lab_domain_accounts") or {}).items()},
            programs=list(hostvars.get("mtk_lab_programs") or []),
            services=dict(hostvars.get("mtk_lab_services") or {}),
            controller_ip=str(hostvars.get("mtk_lab_controller_ip", "10.20.0.10")),
            local_subnet=str(hostvars.get("mtk_lab_local_subnet", "10.40.0.0/24")),
            tamper_protection=(None if hostvars.get("mtk_lab_tamper_protection") is None
                               else bool(hostvars["mtk_lab_tamper_protection"])),
        )


def machine_sid(host: str) -> str:
    """A stable machine SID per host name (a real one is random at setup)."""
    digest = hashlib.sha256(host.lower().encode()).digest()
    parts = [int.from_bytes(digest[i:i + 4], "big") for i in (0, 4, 8)]
    return "S-1-5-21-" + "-".join(str(p) for p in parts)


def _utc(day: date, hour: int = 9) -> str:
    return datetime.combine(day, time(hour), tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _os_registry(reg: Registry, ed: LabEdition, install_day: date, ubr: int) -> None:
    reg.set(CURRENT_VERSION, "EditionID", "REG_SZ", ed.edition_id)
    reg.set(CURRENT_VERSION, "ProductName", "REG_SZ", ed.product_name)
    reg.set(CURRENT_VERSION, "CurrentBuild", "REG_SZ", str(ed.build))
    reg.set(CURRENT_VERSION, "CurrentBuildNumber", "REG_SZ", str(ed.build))
    reg.set(CURRENT_VERSION, "CurrentMajorVersionNumber", "REG_DWORD", 10)
    reg.set(CURRENT_VERSION, "CurrentMinorVersionNumber", "REG_DWORD", 0)
    reg.set(CURRENT_VERSION, "UBR", "REG_DWORD", ubr)
    reg.set(CURRENT_VERSION, "ReleaseId", "REG_SZ", ed.release_id)
    if ed.display_version:
        reg.set(CURRENT_VERSION, "DisplayVersion", "REG_SZ", ed.display_version)
    epoch = int(datetime.combine(install_day, time(8), tzinfo=UTC).timestamp())
    reg.set(CURRENT_VERSION, "InstallDate", "REG_DWORD", epoch)
    reg.set(CURRENT_VERSION, "InstallationType", "REG_SZ", "Client")
    # Lab hosts model UEFI machines installed with Secure Boot on (the firmware default of current PCs).
    reg.set(r"HKLM\SYSTEM\CurrentControlSet\Control\SecureBoot\State", "UEFISecureBootEnabled", "REG_DWORD", 1)
    reg.set(r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server", "fDenyTSConnections", "REG_DWORD", 1)


def add_program(reg: Registry, program: dict[str, Any], install_day: date) -> None:
    key = f"{UNINSTALL}\\{program.get('key') or program['name']}"
    reg.set(key, "DisplayName", "REG_SZ", str(program["name"]))
    if program.get("version") is not None:
        reg.set(key, "DisplayVersion", "REG_SZ", str(program["version"]))
    if program.get("publisher"):
        reg.set(key, "Publisher", "REG_SZ", str(program["publisher"]))
    if program.get("install_location"):
        reg.set(key, "InstallLocation", "REG_SZ", str(program["install_location"]))
    reg.set(key, "InstallDate", "REG_SZ", install_day.strftime("%Y%m%d"))


def _accounts(spec: HostSpec, msid: str) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
    users = [
        {"name": "Administrator", "sid": f"{msid}-500", "enabled": False, "builtin": True},
        {"name": "Guest", "sid": f"{msid}-501", "enabled": False, "builtin": True},
        {"name": "DefaultAccount", "sid": f"{msid}-503", "enabled": False, "builtin": True},
    ]
    dsid = spec.domain["sid"]
    domain = {"joined": spec.domain_joined, "name": spec.domain["name"], "netbios": spec.domain["netbios"],
              "sid": dsid, "accounts": {"Domain Admins": f"{dsid}-512", "Domain Users": f"{dsid}-513",
                                        **{n: f"{dsid}-{rid}" for n, rid in spec.domain_accounts.items()}}}
    admins = [f"{msid}-500"] + ([f"{dsid}-512"] if spec.domain_joined else [])
    users_members = ["S-1-5-4", "S-1-5-11"] + ([f"{dsid}-513"] if spec.domain_joined else [])
    groups = {
        "S-1-5-32-544": {"name": "Administrators", "members": admins},
        "S-1-5-32-545": {"name": "Users", "members": users_members},
        "S-1-5-32-546": {"name": "Guests", "members": [f"{msid}-501"]},
        "S-1-5-32-551": {"name": "Backup Operators", "members": []},
        "S-1-5-32-555": {"name": "Remote Desktop Users", "members": []},
        "S-1-5-32-573": {"name": "Event Log Readers", "members": []},
        "S-1-5-32-580": {"name": "Remote Management Users", "members": []},
    }
    return users, groups, domain


def fresh_state(spec: HostSpec, today: date | None = None) -> dict[str, Any]:
    today = today or date.today()
    ed = get_edition(spec.edition)
    data = defaults()
    msid = machine_sid(spec.name)
    install_day = today - timedelta(days=60)
    lcu_day = today - timedelta(days=10)
    state: dict[str, Any] = {
        "schema": STATE_SCHEMA,
        "lab": {"host": spec.name, "edition": ed.id, "created_at": _utc(today), "reachable": True,
                "pending_reboot": False, "last_boot": _utc(lcu_day, 22), "media_ubr": ed.media_ubr,
                "controller_ip": spec.controller_ip, "local_subnet": spec.local_subnet},
        "os": {"computer_name": spec.name.upper()[:15], "sku": ed.sku, "architecture": "64-bit",
               "install_date": install_day.isoformat()},
        "machine_sid": msid,
        "registry": {},
        "services": {},
    }
    users, groups, domain = _accounts(spec, msid)
    if ed.build >= 16299:  # WDAGUtilityAccount exists from 1709
        users.append({"name": "WDAGUtilityAccount", "sid": f"{msid}-504", "enabled": False, "builtin": True})
    state.update(local_users=users, local_groups=groups, domain=domain)

    reg = Registry(state["registry"])
    _os_registry(reg, ed, install_day, ed.lcu["ubr"])
    for name, svc in data["services"].items():
        start, run = svc["start_mode"], svc["state"]
        if name == "Netlogon" and spec.domain_joined:
            start, run = "auto", "running"
        winservices.install(state, name, svc["display_name"], start, run, svc["image"])
    for name, svc in spec.services.items():  # vendor services (class evidence)
        winservices.install(state, name, svc.get("display_name", name), svc.get("start_mode", "auto"),
                            svc.get("state", "running"), svc.get("path", f"C:\\Program Files\\{name}\\{name}.exe"))
    for name, drv in data["drivers"].items():
        reg.set(winservices.key(name), "Start", "REG_DWORD", drv["start"])
        reg.set(winservices.key(name), "ImagePath", "REG_EXPAND_SZ", drv["image"])
        reg.set(winservices.key(name), "Type", "REG_DWORD", 1)
    for program in [*data["programs"], *spec.programs]:
        add_program(reg, program, install_day)

    profile = dict(data["firewall_profile"])
    state["firewall"] = {
        "profiles": {p: dict(profile) for p in ("Domain", "Private", "Public")},
        "rules": [dict(rule, store="PersistentStore", description="") for rule in copy.deepcopy(data["firewall_rules"])],
    }
    prefs = copy.deepcopy(data["defender_preferences"])
    tamper = ed.tamper_protection if spec.tamper_protection is None else spec.tamper_protection
    status = dict(data["defender_status"], IsTamperProtected=tamper)
    state["defender"] = {"present": True, "preferences": prefs, "status": status}
    state["applocker"] = {"policy_xml": applockerxml.empty_policy()}
    state["wdac"] = {"code_integrity": 0, "usermode_code_integrity": 0}
    state["hotfixes"] = [
        {"id": ed.lcu["id"], "description": "Security Update", "installed_on": lcu_day.isoformat(),
         "ubr": ed.lcu["ubr"]},
    ]
    state["available_updates"] = [
        {"id": ed.next_lcu["id"], "title": f"{(today - timedelta(days=3)):%Y-%m} Cumulative Update for "
         f"{ed.name} ({ed.next_lcu['id']})", "category": "SecurityUpdates", "ubr": ed.next_lcu["ubr"],
         "released": (today - timedelta(days=3)).isoformat()},
    ]
    state["audit_policy"] = {guid: sub["default"] for guid, sub in data["audit_subcategories"].items()}
    secpol = copy.deepcopy(data["security_policy"])
    for right, sids in secpol["Privilege Rights"].items():
        secpol["Privilege Rights"][right] = [s.replace("S-1-5-21-MACHINE", msid) for s in sids]
    if ed.lockout_defaults:
        secpol["System Access"].update(data["lockout_defaults_win11"])
    state["security_policy"] = secpol
    state["optional_features"] = _features(ed, data["optional_features"])
    state["scheduled_tasks"] = copy.deepcopy(data["scheduled_tasks"])
    return state


def _features(ed: LabEdition, base: dict[str, Any]) -> dict[str, dict[str, Any]]:
    features: dict[str, dict[str, Any]] = {}
    smb1 = "enabled" if ed.smb1 else "disabled"
    features["SMB1Protocol"] = {"state": smb1}
    if ed.smb1_subfeatures:
        for sub in ("SMB1Protocol-Client", "SMB1Protocol-Server", "SMB1Protocol-Deprecation"):
            features[sub] = {"state": smb1, "parent": "SMB1Protocol"}
    for name, feature in base.items():
        if feature.get("win10_only") and ed.win11:
            continue
        features[name] = {k: v for k, v in feature.items() if k != "win10_only"}
    return features
