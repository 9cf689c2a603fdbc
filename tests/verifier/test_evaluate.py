"""The evaluator: one extractor per check method, every status, class evidence, lifecycle, patch age."""

from __future__ import annotations

import copy
import json
import time
from datetime import date

import pytest
from mt_eklient.catalog import METHOD_PARAMS, Catalog
from mt_eklient.evaluate import CLASS_CONTROL_ID, EXTRACTORS, REDACTED, STATUSES, evaluate
from verifier_helpers import (
    ADMIN_SID,
    ALLOW_IDS_KEY,
    ALLOWED_IDS,
    AUDIT_GUID,
    BUILTIN_ADMIN,
    CONTROLS,
    SMB_KEY,
    TODAY,
    TS_KEY,
    TS_POLICY_KEY,
    WINLOGON,
    applications,
    control,
    good_facts,
    make_baseline,
    profile_data,
    write_yaml,
)


def by_id(result):
    return {c.id: c for c in result.controls}


def test_every_check_method_has_an_extractor():
    assert set(EXTRACTORS) == set(METHOD_PARAMS)


def test_test_catalog_covers_every_method():
    assert {c.method for c in CONTROLS} == set(METHOD_PARAMS)


def test_good_facts_pass_everything(wm1):
    result = wm1.evaluate()
    statuses = {c.id: c.status for c in result.controls}
    assert statuses.pop("T-M-ONLY") == "not_applicable"
    assert set(statuses.values()) == {"pass"}, {k: v for k, v in statuses.items() if v != "pass"}
    assert result.verdict == "pass"
    assert (result.declared_class, result.nameplate_class, result.observed_type) == ("WM1", "WM1", "WM")
    assert result.profile["id"] == wm1.loaded.profile.id


def test_every_control_of_the_baseline_gets_one_known_status(wm1):
    result = wm1.evaluate()
    assert [c.id for c in result.controls] == [c.id for c in wm1.baseline.controls]
    assert all(c.status in STATUSES for c in result.controls)


def test_evaluation_takes_milliseconds(wm1):
    wm1.evaluate()
    started = time.perf_counter()
    for _ in range(50):
        wm1.evaluate()
    assert (time.perf_counter() - started) / 50 < 0.05


# --- registry ---------------------------------------------------------------------------------


def test_registry_dword_written_as_string_passes_with_a_note(wm1):
    wm1.facts["registry"][SMB_KEY]["SMB1"] = {"type": "REG_SZ", "value": "0"}
    result = wm1.result("T-REG")
    assert result.status == "pass"
    assert "stored as REG_SZ" in result.notes[0]


def test_registry_key_case_and_long_hive_name_do_not_matter(wm1):
    values = wm1.facts["registry"].pop(SMB_KEY)
    wm1.facts["registry"][SMB_KEY.replace("HKLM", "HKEY_LOCAL_MACHINE").upper()] = {"smb1": values["SMB1"]}
    assert wm1.result("T-REG").status == "pass"


def test_registry_wrong_value_fails_with_evidence(wm1):
    wm1.facts["registry"][SMB_KEY]["SMB1"]["value"] = 1
    result = wm1.result("T-REG")
    assert (result.status, result.expected, result.actual) == ("fail", 0, 1)


def test_registry_value_that_does_not_exist_is_not_set(wm1):
    wm1.facts["registry"][SMB_KEY] = {}
    result = wm1.result("T-REG")
    assert (result.status, result.actual, result.message) == ("fail", None, "not set")


def test_registry_key_the_collector_could_not_read_is_an_error(wm1):
    wm1.facts["registry"][SMB_KEY] = None
    wm1.facts["errors"] = [
        {"section": "registry", "message": "HKLM\\SOFTWARE\\Other: access denied"},
        {"section": "registry", "message": f"{SMB_KEY}: Get-Item: Requested registry access is not allowed."}]
    result = wm1.result("T-REG")
    assert result.status == "error"
    assert "Requested registry access is not allowed" in result.message


def test_registry_key_not_requested_is_an_error_naming_the_request(wm1):
    del wm1.facts["registry"][SMB_KEY]
    result = wm1.result("T-REG")
    assert result.status == "error"
    assert "not in the facts document" in result.message and "mtk request" in result.message


def test_registry_section_unreadable(wm1):
    wm1.facts["registry"] = None
    wm1.facts["errors"] = [{"section": "registry", "message": "OpenBaseKey failed"}]
    result = wm1.result("T-REG")
    assert result.status == "error"
    assert result.message == "collector could not read registry: OpenBaseKey failed"


# --- registry_values: every value of one key ------------------------------------------------------


def test_registry_values_exact_set_passes_with_the_names_as_collected(wm1):
    result = wm1.result("T-REG-VALUES")
    assert (result.status, result.actual, result.message) == ("pass", ALLOWED_IDS, None)


