"""mt_eklient.buildplan: resolved baseline -> inputs of the generic appliers."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from mt_eklient.buildplan import (
    NAMEPLATE_KEY,
    BuildPlanError,
    build_plan,
    class_refusal,
    finalize_plan,
    host_identity,
    in_window,
    method_coverage,
)
from mt_eklient.catalog import BUILDABLE_METHODS, METHOD_PARAMS, load_catalog
from mt_eklient.errors import InputError
from mt_eklient.hosts import host_context, resolve_host
from mt_eklient.resolve import MANAGEMENT_RULE_NAME

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
FIXTURES = HERE / "fixtures"
TODAY = date(2026, 11, 25)

NOW = datetime(2026, 11, 24, 5, 30)  # a Tuesday, UTC
HOST = {
    "os": {"edition_id": "EnterpriseS", "current_build": 26100, "ubr": 2314},
    "machine_sid": "S-1-5-21-111-222-333",
    "group_names": {"S-1-5-32-544": "Administratorer"},
    "local_time": "2026-11-24T06:30:00",
    "winrm_peers": ["10.20.0.10"],
    "nameplate": {},
}


def test_every_buildable_method_has_a_handler():
    coverage = method_coverage()
    assert set(coverage) == set(METHOD_PARAMS)
    assert "MISSING" not in coverage.values()
    assert {m for m, v in coverage.items() if v != "verified only"} == set(BUILDABLE_METHODS)


def test_all_registry_values_go_to_one_applier_call(plan_for, fixture_catalog):
    plan = plan_for("fixture-wm1")
    wanted = {(c.check["key"], c.check["name"]) for c in fixture_catalog.controls
              if c.build and c.check["method"] == "registry" and c.compare != "absent"
              and c.id != "ACC-SCREENLOCK"}  # waived in the profile
    assert {(v["key"], v["name"]) for v in plan["registry"]["Values"]} == wanted
    assert plan["registry"]["RemoveValues"] == [
        {"key": r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon", "name": "DefaultPassword"}]
    # values are typed for the applier
    by_name = {v["name"]: v for v in plan["registry"]["Values"]}
    assert by_name["SMB1"]["data"] == 0 and by_name["NoDriveTypeAutoRun"]["data"] == 255
    assert by_name["WUServer"]["data"] == "https://wsus.region.example:8531"
    assert by_name["DeferQualityUpdatesPeriodInDays"]["data"] == 7  # at_least writes the bound
    # verify-only and waived controls are not written
    assert "VerifyOnly" not in by_name and "InactivityTimeoutSecs" not in by_name
    assert any(s["id"] == "ACC-SCREENLOCK" and s["reason"].startswith("waived") for s in plan["skipped_controls"])


ALLOW_IDS_KEY = r"HKLM\SOFTWARE\Policies\Microsoft\Windows\DeviceInstall\Restrictions\AllowDeviceIDs"
DEVICE_IDS = ["USBSTOR\\DiskKingstonIronKey_VP50____", "USB\\VID_0B95&PID_1790"]


@pytest.fixture
def allow_listed_profiles(tmp_path: Path) -> Path:
    """fixture-wm1 with removable_media allow_listed (two device ids)."""
    import yaml

    data = yaml.safe_load((FIXTURES / "profiles" / "fixture-wm1.yml").read_text())
    data["removable_media"] = {"policy": "allow_listed", "allowed_device_ids": DEVICE_IDS}
    (tmp_path / "fixture-wm1.yml").write_text(yaml.safe_dump(data, sort_keys=False))
    return tmp_path


def test_registry_values_make_the_key_exact_in_the_same_call(plan_for, allow_listed_profiles):
    plan = plan_for("fixture-wm1", profiles_dir=allow_listed_profiles)
    assert plan["registry"]["ExactKeys"] == [
        {"key": ALLOW_IDS_KEY, "type": "string", "values": {"1": DEVICE_IDS[0], "2": DEVICE_IDS[1]}}]
    assert "REG-USB-ALLOWED-IDS" in plan["applied_controls"]["registry_values"]
    assert not [v for v in plan["registry"]["Values"] if v["key"].casefold() == ALLOW_IDS_KEY.casefold()]
    assert any(f"{ALLOW_IDS_KEY} exactly 2 value(s)" in line for line in plan["summary"])
    # not applicable (policy block): no exact key, the control is listed as skipped
    blocked = plan_for("fixture-wm1")
    assert blocked["registry"]["ExactKeys"] == []
    assert any(s["id"] == "REG-USB-ALLOWED-IDS" and s["reason"].startswith("not_applicable")
               for s in blocked["skipped_controls"])


def test_registry_values_conflicts_with_a_value_control_in_the_key(fixture_catalog, allow_listed_profiles):
    from mt_eklient.catalog import Catalog

    def plan_with(name: str, value: Any, compare: str = "equals") -> dict[str, Any]:
        extra = fixture_catalog.get("REG-WSUS-SERVER").model_copy(update={
            "id": "REG-IN-EXACT-KEY", "check": {"method": "registry", "key": ALLOW_IDS_KEY, "name": name,
                                                "type": "string"},
            "expected": fixture_catalog.get("REG-SMB1-SERVER").expected.model_copy(update={"value": value}),
            "compare": compare})
        catalog = Catalog("x", (*fixture_catalog.controls, extra))
        loaded, baseline = resolve_host("h", {"mt_class": "WM1", "mt_profile": "fixture-wm1"}, TODAY,
                                        profiles_dir=allow_listed_profiles, catalog=catalog)
        return build_plan(baseline, loaded)

    assert plan_with("1", DEVICE_IDS[0])["registry"]["ExactKeys"]  # the same value twice is no conflict
    with pytest.raises(BuildPlanError, match="REG-IN-EXACT-KEY.*REG-USB-ALLOWED-IDS makes the values"):
        plan_with("3", "USB\\VID_1234")
    with pytest.raises(BuildPlanError, match="REG-IN-EXACT-KEY.*must be absent, but REG-USB-ALLOWED-IDS writes it"):
        plan_with("2", None, "absent")


def test_registry_values_other_compares_are_verified_only(fixture_catalog, allow_listed_profiles):
    from mt_eklient.catalog import Catalog

    control = fixture_catalog.get("REG-USB-ALLOWED-IDS").model_copy(update={"compare": "superset_of"})
    catalog = Catalog("x", tuple(control if c.id == control.id else c for c in fixture_catalog.controls))
    loaded, baseline = resolve_host("h", {"mt_class": "WM1", "mt_profile": "fixture-wm1"}, TODAY,
                                    profiles_dir=allow_listed_profiles, catalog=catalog)
    plan = build_plan(baseline, loaded)
    assert plan["registry"]["ExactKeys"] == []
    assert any(s["id"] == "REG-USB-ALLOWED-IDS" and "only equals" in s["reason"] for s in plan["skipped_controls"])


def test_management_rule_is_present_and_in_the_exact_group(plan_for):
    plan = plan_for("fixture-wm1")
    rule = plan["management_rule"]
    assert rule["name"] == MANAGEMENT_RULE_NAME
    assert rule["local_ports"] == ["5985", "5986"] and rule["remote_addresses"] == ["10.20.0.0/24"]
    assert rule["direction"] == "in" and rule["action"] == "allow" and rule["enabled"] is True
    (group,) = plan["firewall_rules"]
    assert group["Group"] == "mt-eklient"
    assert rule in group["Rules"]
    assert plan["firewall"] == {"profiles": ["Domain", "Private", "Public"], "state": "enabled",
                                "inbound_action": "block", "outbound_action": "block"}


def test_site_zones_replace_the_profile_management_zone(plan_for):
    plan = plan_for("fixture-wm1", mt_zones={"management": ["10.99.1.0/24"]})
    assert plan["management_rule"]["remote_addresses"] == ["10.99.1.0/24"]


def test_no_management_addresses_is_refused(plan_for):
    with pytest.raises(BuildPlanError, match="WinRM would be unreachable"):
        plan_for("fixture-wm1", mt_zones={"management": []})


def test_management_rule_is_added_when_the_catalog_group_lacks_it(fixture_catalog):
    loaded, baseline = resolve_host("h", {"mt_class": "WM1", "mt_profile": "fixture-wm1"}, TODAY,
                                    profiles_dir=FIXTURES / "profiles", catalog=fixture_catalog)
    controls = []
    for c in baseline.controls:
        if c.id == "FW-RULES":
            c = type(c)(**{**c.__dict__, "expected": [r for r in c.expected if r["name"] != MANAGEMENT_RULE_NAME]})
        if c.id == "FW-MGMT":
            continue
        controls.append(c)
    plan = build_plan(type(baseline)(**{**baseline.__dict__, "controls": tuple(controls)}), loaded)
    assert plan["firewall_rules"][0]["Rules"][0]["name"] == MANAGEMENT_RULE_NAME


def test_other_appliers(plan_for):
    plan = plan_for("fixture-wm1")
    assert plan["audit_policy"]["Settings"] == [
        {"guid": "{0cce9215-69ae-11d9-bed3-505054503030}", "setting": "success_and_failure"},
        {"guid": "{0cce922b-69ae-11d9-bed3-505054503030}", "setting": "success"}]
    assert plan["security_policy"]["Settings"] == {
        "Privilege Rights": {"SeDenyNetworkLogonRight": ["*S-1-5-32-546"]},
        "System Access": {"MinimumPasswordLength": 14}}
    assert plan["defender"] == {
        "Preferences": {"DisableRealtimeMonitoring": False},
        "Exclusions": {"ExclusionExtension": ["dcm"],
                       "ExclusionPath": ["%PROGRAMDATA%\\Sonora\\SonoRev\\Cache", "D:\\SonoRevData\\Images"]}}
    assert plan["applocker"]["PolicyXml"].startswith("<AppLockerPolicy")
    assert plan["services"] == [{"name": "AppIDSvc", "area": "whitelisting", "start_mode": "auto", "state": "started",
                                 "controls": ["SVC-APPID-START", "SVC-APPID-RUN"]}]
    assert plan["features"] == {"absent": ["SMB1Protocol"], "present": []}
    assert plan["local_groups"] == [{"sid": "S-1-5-32-544", "state": "pure", "members": [
        "S-1-5-21-*-500", "S-1-5-21-3623811015-3361044348-30300820-1013"]}]
    assert [v["name"] for v in plan["nameplate"]["values"]] == [
        "class", "group", "profile_id", "profile_version", "profile_sha256", "catalog_version", "toolkit_version"]
    assert all(v["key"] == NAMEPLATE_KEY for v in plan["nameplate"]["values"])
    json.dumps(plan)  # the plan travels through Ansible as JSON


def test_plan_is_deterministic(plan_for):
    assert plan_for("fixture-wm1") == plan_for("fixture-wm1")


def test_antivirus_forbidden_leaves_defender_and_makes_compensating_controls_mandatory(plan_for):
    plan = plan_for("fixture-noav-wm2", mt_class="WM2")
    assert plan["defender"] is None and plan["antivirus_permitted"] is False
    assert plan["compensating_controls"] == [
        {"id": "WL-EXE-MODE", "status": "applicable", "built": True},
        {"id": "FW-IN-BLOCK", "status": "applicable", "built": True},
        {"id": "REG-AUTORUN", "status": "applicable", "built": True}]
    assert any(v["name"] == "NoDriveTypeAutoRun" for v in plan["registry"]["Values"])
    assert plan["firewall"]["outbound_action"] == "allow"  # internet: allow
    assert plan["updates"]["accept_list"] == ["KB5070881"]


def test_class_refusals(plan_for):
    with pytest.raises(InputError):
        plan_for("fixture-wm1", mt_class="bogus")
    _, baseline = resolve_host("m", {"mt_class": "M1", "mt_profile": "fixture-m1"}, TODAY,
                               profiles_dir=FIXTURES / "profiles", catalog=load_fixture())
    assert "vendor-managed" in class_refusal(baseline).reason
    _, baseline = resolve_host("x", {"mt_class": "WM0", "mt_profile": "fixture-wm1"}, TODAY,
                                    profiles_dir=FIXTURES / "profiles", catalog=load_fixture())
    assert "does not match" in class_refusal(baseline).reason
    _, baseline = resolve_host("w", {"mt_class": "WM1", "mt_profile": "fixture-wm1"}, TODAY,
                                    profiles_dir=FIXTURES / "profiles", catalog=load_fixture())
    assert class_refusal(baseline) is None


def load_fixture():
    from mt_eklient.catalog import load_catalog_dir

    return load_catalog_dir(FIXTURES / "catalog")


def test_finalize_expands_the_builtin_administrator_and_names_groups(plan_for):
    final = finalize_plan(plan_for("fixture-wm1"), HOST, NOW)
    assert final["refusals"] == []
    assert final["local_groups"][0]["members"] == [
        "S-1-5-21-111-222-333-500", "S-1-5-21-3623811015-3361044348-30300820-1013"]
    assert final["local_groups"][0]["name"] == "Administratorer"
    assert final["in_maintenance_window"] is True  # Tuesday 06:30, window tue/wed 06:00 + 2 h
    assert final["os"]["edition"] == "win11-ltsc-2024"


@pytest.mark.parametrize(("os_facts", "message"), [
    ({"edition_id": "Enterprise", "current_build": 19045}, "not a known LTSC edition"),
    ({"edition_id": "EnterpriseS", "current_build": 14393}, "support ended"),
    ({"edition_id": "EnterpriseS", "current_build": 17763}, "not validated by the manufacturer"),
])
def test_finalize_refuses_unsupported_os_unless_overridden(plan_for, os_facts, message):
    plan = plan_for("fixture-wm1")
    final = finalize_plan(plan, {**HOST, "os": os_facts}, NOW)
    assert len(final["refusals"]) == 1 and message in final["refusals"][0]
    assert "os.editions" in final["refusals"][0] or message != "not validated by the manufacturer"
    overridden = finalize_plan(plan, {**HOST, "os": os_facts}, NOW, os_override=True)
    assert overridden["refusals"] == [] and "overridden" in overridden["warnings"][0]


def test_finalize_refuses_unreadable_os_even_with_override(plan_for):
    final = finalize_plan(plan_for("fixture-wm1"), {**HOST, "os": {}}, NOW, os_override=True)
    assert final["refusals"] and "could not be read" in final["refusals"][0]


def test_finalize_refuses_a_controller_outside_the_management_zone(plan_for):
    final = finalize_plan(plan_for("fixture-wm1"), {**HOST, "winrm_peers": ["192.168.1.5"]}, NOW)
    assert any("lock the build out" in r for r in final["refusals"])


def test_finalize_warns_when_the_controller_address_is_unknown(plan_for):
    quiet = finalize_plan(plan_for("fixture-wm1"), HOST, NOW)
    assert not any("controller's address" in w for w in quiet["warnings"])
    final = finalize_plan(plan_for("fixture-wm1"), {**HOST, "winrm_peers": []}, NOW)
    assert final["refusals"] == []
    assert any(w.startswith("the controller's address towards the host is unknown (not a winrm/psrp connection")
               for w in final["warnings"])


def test_finalize_refuses_unknown_machine_sid_and_missing_administrators(plan_for):
    final = finalize_plan(plan_for("fixture-wm1"), {**HOST, "machine_sid": None}, NOW)
    assert any("machine SID" in r for r in final["refusals"])
    final = finalize_plan(plan_for("fixture-wm1"), {**HOST, "group_names": {}}, NOW)
    assert any("(Administrators) not found on the host" in r for r in final["refusals"])


def test_nameplate_built_at_only_changes_with_the_other_values(plan_for):
    plan = plan_for("fixture-wm1")
    first = finalize_plan(plan, HOST, NOW)
    values = {v["name"]: v["data"] for v in first["nameplate"]["values"]}
    assert values["built_at"] == "2026-11-24T05:30:00Z" and first["nameplate"]["current"] is False
    # the host now carries that nameplate: a later run keeps built_at and removes nothing
    later = finalize_plan(plan, {**HOST, "nameplate": values}, datetime(2026, 12, 1, 9, 0))
    assert {v["name"]: v["data"] for v in later["nameplate"]["values"]} == values
    assert later["nameplate"]["current"] is True
    assert not [r for r in later["registry"]["RemoveValues"] if r["key"] == NAMEPLATE_KEY]
    # another profile version: new built_at, and the stale nameplate goes in the first registry call
    stale = {**values, "profile_version": 2}
    rebuilt = finalize_plan(plan, {**HOST, "nameplate": stale}, datetime(2026, 12, 1, 9, 0))
    assert {v["name"]: v["data"] for v in rebuilt["nameplate"]["values"]}["built_at"] == "2026-12-01T09:00:00Z"
    assert {r["name"] for r in rebuilt["registry"]["RemoveValues"] if r["key"] == NAMEPLATE_KEY} == set(values)


@pytest.mark.parametrize(("local", "inside"), [
    ("2026-11-24T05:59:00", False), ("2026-11-24T06:00:00", True), ("2026-11-24T07:59:00", True),
    ("2026-11-24T08:00:00", False), ("2026-11-25T07:00:00", True), ("2026-11-26T07:00:00", False),
])
def test_maintenance_window(local, inside):
    window = {"days": ["tuesday", "wednesday"], "start": "06:00", "duration_hours": 2}
    assert in_window(window, datetime.fromisoformat(local)) is inside


def test_window_past_midnight():
    window = {"days": ["sunday"], "start": "23:00", "duration_hours": 3}
    assert in_window(window, datetime(2026, 11, 30, 1, 0))  # Monday 01:00 belongs to Sunday's window
    assert not in_window(None, datetime(2026, 11, 30, 1, 0))


def test_host_identity_from_collector_facts():
    facts = {"host": {"computer_name": "WM1-SONO-01"}, "os": {"edition_id": "EnterpriseS", "current_build": 19044},
             "local_groups": {"S-1-5-32-544": {"name": "Administratorer", "members": [
                 {"sid": "S-1-5-21-9-8-7-1013", "name": "REGION\\mt-admins"},
                 {"sid": "S-1-5-21-1-2-3-1001", "name": "WM1-SONO-01\\service"}]}},
             "nameplate": None}
    identity = host_identity(facts, local_time="2026-11-24T06:30:00")
    assert identity["machine_sid"] == "S-1-5-21-1-2-3"
    assert identity["group_names"] == {"S-1-5-32-544": "Administratorer"}
    # A domain's Administrator (RID 500 of the domain SID) says nothing about the machine SID.
    facts["local_groups"]["S-1-5-32-544"]["members"].insert(0, {"sid": "S-1-5-21-4-5-6-500",
                                                                "name": "REGION\\Administrator"})
    assert host_identity(facts)["machine_sid"] == "S-1-5-21-1-2-3"
    facts["host"]["machine_sid"] = "S-1-5-21-11-12-13"  # what the collector read wins
    assert host_identity(facts)["machine_sid"] == "S-1-5-21-11-12-13"


def test_conflicting_controls_are_reported(fixture_catalog):
    from mt_eklient.catalog import Catalog

    extra = fixture_catalog.get("REG-AUTORUN").model_copy(update={"id": "REG-AUTORUN-TWO", "expected":
                                                                  fixture_catalog.get("REG-SMB1-SERVER").expected})
    catalog = Catalog("x", (*fixture_catalog.controls, extra))
    loaded, baseline = resolve_host("h", {"mt_class": "WM1", "mt_profile": "fixture-wm1"}, TODAY,
                                    profiles_dir=FIXTURES / "profiles", catalog=catalog)
    with pytest.raises(BuildPlanError, match="REG-AUTORUN-TWO.*also set by REG-AUTORUN"):
        build_plan(baseline, loaded)


def _shipped_profiles():
    return sorted((REPO / "profiles").glob("*.yml"))


@pytest.mark.parametrize("path", _shipped_profiles(), ids=lambda p: p.stem)
def test_shipped_catalog_and_profiles_plan(path):
    """Every example profile resolves with the shipped catalog and the lab's site; every WM one plans."""
    import yaml

    data = yaml.safe_load(path.read_text())
    cls = f"{data['classification']['type']}{data['classification']['group']}"
    hostvars = {"mt_class": cls, "mt_profile": data["id"], "mt_site": "region-vastland"}
    loaded, baseline = resolve_host("h", hostvars, date.today(), catalog=load_catalog())
    if data["classification"]["type"] != "WM":
        assert class_refusal(baseline) is not None
        return
    plan = build_plan(baseline, loaded, host_context("h", hostvars))
    assert plan["management_rule"]["remote_addresses"]
    assert plan["firewall_rules"] and plan["registry"]["Values"]


