"""The safety floor (catalog/floor.yml, floor.py): no profile, waiver or site setting lowers it.

Each test starts from a hostile profile an attacker or a careless editor could write and checks that
`mtk profile validate` refuses it with a reason naming the field, or that the exception it needs is
shown in every report."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mt_eklient import floor
from mt_eklient.catalog import load_catalog
from mt_eklient.cli import main
from mt_eklient.errors import InputError
from mt_eklient.hosts import load_checked_profile, resolve_host
from mt_eklient.resolve import HostContext, resolve

TODAY = date(2026, 11, 25)
WHITELISTING = ["WL-EXE-MODE", "WL-EXE-RULES", "WL-MSI-MODE", "WL-SCRIPT-MODE", "WL-APPX-MODE", "WL-MSI-RULES",
                "WL-SCRIPT-RULES", "WL-APPX-RULES", "WL-APPIDSVC-START", "WL-APPIDSVC-STATE"]


def problems(path: Path, today: date = TODAY) -> list[str]:
    with pytest.raises(InputError) as err:
        load_checked_profile(path, load_catalog(), today)
    return [str(p) for p in err.value.problems]


def no_antivirus(profile: dict) -> dict:
    profile["antivirus"] = {"permitted": False, "realtime": False, "compensating_controls": ["FW-RULES"]}
    profile["whitelisting"]["mode"] = "enforce"
    return profile


def test_the_floor_names_only_catalog_controls():
    assert floor.catalog_reference_problems(floor.load_floor(), load_catalog()) == []


def test_issue_profile_without_antivirus_that_waives_all_whitelisting_is_refused(sonora, write_profile):
    """The reported attack: no antivirus, own compensating controls, every whitelisting control waived
    until 9999-12-31. It validated, built and scanned PASS."""
    profile = no_antivirus(sonora)
    profile["waivers"] = [{"control": c, "reason": "vendor says so", "owner": "someone", "expires": "9999-12-31"}
                          for c in WHITELISTING]
    lines = problems(write_profile(profile))
    for control in ("WL-EXE-MODE", "WL-EXE-RULES", "WL-MSI-MODE", "WL-SCRIPT-MODE", "WL-APPIDSVC-START"):
        assert any(f"{control} cannot be waived (safety floor: antivirus not permitted" in line for line in lines)
    assert sum("expires: runs 2" in line and "at most 365" in line for line in lines) == len(WHITELISTING)


def test_floor_controls_stay_mandatory_even_in_an_unvalidated_profile(sonora, write_profile):
    """resolve() applies the floor itself: a waiver on a floor control is ignored, not honoured."""
    from mt_eklient.profile import load_profile

    profile = no_antivirus(sonora)
    profile["waivers"] = [{"control": "WL-EXE-MODE", "reason": "r", "owner": "o", "expires": "2027-01-31"}]
    baseline = resolve(load_catalog(), load_profile(write_profile(profile)), HostContext("h"), TODAY)
    control = next(c for c in baseline.controls if c.id == "WL-EXE-MODE")
    assert control.status == "applicable" and control.mandatory
    assert any("WL-EXE-MODE: waiver ignored" in n and "safety floor" in n for n in baseline.notes)
    # The floor's compensating controls are added to the profile's own ([FW-RULES] only).
    assert {c.id for c in baseline.controls if c.mandatory} >= {"FW-RULES", "WL-SCRIPT-MODE", "FW-NO-OPEN-INBOUND"}


def test_without_antivirus_whitelisting_must_enforce(sonora, write_profile):
    profile = no_antivirus(sonora)
    profile["whitelisting"]["mode"] = "audit"
    [line] = problems(write_profile(profile))
    assert "whitelisting.mode: antivirus not permitted by the manufacturer: the safety floor requires " \
           "whitelisting.mode is 'enforce'" in line


def test_every_client_keeps_the_firewall_floor(sonora, write_profile):
    sonora["waivers"] = [{"control": "FW-INBOUND-DEFAULT", "reason": "r", "owner": "o", "expires": "2027-01-31"}]
    [line] = problems(write_profile(sonora))
    assert "waivers[0].control: FW-INBOUND-DEFAULT cannot be waived (safety floor: every W and WM client)" in line


def test_waiver_length_is_counted_from_the_approval(sonora, write_profile):
    approved = date.fromisoformat(str(sonora["governance"]["approved_date"]))
    sonora["waivers"][0]["expires"] = (approved + timedelta(days=365)).isoformat()
    load_checked_profile(write_profile(sonora), load_catalog(), TODAY)
    sonora["waivers"][0]["expires"] = (approved + timedelta(days=366)).isoformat()
    [line] = problems(write_profile(sonora))
    assert "waivers[0].expires: runs 366 days from the approval" in line


def test_a_site_may_shorten_the_waiver_limit_never_lengthen_it(sonora, write_profile, monkeypatch):
    monkeypatch.setenv(floor.MAX_WAIVER_DAYS_ENV, "90")
    [line] = problems(write_profile(sonora))  # LOCK-INACTIVITY runs 198 days from the approval
    assert "at most 90" in line
    monkeypatch.setenv(floor.MAX_WAIVER_DAYS_ENV, "3650")
    [line] = problems(write_profile(sonora))
    assert line.startswith("MTK_MAX_WAIVER_DAYS: must be a number of days from 1 to 365")


@pytest.mark.parametrize(("field", "value", "rule"), [
    ("extra_rules", "*", "DC-APPLOCKER-ALLOW-ALL"),
    ("extra_rules", "C:\\*", "DC-APPLOCKER-ALLOW-ALL"),
    ("extra_rules", "%OSDRIVE%\\*", "DC-APPLOCKER-ALLOW-ALL"),
    ("extra_rules", "%USERPROFILE%\\Downloads\\*", "DC-APPLOCKER-ALLOW-ALL"),
    ("extra_rules", "%REMOVABLE%\\*", "DC-APPLOCKER-ALLOW-ALL"),
    ("extra_rules", "*\\tools\\x.exe", "DC-APPLOCKER-ALLOW-ALL"),
    ("publisher", "*", "DC-APPLOCKER-ANY-PUBLISHER"),
    ("paths", "C:\\", "DC-DEFENDER-SYSTEM-DRIVE"),
    ("paths", "c:/", "DC-DEFENDER-SYSTEM-DRIVE"),
    ("paths", "%SystemDrive%\\*", "DC-DEFENDER-SYSTEM-DRIVE"),
    ("paths", "%PROGRAMDATA%\\*", "DC-DEFENDER-SYSTEM-DRIVE"),
    ("paths", "C:\\ProgramData\\Vendor\\..", "DC-DEFENDER-SYSTEM-DRIVE"),
    ("paths", "\\\\?\\C:\\Windows\\", "DC-DEFENDER-SYSTEM-DRIVE"),
    ("paths", "C:\\PROGRA~3", "DC-DEFENDER-SYSTEM-DRIVE"),
    ("paths", "%TEMP%", "DC-DEFENDER-SYSTEM-DRIVE"),
    ("paths", "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", "DC-DEFENDER-SCRIPT-HOST"),
    ("processes", "powershell.exe", "DC-DEFENDER-SCRIPT-HOST"),
    ("processes", "%WINDIR%\\System32\\cmd.exe", "DC-DEFENDER-SCRIPT-HOST"),
    ("processes", "wscript", "DC-DEFENDER-SCRIPT-HOST"),
    ("extensions", ".ps1", "DC-DEFENDER-EXECUTABLE-EXTENSION"),
    ("extensions", "exe", "DC-DEFENDER-EXECUTABLE-EXTENSION"),
    ("zone", "0.0.0.0/0", "DC-MANAGEMENT-ZONE-BROAD"),
    ("zone", "10.0.0.0/8", "DC-MANAGEMENT-ZONE-BROAD"),
    ("zone", "::/0", "DC-MANAGEMENT-ZONE-BROAD"),
])
def test_dangerous_settings_fail_validation_with_the_rule(sonora, write_profile, field, value, rule):
    if field in ("extra_rules", "publisher"):
        kind = "path" if field == "extra_rules" else "publisher"
        sonora["whitelisting"]["extra_rules"] = [{"name": "vendor tools", "collection": "Exe", "kind": kind,
                                                  "value": value}]
    elif field == "zone":
        sonora["network"]["zones"]["management"] = [value]
    else:
        sonora["antivirus"]["exclusions"][field] = [value]
    lines = problems(write_profile(sonora))
    assert any(f"{rule}:" in line and "no exception is possible" in line for line in lines), lines


@pytest.mark.parametrize("value", ["D:\\SonoRevData\\Images", "%PROGRAMDATA%\\Sonora\\SonoRev\\Cache",
                                   "E:\\RadiantCache", "%PROGRAMFILES%\\Sonora\\SonoRev\\SonoRevDicomSvc.exe"])
def test_a_manufacturers_own_folders_are_not_dangerous(sonora, write_profile, value):
    sonora["antivirus"]["exclusions"]["paths"] = [value]
    load_checked_profile(write_profile(sonora), load_catalog(), TODAY)


def test_deny_rules_are_never_dangerous(sonora, write_profile):
    sonora["whitelisting"]["extra_rules"] = [{"name": "no temp", "collection": "Exe", "kind": "path",
                                              "value": "%TEMP%\\*", "action": "deny"}]
    load_checked_profile(write_profile(sonora), load_catalog(), TODAY)


def _image_drive(sonora: dict, exception: dict | None) -> dict:
    sonora["antivirus"]["exclusions"]["paths"] = ["D:\\"]
    sonora["floor_exceptions"] = [exception] if exception else []
    return sonora


EXCEPTION = {"rule": "DC-DEFENDER-DRIVE-ROOT", "value": "D:\\", "owner": "MT engineering (A. Lindqvist)",
             "reason": "IfU 7.2: the image store drive D: must not be scanned", "expires": "2027-03-31"}


def test_a_drive_root_exclusion_needs_an_owned_expiring_exception(sonora, write_profile):
    [line] = problems(write_profile(_image_drive(sonora, None)))
    assert "antivirus.exclusions.paths[0]: DC-DEFENDER-DRIVE-ROOT" in line and "floor_exceptions" in line
    load_checked_profile(write_profile(_image_drive(sonora, EXCEPTION)), load_catalog(), TODAY)


@pytest.mark.parametrize(("change", "message"), [
    ({"expires": "2026-10-01"}, "the exception expired on 2026-10-01"),
    ({"expires": "2031-01-01"}, "the safety floor allows at most 365"),
    ({"value": "E:\\"}, "no setting of the profile is 'E:\\\\'"),
    ({"rule": "DC-DEFENDER-SYSTEM-DRIVE"}, "DC-DEFENDER-SYSTEM-DRIVE allows no exception"),
    ({"rule": "DC-NO-SUCH"}, "unknown floor rule 'DC-NO-SUCH'"),
])
def test_bad_exceptions_fail_validation(sonora, write_profile, change, message):
    lines = problems(write_profile(_image_drive(sonora, {**EXCEPTION, **change})))
    assert any(message in line for line in lines), lines


def test_an_exception_reaches_every_report(sonora, tmp_path, write_profile):
    from mt_eklient.reports.console import render_console
    from mt_eklient.reports.html_report import render_html
    from mt_eklient.reports.json_report import validate_report
    from mt_eklient.reports.junit import render_junit
    from mt_eklient.scanresult import HostInput, run_evaluation

    profile_dir = tmp_path / "profiles"
    profile_dir.mkdir()
    write_profile(_image_drive(sonora, EXCEPTION), name="profiles/sonora-review-4.yml")
    _, baseline = resolve_host("wm1-img-01", {"mt_class": "WM1", "mt_profile": "sonora-review-4", "mt_site": "region-vastland"}, TODAY,
                                    profiles_dir=profile_dir)
    facts = json.loads((Path(__file__).parent / "data" / "facts" / "wm1-sample.json").read_text())
    scan = run_evaluation([HostInput("wm1-img-01", baseline=baseline, facts=facts),
                           HostInput("wm1-down-01", baseline=baseline, status="unreachable", error="refused")],
                          today=TODAY)
    report = scan.to_report()
    assert validate_report(report) == []
    for host in report["hosts"]:
        assert host["exceptions"] == [{**EXCEPTION, "expired": False}]
    console = render_console(report)
    assert console.count("SAFETY-FLOOR EXCEPTION: DC-DEFENDER-DRIVE-ROOT 'D:\\\\'") == 2
    assert "2 safety-floor exception(s) in force" in console
    html = render_html(report)
    assert "Safety-floor exceptions in force (2)" in html and "IfU 7.2: the image store drive D: must not" in html
    junit = render_junit(report)
    assert junit.count('name="safety-floor exception DC-DEFENDER-DRIVE-ROOT"') == 2
    assert "SAFETY-FLOOR EXCEPTION: DC-DEFENDER-DRIVE-ROOT" in junit


def test_inventory_zones_cannot_open_the_management_zone(tmp_path):
    with pytest.raises(InputError) as err:
        resolve_host("wm1-x", {"mt_class": "WM1", "mt_profile": "sonora-review-4", "mt_site": "region-vastland",
                               "mt_zones": {"management": ["0.0.0.0/0"]}}, TODAY)
    [problem] = err.value.problems
    assert problem.field == "mt_zones.management[0]" and "DC-MANAGEMENT-ZONE-BROAD" in problem.message


def test_profile_validate_command_refuses_the_issue_profile(sonora, write_profile, capsys):
    profile = no_antivirus(sonora)
    profile["antivirus"]["compensating_controls"] = ["FW-RULES"]
    profile["whitelisting"]["extra_rules"] = [{"name": "all", "collection": "Exe", "kind": "path", "value": "C:\\*"}]
    path = write_profile(profile)
    assert main(["profile", "validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:" in err and "whitelisting.extra_rules[0].value: DC-APPLOCKER-ALLOW-ALL" in err
    assert "Traceback" not in err


drive_letters = st.sampled_from("CDEFGHZ")
separators = st.sampled_from(["\\", "/", "\\\\"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drive_letters, separators, st.sampled_from(["", "*", "*.*"]), st.booleans())
def test_any_spelling_of_a_drive_root_exclusion_is_caught(sonora, write_profile, letter, sep, tail, lower):
    value = f"{letter}:{sep}{tail}"
    value = value.lower() if lower else value
    sonora["antivirus"]["exclusions"]["paths"] = [value]
    found = floor.dangerous_settings(load_profile_data(sonora, write_profile))
    assert [f.rule.id for f in found] == ["DC-DEFENDER-SYSTEM-DRIVE" if letter == "C" else "DC-DEFENDER-DRIVE-ROOT"]


def load_profile_data(data: dict, write_profile):
    from mt_eklient.profile import load_profile
    return load_profile(write_profile(data)).profile


def test_profile_show_refuses_host_vars_that_open_the_management_zone(tmp_path, capsys):
    host_vars = tmp_path / "host.yml"
    host_vars.write_text("mt_zones:\n  management: [0.0.0.0/1, 128.0.0.0/1]\n", encoding="utf-8")
    code = main(["profile", "show", str(Path(__file__).parents[1] / "profiles" / "sonora-review-4.yml"),
                 "--host-vars", str(host_vars), "--site", "region-vastland"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{host_vars}: mt_zones.management[0]: DC-MANAGEMENT-ZONE-BROAD" in err
    assert "mt_zones.management[1]" in err