def test_registry_values_compare_names_and_text_without_regard_to_case(wm1_profile):
    check = {"method": "registry_values", "key": "HKLM\\SOFTWARE\\Test\\List", "type": "string"}
    catalog = Catalog("t", (control("T-NAMED", "removable_media", check, {"value": {"Alpha": "USB\\VID_1"}}),))
    loaded, baseline = make_baseline(wm1_profile, catalog=catalog)
    facts = good_facts(loaded)
    facts["registry"]["hklm\\software\\test\\list"] = {"ALPHA": {"type": "REG_SZ", "value": "usb\\vid_1"}}
    [result] = [c for c in evaluate(baseline, facts, TODAY, applications(loaded)).controls if c.id == "T-NAMED"]
    assert (result.status, result.actual) == ("pass", {"ALPHA": "usb\\vid_1"})


@pytest.mark.parametrize(("values", "message"), [
    ({"1": ALLOWED_IDS["1"], "2": ALLOWED_IDS["2"], "3": "USBSTOR\\Disk_Any"}, "unexpected: 3"),
    ({"1": ALLOWED_IDS["1"]}, "missing: 2"),
    ({"1": ALLOWED_IDS["2"], "2": ALLOWED_IDS["2"]}, "different: 1"),
    ({}, "missing: 1, 2"),  # the collector reports a key that does not exist as {}
])
def test_registry_values_differences_fail_naming_the_values(wm1, values, message):
    wm1.facts["registry"][ALLOW_IDS_KEY] = {n: {"type": "REG_SZ", "value": d} for n, d in values.items()}
    result = wm1.result("T-REG-VALUES")
    assert (result.status, result.actual, result.expected) == ("fail", values, ALLOWED_IDS)
    assert result.message == message


def test_registry_values_of_another_type_pass_with_a_note(wm1):
    wm1.facts["registry"][ALLOW_IDS_KEY]["2"]["type"] = "REG_EXPAND_SZ"
    result = wm1.result("T-REG-VALUES")
    assert result.status == "pass"
    assert result.notes == ["stored as another type than REG_SZ: 2 (REG_EXPAND_SZ)"]


def test_registry_values_unreadable_or_not_requested_key_is_an_error(wm1):
    wm1.facts["registry"][ALLOW_IDS_KEY] = None
    wm1.facts["errors"] = [{"section": "registry", "message": f"{ALLOW_IDS_KEY}: access denied"}]
    result = wm1.result("T-REG-VALUES")
    assert result.status == "error" and "access denied" in result.message
    del wm1.facts["registry"][ALLOW_IDS_KEY]
    wm1.facts["errors"] = []
    result = wm1.result("T-REG-VALUES")
    assert result.status == "error" and "mtk request" in result.message


def test_secret_values_are_compared_but_never_shown(wm1):
    wm1.facts["registry"][WINLOGON]["DefaultPassword"] = {"type": "REG_SZ", "value": "Canary-Pa55word!"}
    result = wm1.evaluate()
    control = by_id(result)["T-AUTOLOGON-PW"]
    assert control.status == "fail"
    assert control.actual == REDACTED
    assert "Canary-Pa55word!" not in json.dumps(result.to_dict())


def test_numeric_settings_named_like_passwords_stay_visible(wm1):
    result = wm1.result("T-SECPOL")
    assert result.actual == 14


# --- audit and security policy -------------------------------------------------------------------


def test_audit_policy_by_guid(wm1):
    wm1.facts["audit_policy"][AUDIT_GUID] = "success"
    result = wm1.result("T-AUDIT")
    assert (result.status, result.actual) == ("fail", "success")


def test_audit_policy_missing_subcategory_is_an_error(wm1):
    del wm1.facts["audit_policy"][AUDIT_GUID]
    assert wm1.result("T-AUDIT").status == "error"


def test_audit_policy_section_failed_shows_the_collector_message(wm1):
    wm1.facts["audit_policy"] = None
    wm1.facts["errors"] = [{"section": "audit_policy", "message": "auditpol /backup exited with 5"}]
    result = wm1.result("T-AUDIT")
    assert result.status == "error"
    assert "auditpol /backup exited with 5" in result.message


def test_security_policy_sids_lose_their_star(wm1):
    wm1.facts["security_policy"]["Privilege Rights"]["SeDenyNetworkLogonRight"] = ["*S-1-5-113"]
    result = wm1.result("T-DENYNET")
    assert result.status == "fail"
    assert result.message == "missing: S-1-5-32-546"


def test_security_policy_value_left_out_by_secedit_is_not_set(wm1):
    del wm1.facts["security_policy"]["System Access"]["MinimumPasswordLength"]
    result = wm1.result("T-SECPOL")
    assert (result.status, result.message) == ("fail", "not set")