def test_tamper_protection_drops_what_windows_would_ignore(plan_for, fixture_catalog):
    plan = plan_for("fixture-wm1")
    plan["defender"]["Preferences"]["DisableRealtimeMonitoring"] = True  # as a no-antivirus catalog would ask
    host = {**HOST, "defender": {"status": {"IsTamperProtected": True}, "preferences": {"DisableRealtimeMonitoring": False}}}
    final = finalize_plan(plan, host, NOW)
    assert "DisableRealtimeMonitoring" not in final["defender"]["Preferences"]
    assert any("tamper protection is on" in w for w in final["warnings"])
    untampered = finalize_plan(plan, {**host, "defender": {"status": {"IsTamperProtected": False}}}, NOW)
    assert untampered["defender"]["Preferences"]["DisableRealtimeMonitoring"] is True


def test_maintenance_window_uses_the_hosts_own_clock():
    from datetime import UTC, datetime

    from mt_eklient.buildplan import host_local_time

    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    facts = {"host": {"computer_name": "X", "local_time": "2026-11-25T13:00:00"}}
    assert host_local_time(facts, now, "America/New_York") == datetime(2026, 11, 25, 13, 0)
    # No clock reported, or a fixed `now` for tests: the site's time zone decides.
    assert host_local_time({"host": {}}, now, "Europe/Oslo").hour == 13
    assert host_local_time(facts, now, "America/New_York", trust_host_clock=False).hour == 7
    assert host_local_time({"host": {"local_time": "garbage"}}, now, "Europe/Stockholm").hour == 13


def test_a_wdac_profile_is_refused_rather_than_built_without_whitelisting(plan_for, tmp_path):
    import yaml

    data = yaml.safe_load((FIXTURES / "profiles" / "fixture-wm1.yml").read_text())
    data["whitelisting"]["engine"] = "wdac"
    (tmp_path / "fixture-wm1.yml").write_text(yaml.safe_dump(data))
    with pytest.raises(BuildPlanError, match="applies AppLocker only"):
        plan_for("fixture-wm1", profiles_dir=tmp_path)
