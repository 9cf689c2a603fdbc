"""Drift kinds change exactly what they name; lab facts validate against the facts schema."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from lab_helpers import APPLOCKER_XML, HOST, fresh
from mt_eklient.lab import appliers
from mt_eklient.lab.drift import KINDS, apply_drift
from mt_eklient.lab.editions import lab_editions
from mt_eklient.lab.facts import facts_from_state
from mt_eklient.lifecycle import editions as core_editions

NAMEPLATE = "HKLM\\SOFTWARE\\mt-eklient\\Nameplate"
USBSTOR = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\USBSTOR"
CURRENT_VERSION = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion"

# Each kind may touch only these parts of the state (paths of dict keys; lists compare whole).
ALLOWED: dict[str, list[tuple[str, ...]]] = {
    "defender-realtime-off": [("defender", "preferences", "DisableRealtimeMonitoring")],
    "av-exclusion-added": [("defender", "preferences", "ExclusionPath")],
    "firewall-allow-any-outbound": [("firewall", "rules")],
    "applocker-removed": [("applocker", "policy_xml")],
    "local-admin-added": [("local_users",), ("local_groups", "S-1-5-32-544", "members")],
    "usb-storage-enabled": [("registry", USBSTOR, "Start")],
    "hotfix-removed": [("hotfixes",), ("registry", CURRENT_VERSION, "UBR")],
    "nameplate-class-changed": [("registry", NAMEPLATE, "Class")],
    "smb1-enabled": [("optional_features", "SMB1Protocol", "state"), ("optional_features", "SMB1Protocol-Client", "state"),
                     ("optional_features", "SMB1Protocol-Server", "state")],
    "unreachable": [("lab", "reachable"), ("lab", "unreachable_reason")],
}


def flatten(value: Any, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    if isinstance(value, dict):
        out: dict[tuple[str, ...], Any] = {}
        for key, item in value.items():
            out.update(flatten(item, (*path, key)))
        return out or {path: {}}
    return {path: value}


def changed_paths(before: dict[str, Any], after: dict[str, Any]) -> set[tuple[str, ...]]:
    a, b = flatten(before), flatten(after)
    return {p for p in set(a) | set(b) if a.get(p, object()) != b.get(p, object())}


def built_state() -> dict[str, Any]:
    """A fresh LTSC 2021 client after the parts of a build the drift kinds undo."""
    state = fresh("win10-ltsc-2021")
    appliers.get("registry")(state, {"Changes": [
        {"item": f"{key}\\{name}", "key": key, "name": name, "type": kind, "data": data}
        for key, name, kind, data in ((USBSTOR, "Start", "dword", 4), (NAMEPLATE, "Class", "string", "WM1"),
                                      (NAMEPLATE, "ProfileId", "string", "sonora-review-4"))]}, False)
    appliers.get("applocker")(state, {"PolicyXml": APPLOCKER_XML}, False)
    return state


def test_every_kind_is_covered() -> None:
    assert set(ALLOWED) == set(KINDS)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_drift_changes_exactly_what_it_names(kind: str) -> None:
    before = built_state()
    after = copy.deepcopy(before)
    note = apply_drift(after, kind)
    assert note, f"{kind} changed nothing on a built host"
    changed = changed_paths(before, after)
    assert changed
    allowed = ALLOWED[kind]
    stray = [p for p in changed if not any(p[:len(a)] == a for a in allowed)]
    assert not stray, f"{kind} also changed {stray}"
    again = copy.deepcopy(after)
    assert apply_drift(again, kind) == "" or kind == "nameplate-class-changed"


def test_drift_is_visible_in_the_facts() -> None:
    state = built_state()
    for kind in KINDS:
        apply_drift(state, kind)
    facts = facts_from_state(state, {"registry": [[USBSTOR, "Start"]], "local_groups": ["S-1-5-32-544"],
                                     "optional_features": ["SMB1Protocol"]})
    assert facts["defender"]["status"]["RealTimeProtectionEnabled"] is False
    assert "C:\\Users\\Public\\Downloads" in facts["defender"]["preferences"]["ExclusionPath"]
    assert any(r["direction"] == "out" and r["action"] == "allow" and not r["remote_addresses"]
               for r in facts_from_state(state)["firewall"]["rules"])
    assert facts["applocker"]["collections"]["Exe"]["mode"] == "NotConfigured"
    assert any(m["name"].endswith("\\support") for m in facts["local_groups"]["S-1-5-32-544"]["members"])
    assert facts["registry"][USBSTOR]["Start"]["value"] == 3
    assert facts["os"]["ubr"] == 288 and facts["hotfixes"] == []
    assert facts["nameplate"] == {"class": "W0", "profile_id": "sonora-review-4"}
    assert facts["optional_features"]["SMB1Protocol"] == "enabled" and facts["smb"]["server_smb1"]


def test_lab_editions_match_the_core_table() -> None:
    ids = set(lab_editions())
    assert ids >= {"win10-ltsb-2016", "win10-ltsc-2019", "win10-ltsc-2021", "win10-iot-ltsc-2021",
                   "win11-ltsc-2024", "win11-iot-ltsc-2024"}
    for edition in lab_editions().values():
        assert edition.build == core_editions()[edition.id].build


@pytest.mark.parametrize("edition", sorted(lab_editions()))
def test_fresh_install_defaults(edition: str) -> None:
    state = fresh(edition)
    facts = facts_from_state(state, {"services": ["AppIDSvc", "WinRM"], "optional_features": ["SMB1Protocol"],
                                     "local_groups": ["S-1-5-32-544"], "registry": [[USBSTOR, "Start"]]})
    for profile in facts["firewall"]["profiles"].values():
        assert profile["enabled"] is True and profile["default_inbound_action"] == "block"
        assert profile["default_outbound_action"] == "allow"
    assert facts["applocker"]["collections"]["Exe"] == {"mode": "NotConfigured", "rule_count": 0}
    assert facts["services"]["AppIDSvc"] == {"start_mode": "manual", "state": "stopped"}
    assert facts["registry"][USBSTOR]["Start"]["value"] == 3
    assert facts["defender"]["status"]["RealTimeProtectionEnabled"] is True
    assert facts["defender"]["preferences"]["ExclusionPath"] == []
    assert facts["optional_features"]["SMB1Protocol"] == ("enabled" if edition == "win10-ltsb-2016" else "disabled")
    members = {m["sid"] for m in facts["local_groups"]["S-1-5-32-544"]["members"]}
    assert members == {state["machine_sid"] + "-500", state["domain"]["sid"] + "-512"}
    assert facts["os"]["current_build"] == lab_editions()[edition].build
    winrm = next(r for r in facts["firewall"]["rules"] if r["name"] == "WINRM-HTTP-In-TCP")
    assert winrm["display_name"] == "Windows Remote Management (HTTP-In)" and winrm["group"] == "@FirewallAPI.dll,-35001"


@pytest.mark.parametrize("edition", sorted(lab_editions()))
def test_lab_facts_validate_against_the_facts_schema(edition: str) -> None:
    from mt_eklient import facts as facts_module

    state = built_state() if edition == "win10-ltsc-2021" else fresh(edition, domain_joined=edition != "win10-ltsc-2019")
    facts_module.validate_facts(facts_from_state(state), HOST)
    request = {"registry": [[USBSTOR, "Start"], ["HKLM\\SOFTWARE\\Nope", "X"], [NAMEPLATE, "*"]],
               "services": ["AppIDSvc", "NoSuchService"], "optional_features": ["SMB1Protocol", "NoSuchFeature"],
               "local_groups": ["S-1-5-32-544", "S-1-5-32-555"], "firewall_rule_groups": ["mt-eklient"]}
    facts_module.validate_facts(facts_from_state(state, request), HOST)
    for kind in KINDS:
        apply_drift(state, kind)
    facts_module.validate_facts(facts_from_state(state, request), HOST)