def test_security_policy_missing_section_is_an_error(wm1):
    del wm1.facts["security_policy"]["System Access"]
    assert wm1.result("T-SECPOL").status == "error"


# --- services ----------------------------------------------------------------------------------


def test_service_not_installed_satisfies_disabled(wm1):
    wm1.facts["services"]["RemoteRegistry"] = None
    result = wm1.result("T-SVC-OFF")
    assert result.status == "pass"
    assert "not installed" in result.message


def test_service_not_installed_fails_when_it_must_run(wm1):
    wm1.facts["services"]["AppIDSvc"] = None
    result = wm1.result("T-SVC")
    assert (result.status, result.message) == ("fail", "service AppIDSvc is not installed")


def test_service_not_requested_is_an_error(wm1):
    del wm1.facts["services"]["AppIDSvc"]
    assert wm1.result("T-SVC").status == "error"


# --- firewall ----------------------------------------------------------------------------------


def test_firewall_profile_all_three_must_match(wm1):
    wm1.facts["firewall"]["profiles"]["Public"]["default_inbound_action"] = "allow"
    result = wm1.result("T-FW-IN")
    assert result.status == "fail"
    assert result.actual == {"Domain": "block", "Private": "block", "Public": "allow"}
    assert result.message == "not as expected in: Public"


def test_firewall_profile_not_configured_is_not_enabled(wm1):
    wm1.facts["firewall"]["profiles"]["Domain"]["enabled"] = "not_configured"
    assert wm1.result("T-FW-ON").status == "fail"


def test_allow_any_outbound_rule_outside_the_managed_group_fails(wm1):
    assert wm1.result("T-FW-OPEN-OUT").status == "pass"
    open_rule = {"name": "support-any", "display_name": "support", "group": None, "direction": "out", "action": "allow",
                 "enabled": True, "protocol": "any", "local_ports": [], "remote_ports": [], "remote_addresses": [],
                 "program": None, "profiles": ["Domain", "Private", "Public"]}
    narrow = dict(open_rule, name="dns-out", protocol="udp", remote_ports=["53"])
    wm1.facts["firewall"]["rules"] += [open_rule, narrow]
    result = wm1.result("T-FW-OPEN-OUT")
    assert (result.status, result.actual) == ("fail", ["support-any"])


def test_smb_server_state(wm1):
    assert wm1.result("T-SMB1-SERVER").status == "pass"
    wm1.facts["smb"]["server_smb1"] = True
    assert wm1.result("T-SMB1-SERVER").status == "fail"
    wm1.facts["smb"] = None
    wm1.facts["errors"].append({"section": "smb", "message": "Get-SmbServerConfiguration: access denied"})
    result = wm1.result("T-SMB1-SERVER")
    assert result.status == "error" and "access denied" in result.message


def test_firewall_profiles_unreadable(wm1):
    wm1.facts["firewall"]["profiles"] = None
    wm1.facts["errors"] = [{"section": "firewall", "message": "Get-NetFirewallProfile: RPC server unavailable"}]
    result = wm1.result("T-FW-IN")
    assert result.status == "error"
    assert "RPC server unavailable" in result.message


def _managed(facts):
    return [r for r in facts["firewall"]["rules"] if r["group"] == "mt-eklient"]


def test_firewall_rules_ignore_order_case_and_address_notation(wm1):
    # good_facts writes the rules reversed, with 255.255.255.0 masks and shuffled lists.
    assert wm1.result("T-FW-RULES").status == "pass"


def test_firewall_rules_extra_rule_in_the_group_fails(wm1):
    extra = dict(_management(wm1.facts), name="sneaky-rdp", local_ports=["3389"], remote_addresses=[])
    wm1.facts["firewall"]["rules"].append(extra)
    result = wm1.result("T-FW-RULES")
    assert result.status == "fail"
    assert result.message.startswith("unexpected: sneaky-rdp: in allow")


def test_firewall_rules_changed_rule_is_missing_and_unexpected(wm1):
    rule = next(r for r in _managed(wm1.facts) if r["name"] == "mtk-out-dicom-to-pacs")
    rule["remote_addresses"] = ["10.30.4.0/255.255.255.0"]
    result = wm1.result("T-FW-RULES")
    assert result.status == "fail"
    assert "missing: mtk-out-dicom-to-pacs" in result.message
    assert "unexpected: mtk-out-dicom-to-pacs" in result.message


def test_firewall_rules_outside_the_group_are_ignored(wm1):
    wm1.facts["firewall"]["rules"].append(dict(_managed(wm1.facts)[0], name="other", group="Vendor"))
    assert wm1.result("T-FW-RULES").status == "pass"


def _management(facts):
    return next(r for r in facts["firewall"]["rules"] if r["name"] == "mtk-management-winrm")


