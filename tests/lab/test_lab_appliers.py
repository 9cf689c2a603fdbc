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


def change(item: str, before=None, after=None, **detail) -> dict:
    return {"item": item, "before": before, "after": after, **detail}


def reg(key: str, name: str, kind: str, data, before=None) -> dict:
    return change(f"{key}\\{name}", before, data, key=key, name=name, type=kind, data=data)


def fw(action: str, name: str, before=None, **rule_fields) -> dict:
    wanted = None if action == "remove" else {k: v for k, v in rule(name, **rule_fields).items() if k != "group"}
    return change(name, before, wanted, action=action, name=name, **({"rule": wanted} if wanted else {}))


TEST_KEY = "HKLM\\SOFTWARE\\Policies\\Test"
CASES = {
    "registry": {"Changes": [reg(USBSTOR, "Start", "dword", 4, before=3),
                             reg(TEST_KEY, "Multi", "multistring", ["a", "b"]),
                             reg(TEST_KEY, "Blob", "binary", "beef"),
                             change(f"{TEST_KEY}\\Never", key=TEST_KEY, name="Never", remove=True)]},
    "audit_policy": {"Changes": [change(LOGON, "no_auditing", "success_and_failure", setting="success_and_failure")]},
    "security_policy": {"Changes": [
        change("[System Access] MinimumPasswordLength", 0, 14, section="System Access", key="MinimumPasswordLength",
               value=14),
        change("[System Access] PasswordComplexity", 0, True, section="System Access", key="PasswordComplexity",
               value=True),
        change("[Privilege Rights] SeDenyNetworkLogonRight", None, ["*S-1-5-32-546"], section="Privilege Rights",
               key="SeDenyNetworkLogonRight", value=["*S-1-5-32-546"])]},
    "defender": {"Changes": [
        change("DisableArchiveScanning", False, True, name="DisableArchiveScanning", value=True),
        change("PUAProtection", 0, 1, name="PUAProtection", value=1),
        change("ScanScheduleTime", "02:00:00", "03:00", name="ScanScheduleTime", value="03:00"),
        change("ExclusionPath", [], ["D:\\Images"], name="ExclusionPath", add=["D:\\Images"], remove=[]),
        change("ExclusionExtension", [], ["dcm"], name="ExclusionExtension", add=["dcm"], remove=[])]},
    "applocker": {"PolicyXml": APPLOCKER_XML, "Changes": [change("Exe mode", "NotConfigured", "Enabled")]},
    "firewall_rules": {"Group": "mt-eklient", "Changes": [fw("create", "mtk-mgmt"),
                                                          fw("create", "mtk-in-dicom", local_ports=["104"])]},
    "firewall_disable": {"Names": ["WINRM-HTTP-In-TCP"]},
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_apply_carries_out_the_changes_and_check_mode_is_inert(name: str) -> None:
    """The applier applies what it is given, no more: its diff is the changes' own before/after,
    check mode predicts it exactly and changes nothing, and an empty change list does nothing."""
    up()
    fresh = state_json()
    checked = applier(name, CASES[name], check_mode=True)
    assert checked["changed"] and not checked.get("failed"), checked
    assert state_json() == fresh  # check mode: reported, not applied
    first = applier(name, CASES[name])
    assert first["changed"] and not first.get("failed"), first
    assert checked["diff"] == first["diff"]
    assert state_json() != fresh
    if "Changes" in CASES[name]:
        assert first["diff"]["after"] == {c["item"]: c["after"] for c in CASES[name]["Changes"]}
    empty = {k: ([] if isinstance(v, list) else v) for k, v in CASES[name].items()}
    if name != "applocker":  # the role calls it only with a change
        assert applier(name, empty)["changed"] is False
    applied = [e["applied"] for e in journal()]
    assert applied[0] == 0 and applied[1] > 0


def test_appliers_compare_nothing() -> None:
    """A change the host already has is carried out again: the decision is the change set's."""
    up()
    again = {"Changes": [reg(USBSTOR, "Start", "dword", 3, before=3)]}
    assert applier("registry", again)["changed"]


def test_registry_values_reach_the_facts() -> None:
    up()
    applier("registry", CASES["registry"])
    facts = facts_from_state(store.read_state(HOST), {"registry": [[USBSTOR, "Start"], [TEST_KEY, "*"]]})
    assert facts["registry"][USBSTOR] == {"Start": {"type": "REG_DWORD", "value": 4}}
    assert facts["registry"][TEST_KEY] == {
        "Multi": {"type": "REG_MULTI_SZ", "value": ["a", "b"]}, "Blob": {"type": "REG_BINARY", "value": "beef"}}
    removal = change(f"{USBSTOR}\\Start", 4, None, key=USBSTOR, name="Start", remove=True)
    result = applier("registry", {"Changes": [removal]})
    assert result["diff"] == {"before": {f"{USBSTOR}\\Start": 4}, "after": {f"{USBSTOR}\\Start": None}}
    assert "Start" not in (store.read_state(HOST)["registry"].get(USBSTOR.upper()) or {})
    assert applier("registry", {"Changes": [reg(USBSTOR, "Start", "text", 1)]})["failed"]
    assert "only HKLM" in applier("registry", {"Changes": [reg("HKCU\\X", "Y", "dword", 1)]})["msg"]


def test_firewall_rules_carries_out_create_update_remove_in_order() -> None:
    up()
    applier("firewall_rules", CASES["firewall_rules"])
    result = applier("firewall_rules", {"Group": "mt-eklient", "Changes": [
        fw("update", "mtk-mgmt", remote_addresses=["10.30.0.0/24"]), fw("remove", "mtk-in-dicom")]})
    assert result["changed"]
    rules = store.read_state(HOST)["firewall"]["rules"]
    assert [r["name"] for r in rules if r["group"] == "mt-eklient"] == ["mtk-mgmt"]
    assert any(r["name"] == "WINRM-HTTP-In-TCP" for r in rules)
    # Windows reports addresses with masks; the collector passes them on as they are
    facts = facts_from_state(store.read_state(HOST), {"firewall_rule_groups": ["mt-eklient"]})
    mgmt = next(r for r in facts["firewall"]["rules"] if r["name"] == "mtk-mgmt")
    assert mgmt["remote_addresses"] == ["10.30.0.0/255.255.255.0"] and mgmt["group"] == "mt-eklient"


def test_firewall_rules_refuses_what_windows_refuses() -> None:
    up()
    bad_ports = applier("firewall_rules", {"Group": "g", "Changes": [fw("create", "r", protocol="any")]})
    assert bad_ports["failed"] and "only valid for TCP or UDP" in bad_ports["msg"]
    taken = applier("firewall_rules", {"Group": "g", "Changes": [fw("create", "WINRM-HTTP-In-TCP")]})
    assert taken["failed"] and "already exists" in taken["msg"]
    gone = applier("firewall_rules", {"Group": "g", "Changes": [fw("remove", "no-such-rule")]})
    assert gone["failed"] and "No MSFT_NetFirewallRule objects found" in gone["msg"]
    partial = change("r", action="create", name="r", rule={"direction": "in", "action": "allow"})
    missing = applier("firewall_rules", {"Group": "g", "Changes": [partial]})
    assert missing["failed"] and "missing key(s)" in missing["msg"]


def test_defender_exclusions_and_tamper_protection_wins() -> None:
    up()
    applier("defender", {"Changes": [change("ExclusionPath", name="ExclusionPath", add=["D:\\A", "D:\\B"], remove=[])]})
    applier("defender", {"Changes": [change("ExclusionPath", name="ExclusionPath", add=[], remove=["d:\\a"])]})
    assert store.read_state(HOST)["defender"]["preferences"]["ExclusionPath"] == ["D:\\B"]
    off = applier("defender", {"Changes": [change("x", name="DisableRealtimeMonitoring", value=True)]})
    assert off["changed"] and "tamper protection" in " ".join(off.get("warnings", []))
    assert store.read_state(HOST)["defender"]["preferences"]["DisableRealtimeMonitoring"] is False
    assert "cannot be found that matches parameter name 'DisableRealTime'" in applier(
        "defender", {"Changes": [change("x", name="DisableRealTime", value=True)]})["msg"]
    assert "Boolean parameters accept only" in applier(
        "defender", {"Changes": [change("x", name="DisableArchiveScanning", value="yes")]})["msg"]


def secpol(key: str, value, section: str = "System Access") -> dict:
    return change(f"[{section}] {key}", None, value, section=section, key=key, value=value)


def test_security_policy_checks_and_renames() -> None:
    state = up()
    result = applier("security_policy", {"Changes": [secpol("LockoutBadCount", 5), secpol("LockoutDuration", 10),
                                                     secpol("ResetLockoutCount", 30)]})
    assert result["failed"] and "ResetLockoutCount 30 exceeds LockoutDuration 10" in result["msg"]
    assert applier("security_policy", {"Changes": [secpol("MinimumPasswordLength", 20)]})["failed"]
    applier("security_policy", {"Changes": [secpol("NewAdministratorName", "LocalRoot")]})
    admin = next(u for u in store.read_state(HOST)["local_users"] if u["sid"] == state["machine_sid"] + "-500")
    assert admin["name"] == "LocalRoot"
    assert "No mapping between account names" in applier("security_policy", {"Changes": [
        secpol("SeDebugPrivilege", ["REGION\\nobody"], "Privilege Rights")]})["msg"]


def test_audit_and_applocker_errors() -> None:
    up()
    assert "unknown audit setting 'all'" in applier("audit_policy", {"Changes": [change(LOGON, setting="all")]})["msg"]
    assert "exit code 87" in applier("audit_policy", {"Changes": [
        change("{0cce9999-69ae-11d9-bed3-505054503030}", setting="success")]})["msg"]
    assert "not well-formed" in applier("applocker", {"PolicyXml": "<AppLockerPolicy"})["msg"]
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
    no_should_process = "# mtk-applier: audit_policy\n[CmdletBinding()]\nparam([object[]]$Changes)\n"
    skipped = run_standin(PS, HOST, {"script": no_should_process, "parameters": {"Changes": []}}, check_mode=True)
    assert skipped["changed"] and skipped["msg"] == "skipped, running in check mode"
    unbound = applier("audit_policy", {"Chagnes": []})
    assert unbound["failed"] and "cannot be found that matches parameter name 'Chagnes'" in unbound["msg"]
    mandatory = applier("applocker", {})
    assert mandatory["failed"] and "missing mandatory parameters: PolicyXml" in mandatory["msg"]
    assert "Unsupported parameters for (win_powershell) module: paramters" in run_standin(
        PS, HOST, {"script": "x", "paramters": {}})["msg"]


def test_default_depth_flattens_deep_diffs_like_win_powershell() -> None:
    up()
    shallow = applier("firewall_rules", CASES["firewall_rules"], check_mode=True, depth=1)
    assert shallow["diff"]["after"]["mtk-mgmt"]["profiles"] == "Domain Private Public"  # lists past depth become text
    default = applier("firewall_rules", CASES["firewall_rules"], check_mode=True)  # the item diffs fit depth 2
    assert default["diff"]["after"]["mtk-mgmt"]["profiles"] == ["Domain", "Private", "Public"]


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
    the old restriction, so the change says which old filters to clear ('Any')."""
    from mt_eklient.lab.appliers import ApplierError
    from mt_eklient.lab.appliers.fwrules import set_rule, update_parameters, wanted

    installed = rule("r", local_ports=["104"], program="C:\\old\\viewer.exe", store="PersistentStore")
    set_rule(installed, {"enabled": False}, "mt-eklient", "r")
    assert (installed["enabled"], installed["program"], installed["local_ports"]) == (False, "C:\\old\\viewer.exe",
                                                                                      ["104"])
    want = wanted(rule("r", local_ports=[], program=None), "r")
    assert "program" not in update_parameters(want, clear_ports=False, clear_program=False)
    given = update_parameters(want, clear_ports=True, clear_program=True)
    assert {"program", "local_ports", "remote_ports", "remote_addresses"} <= set(given)
    set_rule(installed, given, "mt-eklient", "r")
    assert installed["program"] is None and installed["local_ports"] == []
    # To protocol any: the old ports are cleared in the same call, else Windows refuses the filter.
    ported = rule("p", local_ports=["104"], store="PersistentStore")
    with pytest.raises(ApplierError, match="only valid for TCP or UDP"):
        set_rule(ported, {"protocol": "any"}, "mt-eklient", "p")
    set_rule(ported, update_parameters(wanted(rule("p", protocol="any", local_ports=[]), "p"), True, False),
             "mt-eklient", "p")
    assert (ported["protocol"], ported["local_ports"]) == ("any", [])
    with pytest.raises(ApplierError, match="Parameter set cannot be resolved"):
        set_rule(ported, {"name": "p", "display_name": "x"}, "mt-eklient", "p")


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
    assert done["diff"] == checked["diff"] == {"before": {"allow-any-out": "enabled"},
                                               "after": {"allow-any-out": "disabled"}}
    rules = {r["name"]: r for r in store.read_state(HOST)["firewall"]["rules"]}
    assert rules["allow-any-out"]["enabled"] is False and rules["WINRM-HTTP-In-TCP"]["enabled"] is True
    assert applier("firewall_disable", {"Names": []})["changed"] is False
    missing = applier("firewall_disable", {"Names": ["no-such-rule"]})
    assert missing["failed"] and "No MSFT_NetFirewallRule objects found" in missing["msg"]
