"""The win_powershell stand-in and the applier emulations: same parameters, exact sets,
idempotence, check mode, and win_powershell's own rules (markers, binding, depth)."""

from __future__ import annotations

import json

import pytest
from lab_helpers import APPLOCKER_XML, HOST, applier, journal, state_json, up
from mt_eklient.lab import store
from mt_eklient.lab.facts import facts_from_state
from mt_eklient.lab.runner import run_standin

PS = "ansible.windows.win_powershell"
USBSTOR = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\USBSTOR"
LOGON = "{0cce9215-69ae-11d9-bed3-505054503030}"


def rule(name: str, **extra) -> dict:
    base = {"name": name, "display_name": f"mt-eklient: {name}", "group": "mt-eklient", "direction": "in",
            "action": "allow", "enabled": True, "protocol": "tcp", "local_ports": ["5985"], "remote_ports": [],
            "remote_addresses": ["10.20.0.0/24"], "program": None, "profiles": ["Domain", "Private", "Public"]}
    return base | extra


CASES = {
    "registry": {"Values": [{"key": USBSTOR, "name": "Start", "type": "dword", "data": 4},
                            {"key": "HKLM\\SOFTWARE\\Policies\\Test", "name": "Multi", "type": "multistring",
                             "data": ["a", "b"]},
                            {"key": "HKLM\\SOFTWARE\\Policies\\Test", "name": "Blob", "type": "binary", "data": "beef"}],
                 "RemoveValues": [{"key": "HKLM\\SOFTWARE\\Policies\\Test", "name": "Never"}]},
    "audit_policy": {"Settings": [{"guid": LOGON, "setting": "success_and_failure"}]},
    "security_policy": {"Settings": {"System Access": {"MinimumPasswordLength": 14, "PasswordComplexity": True},
                                     "Privilege Rights": {"SeDenyNetworkLogonRight": ["*S-1-5-32-546"]}}},
    "defender": {"Preferences": {"DisableArchiveScanning": True, "PUAProtection": 1, "ScanScheduleTime": "03:00"},
                 "Exclusions": {"ExclusionPath": ["D:\\Images"], "ExclusionExtension": ["dcm"]}},
    "applocker": {"PolicyXml": APPLOCKER_XML},
    "firewall_rules": {"Group": "mt-eklient", "Rules": [rule("mtk-mgmt"), rule("mtk-in-dicom", local_ports=["104"])]},
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_apply_then_idempotent_and_check_mode_is_inert(name: str) -> None:
    up()
    fresh = state_json()
    checked = applier(name, CASES[name], check_mode=True)
    assert checked["changed"] and not checked.get("failed"), checked
    assert state_json() == fresh  # check mode: reported, not applied
    first = applier(name, CASES[name])
    assert first["changed"] and first["diff"]["before"] != first["diff"]["after"]
    assert checked["diff"] == first["diff"]  # check mode predicts exactly what the run does
    assert state_json() != fresh
    second = applier(name, CASES[name])
    assert second["changed"] is False, second["diff"]
    applied = [e["applied"] for e in journal()]
    assert applied[0] == 0 and applied[1] > 0 and applied[2] == 0


def test_registry_values_reach_the_facts() -> None:
    up()
    applier("registry", CASES["registry"])
    facts = facts_from_state(store.read_state(HOST), {"registry": [[USBSTOR, "Start"],
                                                                   ["HKLM\\SOFTWARE\\Policies\\Test", "*"]]})
    assert facts["registry"][USBSTOR] == {"Start": {"type": "REG_DWORD", "value": 4}}
    assert facts["registry"]["HKLM\\SOFTWARE\\Policies\\Test"] == {
        "Multi": {"type": "REG_MULTI_SZ", "value": ["a", "b"]}, "Blob": {"type": "REG_BINARY", "value": "beef"}}
    result = applier("registry", {"RemoveValues": [{"key": USBSTOR, "name": "Start"}]})
    assert result["diff"] == {"before": {f"{USBSTOR}\\Start": "4"}, "after": {f"{USBSTOR}\\Start": None}}


ALLOW_IDS = "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\DeviceInstall\\Restrictions\\AllowDeviceIDs"
STICK, ANALYSER = "USBSTOR\\DiskKingstonIronKey_VP50____", "USB\\VID_0B95&PID_1790"


def test_registry_exact_keys_are_exact_idempotent_and_inert_in_check_mode() -> None:
    up()
    applier("registry", {"Values": [  # an older list: one id kept, one changed, one stray; a subkey
        {"key": ALLOW_IDS, "name": "1", "type": "string", "data": STICK},
        {"key": ALLOW_IDS, "name": "2", "type": "string", "data": "USBSTOR\\Disk_Old"},
        {"key": ALLOW_IDS, "name": "Stray", "type": "dword", "data": 1},
        {"key": ALLOW_IDS + "\\Sub", "name": "Kept", "type": "string", "data": "x"}]})
    exact = {"ExactKeys": [{"key": ALLOW_IDS, "type": "string", "values": {"1": STICK, "2": ANALYSER}}]}
    before = state_json()
    checked = applier("registry", exact, check_mode=True)
    assert checked["changed"] and state_json() == before
    first = applier("registry", exact)
    assert first["diff"] == checked["diff"] == {
        "before": {f"{ALLOW_IDS}\\2": "USBSTOR\\Disk_Old", f"{ALLOW_IDS}\\Stray": "1"},
        "after": {f"{ALLOW_IDS}\\2": ANALYSER, f"{ALLOW_IDS}\\Stray": None}}
    facts = facts_from_state(store.read_state(HOST), {"registry": [[ALLOW_IDS, "*"], [ALLOW_IDS + "\\Sub", "*"]]})
    assert facts["registry"][ALLOW_IDS] == {"1": {"type": "REG_SZ", "value": STICK},
                                            "2": {"type": "REG_SZ", "value": ANALYSER}}
    assert facts["registry"][ALLOW_IDS + "\\Sub"] == {"Kept": {"type": "REG_SZ", "value": "x"}}
    second = applier("registry", exact)
    assert second["changed"] is False and journal()[-1]["applied"] == 0


def test_registry_exact_keys_create_and_empty_keys() -> None:
    up()
    created = applier("registry", {"ExactKeys": [{"key": ALLOW_IDS, "type": "string", "values": {"1": STICK}}]})
    assert created["diff"] == {"before": {f"{ALLOW_IDS}\\1": None}, "after": {f"{ALLOW_IDS}\\1": STICK}}
    emptied = applier("registry", {"ExactKeys": [{"key": ALLOW_IDS, "type": "string", "values": {}}]})
    assert emptied["diff"] == {"before": {f"{ALLOW_IDS}\\1": STICK}, "after": {f"{ALLOW_IDS}\\1": None}}
    missing = applier("registry", {"ExactKeys": [{"key": ALLOW_IDS + "\\None", "type": "string", "values": {}}]})
    assert missing["changed"] is False
    bad = applier("registry", {"ExactKeys": [{"key": ALLOW_IDS, "type": "string", "values": [STICK]}]})
    assert bad["failed"] and "must be a mapping" in bad["msg"]
    assert applier("registry", {"ExactKeys": [{"key": ALLOW_IDS, "type": "text", "values": {"1": STICK}}]})["failed"]


def test_firewall_rules_is_an_exact_set_and_never_touches_other_groups() -> None:
    up()
    applier("firewall_rules", CASES["firewall_rules"])
    result = applier("firewall_rules", {"Group": "mt-eklient", "Rules": [rule("mtk-mgmt")]})
    assert result["changed"]
    rules = store.read_state(HOST)["firewall"]["rules"]
    assert [r["name"] for r in rules if r["group"] == "mt-eklient"] == ["mtk-mgmt"]
    assert any(r["name"] == "WINRM-HTTP-In-TCP" for r in rules)
    # Windows reports addresses with masks; the collector passes them on as they are
    facts = facts_from_state(store.read_state(HOST), {"firewall_rule_groups": ["mt-eklient"]})
    mgmt = next(r for r in facts["firewall"]["rules"] if r["name"] == "mtk-mgmt")
    assert mgmt["remote_addresses"] == ["10.20.0.0/255.255.255.0"] and mgmt["group"] == "mt-eklient"


def test_firewall_rules_refuses_what_windows_refuses() -> None:
    up()
    bad_ports = applier("firewall_rules", {"Group": "g", "Rules": [rule("r", protocol="any")]})
    assert bad_ports["failed"] and "only valid for TCP or UDP" in bad_ports["msg"]
    taken = applier("firewall_rules", {"Group": "g", "Rules": [rule("WINRM-HTTP-In-TCP")]})
    assert taken["failed"] and "already exists" in taken["msg"]
    missing = applier("firewall_rules", {"Group": "g", "Rules": [{"name": "r", "direction": "in", "action": "allow"}]})
    assert missing["failed"] and "missing key(s)" in missing["msg"]


def test_forms_windows_reports_differently_never_settle() -> None:
    """Values in a form the read-back differs from change on every run, as they would on Windows."""
    up()
    applier("firewall_rules", {"Group": "g", "Rules": [rule("r", protocol="TCP")]})
    assert applier("firewall_rules", {"Group": "g", "Rules": [rule("r", protocol="TCP")]})["changed"]
    applier("defender", {"Preferences": {"PUAProtection": "Enabled"}})
    assert applier("defender", {"Preferences": {"PUAProtection": "Enabled"}})["changed"]
    applier("security_policy", {"Settings": {"System Access": {"NewGuestName": "Visitor"}}})
    assert applier("security_policy", {"Settings": {"System Access": {"NewGuestName": "Visitor"}}})["changed"]


def test_defender_exclusions_are_exact_and_tamper_protection_wins() -> None:
    up()
    applier("defender", {"Exclusions": {"ExclusionPath": ["D:\\A", "D:\\B"]}})
    applier("defender", {"Exclusions": {"ExclusionPath": ["d:\\b"]}})
    assert store.read_state(HOST)["defender"]["preferences"]["ExclusionPath"] == ["D:\\B"]
    off = applier("defender", {"Preferences": {"DisableRealtimeMonitoring": True}})
    assert off["changed"] and "tamper protection" in " ".join(off.get("warnings", []))
    assert store.read_state(HOST)["defender"]["preferences"]["DisableRealtimeMonitoring"] is False
    assert "cannot be found that matches parameter name 'DisableRealTime'" in applier(
        "defender", {"Preferences": {"DisableRealTime": True}})["msg"]
    assert "Boolean parameters accept only" in applier("defender", {"Preferences": {"DisableArchiveScanning": "yes"}})[
        "msg"]


def test_security_policy_checks_and_renames() -> None:
    state = up()
    result = applier("security_policy", {"Settings": {"System Access": {
        "LockoutBadCount": 5, "LockoutDuration": 10, "ResetLockoutCount": 30}}})
    assert result["failed"] and "ResetLockoutCount 30 exceeds LockoutDuration 10" in result["msg"]
    assert applier("security_policy", {"Settings": {"System Access": {"MinimumPasswordLength": 20}}})["failed"]
    applier("security_policy", {"Settings": {"System Access": {"NewAdministratorName": "LocalRoot"}}})
    admin = next(u for u in store.read_state(HOST)["local_users"] if u["sid"] == state["machine_sid"] + "-500")
    assert admin["name"] == "LocalRoot"
    assert "No mapping between account names" in applier(
        "security_policy", {"Settings": {"Privilege Rights": {"SeDebugPrivilege": ["REGION\\nobody"]}}})["msg"]


def test_audit_and_applocker_errors() -> None:
    up()
    assert "unknown audit setting 'all'" in applier("audit_policy", {"Settings": [{"guid": LOGON, "setting": "all"}]})[
        "msg"]
    assert "exit code 87" in applier("audit_policy", {"Settings": [
        {"guid": "{0cce9999-69ae-11d9-bed3-505054503030}", "setting": "success"}]})["msg"]
    assert "XmlDocument" in applier("applocker", {"PolicyXml": "<AppLockerPolicy"})["msg"]
    bad_mode = APPLOCKER_XML.replace('EnforcementMode="Enabled"', 'EnforcementMode="Enforce"')
    assert "invalid EnforcementMode" in applier("applocker", {"PolicyXml": bad_mode})["msg"]
    braced = APPLOCKER_XML.replace('Id="921cc481-6e17-4653-8f75-050b80acca20"',
                                   'Id="{921cc481-6e17-4653-8f75-050b80acca20}"')
    assert "is not a GUID (GuidType: no braces)" in applier("applocker", {"PolicyXml": braced})["msg"]


def test_win_powershell_rules_around_the_script() -> None:
    up()
    plain = run_standin(PS, HOST, {"script": "Get-Process"})
    assert plain["failed"] and "only runs the project's own appliers and collector" in plain["msg"]
    unknown = run_standin(PS, HOST, {"script": "# mtk-applier: teleport\nparam()"})
    assert unknown["failed"] and "unknown applier 'teleport'" in unknown["msg"]
    no_should_process = "# mtk-applier: audit_policy\n[CmdletBinding()]\nparam([object[]]$Settings)\n"
    skipped = run_standin(PS, HOST, {"script": no_should_process, "parameters": {"Settings": []}}, check_mode=True)
    assert skipped["changed"] and skipped["msg"] == "skipped, running in check mode"
    unbound = applier("audit_policy", {"Settigns": []})
    assert unbound["failed"] and "cannot be found that matches parameter name 'Settigns'" in unbound["msg"]
    mandatory = applier("applocker", {})
    assert mandatory["failed"] and "missing mandatory parameters: PolicyXml" in mandatory["msg"]
    assert "Unsupported parameters for (win_powershell) module: paramters" in run_standin(
        PS, HOST, {"script": "x", "paramters": {}})["msg"]


def test_default_depth_flattens_deep_diffs_like_win_powershell() -> None:
    up()
    shallow = applier("firewall_rules", CASES["firewall_rules"], check_mode=True)
    record = shallow["diff"]["after"]["rules"][0]
    assert record["profiles"] == "Domain Private Public"  # depth 2: lists inside records become text
    deep = applier("firewall_rules", CASES["firewall_rules"], check_mode=True, depth=6)
    assert deep["diff"]["after"]["rules"][0]["profiles"] == ["Domain", "Private", "Public"]


def test_collector_returns_one_json_string_honouring_the_request() -> None:
    up()
    collector = "# mtk-collector\n[CmdletBinding(SupportsShouldProcess)]\nparam([Parameter(Mandatory)]$Request)\n"
    request = {"registry": [[USBSTOR, "Start"]], "services": ["AppIDSvc", "NoSuch"], "local_groups": ["S-1-5-32-544"],
               "optional_features": ["SMB1Protocol"], "firewall_rule_groups": ["mt-eklient"]}
    result = run_standin(PS, HOST, {"script": collector, "parameters": {"Request": request}}, check_mode=True)
    assert result["changed"] is False and len(result["output"]) == 1 and isinstance(result["output"][0], str)
    facts = json.loads(result["output"][0])
    assert facts["registry"] == {USBSTOR: {"Start": {"type": "REG_DWORD", "value": 3}}}
    assert facts["services"] == {"AppIDSvc": {"start_mode": "manual", "state": "stopped"}, "NoSuch": None}
    assert list(facts["local_groups"]) == ["S-1-5-32-544"]
    assert facts["optional_features"] == {"SMB1Protocol": "disabled"}
    missing = run_standin(PS, HOST, {"script": collector})
    assert missing["failed"] and "mandatory" in missing["msg"]


def test_firewall_rule_update_changes_only_what_it_is_given() -> None:
    """Set-NetFirewallRule leaves every parameter it is not given: an update that omits a filter keeps
    the old restriction, so the applier passes each one ('Any' to clear it)."""
    from mt_eklient.lab.appliers import ApplierError
    from mt_eklient.lab.appliers.fwrules import record, set_rule, update_parameters, wanted

    installed = rule("r", local_ports=["104"], program="C:\\old\\viewer.exe", store="PersistentStore")
    set_rule(installed, {"enabled": False}, "mt-eklient", "r")
    assert (installed["enabled"], installed["program"], installed["local_ports"]) == (False, "C:\\old\\viewer.exe",
                                                                                      ["104"])
    want = wanted(rule("r", local_ports=[], program=None), "r")
    given = update_parameters(want, record(installed))
    assert {"program", "local_ports", "remote_ports", "remote_addresses"} <= set(given)
    set_rule(installed, given, "mt-eklient", "r")
    assert installed["program"] is None and installed["local_ports"] == []
    # To protocol any: the old ports are cleared in the same call, else Windows refuses the filter.
    ported = rule("p", local_ports=["104"], store="PersistentStore")
    with pytest.raises(ApplierError, match="only valid for TCP or UDP"):
        set_rule(ported, {"protocol": "any"}, "mt-eklient", "p")
    set_rule(ported, update_parameters(wanted(rule("p", protocol="any", local_ports=[]), "p"), record(ported)),
             "mt-eklient", "p")
    assert (ported["protocol"], ported["local_ports"]) == ("any", [])
    with pytest.raises(ApplierError, match="Parameter set cannot be resolved"):
        set_rule(ported, {"name": "p", "display_name": "x"}, "mt-eklient", "p")


def test_firewall_rule_update_converges_after_a_restriction_is_dropped() -> None:
    up()
    applier("firewall_rules", {"Group": "g", "Rules": [rule("r", local_ports=["104"], remote_ports=["2000"])]})
    result = applier("firewall_rules", {"Group": "g", "Rules": [rule("r", local_ports=[], remote_ports=[])]})
    assert result["changed"]
    again = applier("firewall_rules", {"Group": "g", "Rules": [rule("r", local_ports=[], remote_ports=[])]})
    assert not again["changed"]


def test_firewall_disable_only_applies_what_it_is_given() -> None:
    """No comparison in the applier (the change set decided): the named rules are disabled, others
    untouched; check mode reports the same diff and changes nothing; an unknown name fails."""
    up()
    open_rule = rule("allow-any-out", group="", direction="out", protocol="any", local_ports=[], remote_addresses=[])
    state = store.read_state(HOST)
    state["firewall"]["rules"].append(open_rule)
    store.write_state(HOST, state)
    fresh = state_json()
    checked = applier("firewall_disable", {"Names": ["allow-any-out"]}, check_mode=True)
    assert checked["changed"] and state_json() == fresh
    done = applier("firewall_disable", {"Names": ["allow-any-out"]})
    assert done["diff"] == checked["diff"] == {"before": "allow-any-out enabled", "after": "allow-any-out disabled"}
    rules = {r["name"]: r for r in store.read_state(HOST)["firewall"]["rules"]}
    assert rules["allow-any-out"]["enabled"] is False and rules["WINRM-HTTP-In-TCP"]["enabled"] is True
    assert applier("firewall_disable", {"Names": []})["changed"] is False
    missing = applier("firewall_disable", {"Names": ["no-such-rule"]})
    assert missing["failed"] and "No MSFT_NetFirewallRule objects found" in missing["msg"]