def test_firewall_management_rule_missing_fails(wm1):
    wm1.facts["firewall"]["rules"].remove(_management(wm1.facts))
    result = wm1.result("T-FW-MGMT")
    assert result.status == "fail"
    assert "10.20.0.0/24" in result.message


@pytest.mark.parametrize("change, status", [
    ({"local_ports": ["5986"]}, "pass"),
    ({"local_ports": ["5985-5986"]}, "pass"),
    ({"local_ports": []}, "pass"),  # any port
    ({"remote_addresses": ["10.0.0.0/255.0.0.0"]}, "pass"),  # wider than the zone
    ({"remote_addresses": []}, "pass"),  # any address
    ({"remote_addresses": ["10.20.0.0-10.20.0.255"]}, "pass"),
    ({"remote_addresses": ["10.20.0.0/255.255.255.128"]}, "fail"),  # half the zone
    ({"local_ports": ["3389"]}, "fail"),
    ({"enabled": False}, "fail"),
    ({"action": "block"}, "fail"),
    ({"protocol": "udp"}, "fail"),
    ({"direction": "out"}, "fail"),
])
def test_firewall_management_rule_variants(wm1, change, status):
    _management(wm1.facts).update(change)
    assert wm1.result("T-FW-MGMT").status == status


# --- defender, applocker, wdac -----------------------------------------------------------------


def test_defender_absent_fails(wm1):
    wm1.facts["defender"] = {"present": False, "preferences": None, "status": None}
    result = wm1.result("T-AV")
    assert (result.status, result.message) == ("fail", "Microsoft Defender is not present")


def test_defender_preferences_unreadable(wm1):
    wm1.facts["defender"]["preferences"] = None
    wm1.facts["errors"] = [{"section": "defender", "message": "Get-MpPreference: 0x800106ba"}]
    result = wm1.result("T-AV-EXCL")
    assert result.status == "error"
    assert "0x800106ba" in result.message
    assert wm1.result("T-AV").status == "pass"  # the status part was read


def test_defender_exclusions_exact_set(wm1):
    wm1.facts["defender"]["preferences"]["ExclusionPath"].append("C:\\Temp")
    result = wm1.result("T-AV-EXCL")
    assert (result.status, result.message) == ("fail", "unexpected: C:\\Temp")


def test_applocker_mode_from_policy_xml(wm1):
    xml = wm1.facts["applocker"]["policy_xml"]
    wm1.facts["applocker"]["policy_xml"] = xml.replace('EnforcementMode="Enabled"', 'EnforcementMode="AuditOnly"')
    result = wm1.result("T-AL-EXE")
    assert (result.status, result.expected, result.actual) == ("fail", "Enabled", "AuditOnly")


def test_applocker_mode_from_collections_without_xml(wm1):
    wm1.facts["applocker"]["policy_xml"] = None
    wm1.facts["applocker"]["collections"]["Exe"]["mode"] = "NotConfigured"
    assert wm1.result("T-AL-EXE").actual == "NotConfigured"


def test_applocker_rules_missing_rule(wm1):
    xml = wm1.facts["applocker"]["policy_xml"]
    start = xml.index("<FilePublisherRule")
    end = xml.index("</FilePublisherRule>", start) + len("</FilePublisherRule>")
    wm1.facts["applocker"]["policy_xml"] = xml[:start] + xml[end:]
    result = wm1.result("T-AL-RULES")
    assert result.status == "fail"
    assert result.message.startswith("missing: Exe:Allow:S-1-1-0:FilePublisherCondition:o=sonora medical ab")


def test_applocker_broken_xml_is_an_error(wm1):
    wm1.facts["applocker"]["policy_xml"] = "<AppLockerPolicy><RuleCollection"
    assert wm1.result("T-AL-EXE").status == "error"
    assert wm1.result("T-AL-RULES").status == "error"


def test_wdac_section_missing(wm1):
    wm1.facts["wdac"] = None
    wm1.facts["errors"] = [{"section": "wdac", "message": "Invalid namespace"}]
    result = wm1.result("T-WDAC")
    assert (result.status, result.message) == ("error", "collector could not read wdac: Invalid namespace")


# --- patching -----------------------------------------------------------------------------------


@pytest.mark.parametrize("installed_on, age, status", [
    ("2026-11-25", 0, "pass"), ("2026-10-11", 45, "pass"), ("2026-10-10", 46, "fail"), ("2026-01-01", 328, "fail"),
])
def test_patch_age_from_newest_hotfix(wm1, installed_on, age, status):
    wm1.facts["hotfixes"] = [{"id": "KB5000001", "installed_on": "2025-12-01"},
                             {"id": "KB5000002", "installed_on": installed_on},
                             {"id": "KB5000003", "installed_on": None}]
    result = wm1.result("T-PATCH-AGE")
    assert (result.status, result.actual, result.expected) == (status, age, 45)
    assert f"installed {installed_on}" in result.notes[0]


