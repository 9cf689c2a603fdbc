"""The resolver turns catalog + profile + host variables into one host's concrete baseline."""

from __future__ import annotations

from datetime import date

import pytest
from mt_eklient.catalog import Catalog, Control
from mt_eklient.classification import MtClass
from mt_eklient.errors import InputError
from mt_eklient.hosts import host_context
from mt_eklient.profile import load_profile
from mt_eklient.resolve import MANAGEMENT_RULE_NAME, HostContext, resolve

TODAY = date(2026, 11, 25)


def control(**overrides) -> Control:
    base = {
        "id": "TEST-ONE", "title": "A test control", "area": "antivirus", "severity": "high",
        "check": {"method": "defender", "source": "status", "property": "RealTimeProtectionEnabled"},
        "expected": {"value": True}, "rationale": "Because tests need one.", "references": {"normen": "4.6"},
    }
    data = {**base, **overrides}
    if not data.get("build"):
        data.setdefault("build_reason", "a test control the build does not set")
    return Control.model_validate(data)


HOST = HostContext("h1")


def baseline_for(profile_path, *controls, host=HOST, today=TODAY):
    return resolve(Catalog("test", tuple(controls)), load_profile(profile_path), host, today)


def only(baseline):
    [result] = baseline.controls
    return result


def test_literal_expected_value(sonora, write_profile):
    result = only(baseline_for(write_profile(sonora), control()))
    assert (result.status, result.expected) == ("applicable", True)


def test_expected_from_profile_with_map(sonora, write_profile):
    sonora["antivirus"]["realtime"] = False
    c = control(expected={"profile": "antivirus.realtime", "map": {True: False, False: True}})
    assert only(baseline_for(write_profile(sonora), c)).expected is True


def test_class_outside_applies_to_is_not_applicable(sonora, write_profile):
    result = only(baseline_for(write_profile(sonora), control(applies_to={"types": ["WM"], "groups": [0]})))
    assert result.status == "not_applicable"
    assert "WM1" in result.reason
    assert result.expected is None


def test_when_condition_makes_control_not_applicable(sonora, write_profile):
    c = control(when=[{"profile": "removable_media.policy", "equals": "allow_listed"}])
    result = only(baseline_for(write_profile(sonora), c))
    assert result.status == "not_applicable"
    assert "removable_media.policy is 'allow_listed'" in result.reason


def test_unexpired_waiver_waives_with_reason_owner_expiry(sonora, write_profile):
    sonora["waivers"] = [{"control": "TEST-ONE", "reason": "IfU 5.4", "owner": "MT", "expires": date(2027, 1, 1)}]
    result = only(baseline_for(write_profile(sonora), control()))
    assert result.status == "waived"
    assert result.waiver == {"reason": "IfU 5.4", "owner": "MT", "expires": "2027-01-01"}


def test_expired_waiver_no_longer_waives(sonora, write_profile):
    sonora["waivers"] = [{"control": "TEST-ONE", "reason": "IfU 5.4", "owner": "MT", "expires": date(2026, 11, 24)}]
    baseline = baseline_for(write_profile(sonora), control())
    assert only(baseline).status == "applicable"
    assert any("expired on 2026-11-24" in note for note in baseline.notes)


def test_compensating_control_cannot_be_waived(sonora, write_profile):
    sonora["antivirus"] = {"permitted": False, "realtime": False, "compensating_controls": ["TEST-ONE"]}
    sonora["waivers"] = [{"control": "TEST-ONE", "reason": "x", "owner": "MT", "expires": date(2030, 1, 1)}]
    sonora["antivirus"].pop("realtime")
    result = only(baseline_for(write_profile(sonora), control()))
    assert result.status == "applicable"
    assert result.mandatory is True


def test_firewall_rules_expand_zones_and_keep_management_rule(sonora, write_profile):
    c = control(id="FW-RULES", area="firewall", check={"method": "firewall_rules", "group": "mt-eklient"},
                expected={"derive": "firewall_rules"}, compare="set_equals")
    rules = only(baseline_for(write_profile(sonora), c)).expected
    by_name = {r["name"]: r for r in rules}
    assert by_name[MANAGEMENT_RULE_NAME]["remote_addresses"] == ["10.20.0.0/24"]
    assert by_name[MANAGEMENT_RULE_NAME]["local_ports"] == ["5985", "5986"]
    assert by_name["mtk-out-dicom-to-pacs"]["remote_addresses"] == ["10.30.4.10", "10.30.4.11"]
    assert by_name["mtk-out-dicom-to-pacs"]["remote_ports"] == ["104", "11112"]


def test_usb_allowed_device_ids_are_numbered_values_in_profile_order(sonora, write_profile):
    sonora["removable_media"] = {"policy": "allow_listed",
                                 "allowed_device_ids": ["USBSTOR\\DiskKingstonIronKey_VP50____", "USB\\VID_0B95&PID_1790"]}
    c = control(id="RM-IDS", area="removable_media",
                check={"method": "registry_values", "type": "string",
                       "key": "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\DeviceInstall\\Restrictions\\AllowDeviceIDs"},
                expected={"derive": "usb_allowed_device_ids"})
    assert only(baseline_for(write_profile(sonora), c)).expected == {
        "1": "USBSTOR\\DiskKingstonIronKey_VP50____", "2": "USB\\VID_0B95&PID_1790"}


def test_host_zone_override_replaces_profile_zone(sonora, write_profile):
    c = control(id="FW-MGMT", area="firewall", check={"method": "firewall_management"},
                expected={"derive": "management_rule"})
    host = host_context("h1", {"mt_class": "WM1", "mt_zones": {"management": ["192.168.50.0/24"]}})
    rule = only(baseline_for(write_profile(sonora), c, host=host)).expected
    assert rule["remote_addresses"] == ["192.168.50.0/24"]


@pytest.mark.parametrize(
    ("hostvars", "field"),
    [
        ({}, "mt_class"),
        ({"mt_class": "WX1"}, "mt_class"),
        ({"mt_class": "WM7"}, "mt_class"),
        ({"mt_class": "WM1", "mt_zones": {"pacs": ["300.1.1.1"]}}, "mt_zones.pacs[0]"),
        ({"mt_class": "WM1", "mt_zones": ["x"]}, "mt_zones"),
    ],
)
def test_bad_host_variables_are_input_errors(hostvars, field):
    with pytest.raises(InputError) as err:
        host_context("h1", hostvars, "inventories/x.yml")
    assert err.value.problems[0].field == field
    assert "inventories/x.yml (h1)" in str(err.value)


def test_declared_class_is_recorded(sonora, write_profile):
    host = HostContext("h1", declared_class=MtClass.parse("wm2"))
    assert baseline_for(write_profile(sonora), control(), host=host).declared_class == "WM2"