def test_patch_age_without_dates_is_an_error(wm1):
    wm1.facts["hotfixes"] = [{"id": "KB5000001", "installed_on": None}]
    assert wm1.result("T-PATCH-AGE").status == "error"


def test_no_hotfix_at_all_fails(wm1):
    wm1.facts["hotfixes"] = []
    result = wm1.result("T-PATCH-AGE")
    assert (result.status, result.message) == ("fail", "no hotfix installed")


def test_blocked_hotfix_installed_fails(wm1):
    wm1.facts["hotfixes"].append({"id": "KB5034441", "installed_on": "2026-11-01"})
    result = wm1.result("T-PATCH-BLOCKED")
    assert (result.status, result.message) == ("fail", "present: KB5034441")


# --- programs, local groups, optional features ------------------------------------------------


def test_profile_application_not_installed(wm1):
    wm1.facts["programs"] = [p for p in wm1.facts["programs"] if "SonoRev" not in p["name"]]
    result = wm1.result("T-PROGRAMS")
    assert (result.status, result.message) == ("fail", "not installed: SonoRev Review")
    assert result.actual == {"SonoRev Review": None}


def test_local_admins_builtin_administrator_is_the_machines(wm1):
    result = wm1.result("T-ADMINS")
    assert BUILTIN_ADMIN in result.expected and "S-1-5-21-*-500" not in result.expected
    assert result.status == "pass"


def test_registry_policy_value_wins_over_the_local_one(wm1):
    """A Group Policy value under SOFTWARE\\Policies overrides the local setting (RDP on by GPO)."""
    assert wm1.result("T-REG-POLICY").status == "pass"
    assert "the local value counts" in " ".join(wm1.result("T-REG-POLICY").notes)
    wm1.facts["registry"][TS_POLICY_KEY]["fDenyTSConnections"] = {"type": "REG_DWORD", "value": 0}
    result = wm1.result("T-REG-POLICY")
    assert (result.status, result.actual) == ("fail", 0)
    wm1.facts["registry"][TS_POLICY_KEY]["fDenyTSConnections"]["value"] = 1
    wm1.facts["registry"][TS_KEY]["fDenyTSConnections"]["value"] = 0
    assert wm1.result("T-REG-POLICY").status == "pass"


def test_shipped_remote_access_controls_read_the_policy_value_first():
    from mt_eklient.catalog import load_catalog

    catalog = load_catalog()
    for control_id in ("RA-RDP-OFF", "RA-RDP-NLA", "RA-REMOTE-ASSISTANCE-OFF"):
        check = catalog.get(control_id).check
        assert check["method"] == "registry_policy" and check["key"] == TS_POLICY_KEY, control_id


DOMAIN_ADMINISTRATOR = "S-1-5-21-7777777777-8888888888-9999999999-500"


def test_local_admins_a_domains_administrator_is_not_the_builtin_one(wm1):
    """S-1-5-21-*-500 as a pattern would let the DOMAIN's Administrator (RID 500 of the domain SID) in."""
    wm1.facts["host"]["machine_sid"] = BUILTIN_ADMIN.rsplit("-", 1)[0]
    wm1.facts["local_groups"]["S-1-5-32-544"]["members"].append({"sid": DOMAIN_ADMINISTRATOR,
                                                                   "name": "REGION\\Administrator"})
    result = wm1.result("T-ADMINS")
    assert (result.status, result.message) == ("fail", f"unexpected: {DOMAIN_ADMINISTRATOR}")
    assert f"{BUILTIN_ADMIN.rsplit('-', 1)[0]}-500" in result.expected


def test_local_admins_machine_sid_from_a_local_account_name(wm1):
    wm1.facts["host"].pop("machine_sid", None)
    assert wm1.result("T-ADMINS").status == "pass"  # WM1-SONO-01\\Administratör is local


def test_local_admins_unknown_machine_sid_is_an_error_not_a_pass(wm1):
    wm1.facts["host"].pop("machine_sid", None)
    for member in wm1.facts["local_groups"]["S-1-5-32-544"]["members"]:
        member["name"] = "REGION\\someone"
    result = wm1.result("T-ADMINS")
    assert result.status == "error" and "machine SID is unknown" in result.message


def test_local_admins_extra_member_fails(wm1):
    wm1.facts["local_groups"]["S-1-5-32-544"]["members"].append({"sid": "S-1-5-21-9-9-9-1105", "name": "X\\tech"})
    result = wm1.result("T-ADMINS")
    assert (result.status, result.message) == ("fail", "unexpected: S-1-5-21-9-9-9-1105")


def test_local_admins_missing_member_fails(wm1):
    members = wm1.facts["local_groups"]["S-1-5-32-544"]["members"]
    members[:] = [m for m in members if m["sid"] != ADMIN_SID]
    assert wm1.result("T-ADMINS").message == f"missing: {ADMIN_SID}"


def test_local_group_unreadable(wm1):
    wm1.facts["local_groups"]["S-1-5-32-544"] = None
    wm1.facts["errors"] = [{"section": "local_groups", "message": "S-1-5-32-544: The network path was not found."}]
    result = wm1.result("T-ADMINS")
    assert result.status == "error"
    assert "network path was not found" in result.message


@pytest.mark.parametrize("state, status", [
    ("disabled", "pass"), ("disabled_with_payload_removed", "pass"), ("absent", "pass"),
    ("enabled", "fail"), ("enable_pending", "fail"),
])
def test_optional_feature_states(wm1, state, status):
    wm1.facts["optional_features"]["SMB1Protocol"] = state
    assert wm1.result("T-SMB1").status == status


def test_optional_feature_not_requested(wm1):
    wm1.facts["optional_features"] = {}
    assert wm1.result("T-SMB1").status == "error"


# --- os: edition, lifecycle, patch level --------------------------------------------------------


def test_unsupported_edition(wm1):
    wm1.facts["os"].update(edition_id="Enterprise", current_build=19045)
    result = wm1.result("T-OS-EDITION")
    assert result.status == "fail"
    assert result.actual == "unknown (Enterprise build 19045)"


def test_edition_not_in_the_profile(wm1):
    wm1.facts["os"].update(edition_id="EnterpriseS", current_build=17763)
    result = wm1.result("T-OS-EDITION")
    assert (result.status, result.actual) == ("fail", "win10-ltsc-2019")


@pytest.mark.parametrize("today, warn_days, status, warned", [
    (date(2026, 6, 1), 180, "pass", False),  # 225 days left
    (date(2026, 11, 25), 180, "pass", True),  # 48 days left: warning, still pass
    (date(2026, 11, 25), 30, "pass", False),  # warning window is configurable
    (date(2027, 1, 12), 180, "pass", True),  # last day of support
    (date(2027, 1, 13), 180, "fail", False),  # past the end of support
])
def test_lifecycle(wm1, today, warn_days, status, warned):
    result = wm1.evaluate(today=today, warn_days=warn_days)
    control = by_id(result)["T-OS-LIFE"]
    assert control.status == status
    assert control.actual["end_of_support"] == "2027-01-12"
    warning = any("support ends 2027-01-12" in n for n in control.notes)
    assert warning is warned
    assert any("support ends" in n for n in result.notes) is warned
    if status == "fail":
        assert "support ended 2027-01-12" in control.message


@pytest.mark.parametrize("expected, today, status", [
    ({"value": "supported"}, date(2026, 11, 25), "fail"),  # a catalog may refuse the warning window
    ({"value": "supported"}, date(2026, 6, 1), "pass"),
    (None, date(2026, 11, 25), "pass"),  # no expected value: supported and ending_soon pass
    (None, date(2027, 2, 1), "fail"),
])
def test_lifecycle_follows_the_catalogs_expected_states(wm1_profile, expected, today, status):
    from verifier_helpers import control, good_facts
    life = control("T-LIFE", "os", {"method": "os", "property": "lifecycle"}, expected,
                   "equals" if expected else "present")
    loaded, baseline = make_baseline(wm1_profile, catalog=Catalog("t", (life,)))
    [result] = [c for c in evaluate(baseline, good_facts(loaded), today, applications(loaded)).controls
                if c.id == "T-LIFE"]
    assert result.status == status
    if status == "fail":
        assert "support end" in result.message


def test_lifecycle_of_iot_edition_runs_longer(wm1):
    wm1.facts["os"]["edition_id"] = "IoTEnterpriseS"
    control = by_id(wm1.evaluate(today=date(2027, 6, 1)))["T-OS-LIFE"]
    assert (control.status, control.actual["end_of_support"]) == ("pass", "2032-01-13")


@pytest.mark.parametrize("ubr, status", [(5011, "pass"), (5131, "pass"), (5010, "fail")])
def test_min_patch_level(wm1, ubr, status):
    wm1.facts["os"]["ubr"] = ubr
    result = wm1.result("T-OS-PATCH")
    assert (result.status, result.actual, result.expected) == (status, f"19044.{ubr}", "19044.5011 or later")


def test_min_patch_level_without_a_minimum_for_the_build(wm1):
    wm1.facts["os"].update(current_build=17763, ubr=6000)
    result = wm1.result("T-OS-PATCH")
    assert result.status == "not_applicable"
    assert "no minimum patch level for build 17763" in result.message


def test_os_section_missing(wm1):
    wm1.facts["os"] = None
    wm1.facts["errors"] = [{"section": "os", "message": "Get-CimInstance: access denied"}]
    result = wm1.evaluate()
    assert {by_id(result)[i].status for i in ("T-OS-EDITION", "T-OS-LIFE", "T-OS-PATCH")} == {"error"}


# --- nameplate and class --------------------------------------------------------------------------


def test_no_nameplate(wm1):
    wm1.facts["nameplate"] = None
    result = wm1.result("T-NAMEPLATE")
    assert (result.status, result.message) == ("fail", "no nameplate on the machine")


def test_nameplate_with_another_class_is_a_class_finding(wm1):
    wm1.facts["nameplate"]["class"] = "WM2"
    result = wm1.evaluate()
    assert by_id(result)["T-NAMEPLATE"].status == "fail"
    finding = by_id(result)["T-CLASS"]
    assert finding.status == "fail"
    assert "nameplate says WM2, declared WM1" in finding.message
    assert result.nameplate_class == "WM2"


def test_declared_class_differs_from_the_profile(wm1_profile):
    loaded, baseline = make_baseline(wm1_profile, declared="WM2")
    from verifier_helpers import good_facts
    result = evaluate(baseline, good_facts(loaded), TODAY, applications(loaded))
    finding = by_id(result)["T-CLASS"]
    assert finding.status == "fail"
    assert "declared class WM2 but profile" in finding.message


def test_machine_that_looks_like_m_declared_wm(wm1):
    wm1.facts["host"]["part_of_domain"] = False
    del wm1.facts["registry"]["HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\WindowsUpdate"]
    wm1.facts["nameplate"] = None
    result = wm1.evaluate()
    finding = by_id(result)["T-CLASS"]
    assert (finding.status, result.observed_type) == ("fail", "M")
    assert "looks like M, declared WM1" in finding.message
    assert finding.actual["observed_type"] == "M"


def test_machine_without_the_mt_application_declared_wm(wm1):
    wm1.facts["programs"] = []
    wm1.facts["services"]["SonoRevDicom"] = None
    finding = wm1.result("T-CLASS")
    assert finding.status == "fail"
    assert "does not look like WM" in finding.message


def test_without_declared_class_the_profile_class_is_assumed(wm1_profile):
    loaded, baseline = make_baseline(wm1_profile, declared=None)
    from verifier_helpers import good_facts
    result = evaluate(baseline, good_facts(loaded), TODAY, applications(loaded))
    finding = by_id(result)["T-CLASS"]
    assert finding.status == "pass"
    assert "profile's class WM1 is assumed" in finding.notes[0]


def test_class_mismatch_is_reported_when_the_catalog_has_no_class_control(wm1_profile):
    catalog = Catalog("test-2", tuple(c for c in CONTROLS if c.method != "class_evidence"))
    loaded, baseline = make_baseline(wm1_profile, catalog=catalog)
    from verifier_helpers import good_facts
    facts = good_facts(loaded)
    facts["nameplate"]["class"] = "M1"
    result = evaluate(baseline, facts, TODAY, applications(loaded))
    synthetic = by_id(result)[CLASS_CONTROL_ID]
    assert (synthetic.status, synthetic.area) == ("fail", "classification")
    assert result.verdict == "fail"


# --- waived, not applicable, missing facts ------------------------------------------------------


def _with_waiver(sonora, tmp_path, control, expires):
    data = profile_data(sonora)
    data["waivers"] = [{"control": control, "reason": "Vendor validates the exclusion list quarterly",
                        "owner": "MT engineering", "expires": expires}]
    return write_yaml(tmp_path / "waived.yml", data)


def test_waived_control_shows_reason_expiry_and_what_it_would_find(sonora, tmp_path):
    loaded, baseline = make_baseline(_with_waiver(sonora, tmp_path, "T-AV-EXCL", "2027-03-31"))
    from verifier_helpers import good_facts
    facts = good_facts(loaded)
    facts["defender"]["preferences"]["ExclusionPath"].append("E:\\Scratch")
    result = evaluate(baseline, facts, TODAY, applications(loaded))
    control = by_id(result)["T-AV-EXCL"]
    assert control.status == "waived"
    assert control.waiver == {"reason": "Vendor validates the exclusion list quarterly", "owner": "MT engineering",
                              "expires": "2027-03-31"}
    assert control.message == "waived: Vendor validates the exclusion list quarterly"
    assert control.notes[0] == "would fail: unexpected: E:\\Scratch"
    assert "E:\\Scratch" in control.actual
    assert result.verdict == "pass"  # waived counts as pass


def test_waiver_expiring_between_resolution_and_evaluation_no_longer_applies(sonora, tmp_path):
    loaded, baseline = make_baseline(_with_waiver(sonora, tmp_path, "T-AV-EXCL", "2026-11-30"))
    from verifier_helpers import good_facts
    result = evaluate(baseline, good_facts(loaded), date(2026, 12, 1), applications(loaded))
    control = by_id(result)["T-AV-EXCL"]
    assert control.status == "pass"
    assert "waiver expired on 2026-11-30" in control.notes[0]


def test_not_applicable_carries_the_reason(wm1):
    control = wm1.result("T-M-ONLY")
    assert (control.status, control.message) == ("not_applicable", "not required for class WM1")


def test_when_condition_not_applicable(sonora, tmp_path):
    data = profile_data(sonora)
    data["antivirus"] = {"permitted": False, "compensating_controls": ["T-AL-EXE"]}  # whitelisting enforces
    loaded, baseline = make_baseline(write_yaml(tmp_path / "noav.yml", data))
    from verifier_helpers import good_facts
    result = evaluate(baseline, good_facts(loaded), TODAY, applications(loaded))
    control = by_id(result)["T-AV"]
    assert control.status == "not_applicable"
    assert "antivirus.permitted" in control.message


def test_minimal_facts_document_gives_errors_not_exceptions(wm1):
    facts = {k: copy.deepcopy(wm1.facts[k]) for k in ("schema_version", "collector", "collected_at", "host")}
    facts["errors"] = []
    result = wm1.evaluate(facts)
    statuses = by_id(result)
    judged = {i: c.status for i, c in statuses.items() if i not in ("T-M-ONLY", "T-CLASS", "T-NAMEPLATE")}
    assert set(judged.values()) == {"error"}, judged
    assert all(c.message for c in result.controls if c.status == "error")


@pytest.mark.parametrize("section, value", [
    ("registry", ["not", "a", "map"]), ("services", "AppIDSvc"), ("firewall", {"profiles": [], "rules": "x"}),
    ("hotfixes", [{"id": 5}]), ("local_groups", {"S-1-5-32-544": {"members": "everyone"}}), ("os", {"ubr": "x"}),
    ("programs", [None, 3]), ("defender", {"present": True, "status": [], "preferences": 1}),
    ("applocker", {"policy_xml": 7}), ("os", ["EnterpriseS"]), ("host", "WM1"), ("nameplate", ["WM1"]),
    ("audit_policy", ["x"]), ("security_policy", {"System Access": None}), ("local_groups", ["S-1-5-32-544"]),
    ("optional_features", ["SMB1Protocol"]), ("wdac", 2),
])
def test_malformed_sections_never_raise(wm1, section, value):
    wm1.facts[section] = value
    result = wm1.evaluate()
    assert all(c.status in STATUSES for c in result.controls)


def test_stale_facts_get_a_note(wm1):
    result = wm1.evaluate(today=date(2026, 12, 20))
    assert any("facts collected 2026-11-25, 25 days before" in n for n in result.notes)


def test_host_result_never_contains_the_raw_facts(wm1):
    wm1.facts["programs"].append({"name": "Unrelated Tool", "version": "1", "publisher": "Canary Corp",
                                  "install_location": None})
    text = json.dumps(wm1.evaluate().to_dict())
    assert "Canary Corp" not in text and "Unrelated Tool" not in text


@pytest.mark.parametrize("approved, status, message", [
    (["KB5011048", "KB5042097", "KB5046613"], "pass", None),
    (["KB5011048", "KB5042097", "KB5046613", "KB5099999"], "pass", None),
    (["KB5011048", "KB5042097"], "fail", "not allowed: KB5046613"),
])
def test_only_approved_hotfixes_installed(sonora, tmp_path, approved, status, message):
    from verifier_helpers import control, good_facts
    data = profile_data(sonora)
    data["patching"]["approved_kbs"] = approved
    approved_control = control("T-APPROVED", "patching", {"method": "hotfix", "property": "installed"},
                               {"profile": "patching.approved_kbs"}, "subset_of")
    loaded, baseline = make_baseline(write_yaml(tmp_path / "p.yml", data), catalog=Catalog("t", (approved_control,)))
    result = by_id(evaluate(baseline, good_facts(loaded), TODAY, applications(loaded)))["T-APPROVED"]
    assert (result.status, result.message) == (status, message)


def test_applocker_rules_without_policy_xml(wm1):
    wm1.facts["applocker"]["policy_xml"] = None
    assert wm1.result("T-AL-RULES").status == "error"  # Exe has rules, but which?
    wm1.facts["applocker"]["collections"]["Exe"]["rule_count"] = 0
    result = wm1.result("T-AL-RULES")
    assert (result.status, result.actual) == ("fail", [])
    wm1.facts["applocker"]["policy_xml"] = "   "
    assert wm1.result("T-AL-RULES").actual == []
