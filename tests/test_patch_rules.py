"""Patch rules as real manufacturers write them: "security updates only", "after 5 working days",
a blocked update for editions the profile does not support, and conditions that are procedures.
Each from the profile through validation and the resolver to what the build writes and the
verifier expects."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

import pytest
from mt_eklient.catalog import load_catalog
from mt_eklient.errors import InputError
from mt_eklient.profile import load_profile
from mt_eklient.resolve import HostContext, resolve
from mt_eklient.wuschedule import working_days_as_calendar_days

TODAY = date(2026, 11, 25)


def _baseline(path):
    return resolve(load_catalog(), load_profile(path), HostContext("h1"), TODAY)


def _control(baseline, control_id):
    return next(c for c in baseline.controls if c.id == control_id)


def _validate(path):
    return subprocess.run([sys.executable, "-m", "mt_eklient.cli", "profile", "validate", str(path)],
                          capture_output=True, text=True, check=False)


def _line_of(path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


# --- working days -------------------------------------------------------------------------------


@pytest.mark.parametrize(("working", "calendar"), [(1, 3), (4, 6), (5, 7), (6, 10), (10, 14), (20, 28)])
def test_working_days_are_the_longest_calendar_stretch_from_any_release_day(working, calendar):
    assert working_days_as_calendar_days(working) == calendar


@pytest.mark.parametrize("working", range(1, 25))
def test_working_day_conversion_never_installs_early(working):
    days = working_days_as_calendar_days(working)
    for release in range(7):  # 0 Monday ... 6 Sunday: count the working days in the stretch
        counted = sum(1 for d in range(release + 1, release + days + 1) if d % 7 < 5)
        assert counted >= working
    # ... and it is not longer than it must be: from some release day it is exactly enough.
    assert any(sum(1 for d in range(r + 1, r + days) if d % 7 < 5) < working for r in range(7))


def test_working_day_deferral_is_written_in_calendar_days(sonora, write_profile):
    sonora["classification"] = {"type": "W", "group": 1}  # a client that defers by itself (no WSUS) ...
    del sonora["patching"]["wsus"]  # ... the build writes the deferral policy
    sonora["patching"].pop("defer_days")
    sonora["patching"]["defer_working_days"] = 5
    baseline = _baseline(write_profile(sonora))
    days = _control(baseline, "PATCH-DEFER-DAYS")
    assert (days.status, days.expected, days.build) == ("applicable", 7, True)
    assert any("5 working days after release, set as 7 calendar days" in n for n in baseline.notes)


def test_working_day_deferral_of_a_wsus_client_is_its_approval_rule(sonora, write_profile):
    sonora["patching"].pop("defer_days")
    sonora["patching"]["defer_working_days"] = 5
    baseline = _baseline(write_profile(sonora))
    assert _control(baseline, "PATCH-DEFER-DAYS").status == "not_applicable"
    assert _control(baseline, "PATCH-WSUS-NO-CLIENT-DEFERRAL").status == "applicable"
    assert ("patching: the WSUS approval rule for target group MT-WM1-Sonora approves every classification 7 days "
            "after release (5 working days)") in baseline.notes


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"defer_working_days": 5}, "defer_working_days", "give defer_days (calendar days) or defer_working_days, not both"),
    ({"defer_days": 0, "defer_working_days": 22}, "defer_working_days",
     "22 working days can be 32 calendar days: Windows defers quality updates at most 30 days"),
    ({"defer_days": 0}, "defer_days", "policy 'deferred' needs defer_days from 1 to 30"),
    ({"policy": "vendor_managed", "classifications": ["security"]}, "classifications",
     "the manufacturer patches a vendor_managed client itself"),
    ({"classifications": []}, "classifications", "List should have at least 1 item"),
    ({"classifications": ["security_only"]}, "classifications[0]", "Input should be 'security'"),
    ({"blocked_kbs": [{"kb": "KB5034441", "editions": ["win10-ltsc-2031"]}]}, "blocked_kbs[0].editions",
     "unknown edition 'win10-ltsc-2031'"),
])
def test_patch_rule_contradictions_name_the_field(change, field, message, sonora, write_profile):
    sonora["patching"].update(change)
    path = write_profile(sonora)
    with pytest.raises(InputError) as err:
        load_profile(path)
    assert any(f"patching.{field}: {message}" in str(p) for p in err.value.problems), err.value.problems


# --- update classifications ----------------------------------------------------------------------


def test_security_updates_only_becomes_the_wsus_approval_rule(sonora, write_profile):
    sonora["patching"]["classifications"] = ["security", "critical"]
    baseline = _baseline(write_profile(sonora))
    assert ("patching: the WSUS approval rule for target group MT-WM1-Sonora approves Security Updates, Critical "
            "Updates 7 days after release") in baseline.notes
    show = subprocess.run([sys.executable, "-m", "mt_eklient.cli", "profile", "show", str(write_profile(sonora))],
                          capture_output=True, text=True, check=True).stdout
    assert "approves Security Updates, Critical Updates 7 days after release" in show


# --- blocked updates for other editions ----------------------------------------------------------


def test_blocked_update_for_no_supported_edition_is_a_warning_and_not_looked_for(sonora, write_profile):
    sonora["os"]["editions"] = ["win11-ltsc-2024"]
    sonora["patching"]["blocked_kbs"] = [
        {"kb": "KB5034441", "editions": ["win10-ltsc-2021", "win10-iot-ltsc-2021"],
         "reason": "security guide 3.4: the WinRE update fails on the review station image"},
        "KB5070773",
        {"kb": "KB5066835", "editions": ["win11-ltsc-2024"]},
    ]
    path = write_profile(sonora)
    run = _validate(path)
    assert run.returncode == 0, run.stderr
    warning = (f"{path}:{_line_of(path, 'kb: KB5034441') + 1}: patching.blocked_kbs[0].editions: warning: KB5034441 "
               "applies to win10-ltsc-2021, win10-iot-ltsc-2021, none of the profile's editions (os.editions: "
               "win11-ltsc-2024): no supported machine can have it, so the verifier does not look for it; check the "
               "manufacturer's list")
    assert run.stderr.strip().splitlines() == [warning]
    blocked = _control(_baseline(path), "PATCH-BLOCKED-ABSENT")
    assert blocked.expected == ["KB5070773", "KB5066835"]


def test_blocked_updates_of_supported_editions_raise_no_warning(sonora, write_profile):
    sonora["patching"]["blocked_kbs"] = [{"kb": "KB5034441", "editions": ["win10-ltsc-2021"]}]
    run = _validate(write_profile(sonora))
    assert (run.returncode, run.stderr) == (0, "")


# --- procedures --------------------------------------------------------------------------------


def test_procedures_are_shown_with_the_baseline(sonora, write_profile):
    sonora["procedures"] = [{"text": "Close SonoRev Review before updates are installed",
                             "source": "Network and Security Guide 4.2.1, 5.3"}]
    show = subprocess.run([sys.executable, "-m", "mt_eklient.cli", "profile", "show", str(write_profile(sonora))],
                          capture_output=True, text=True, check=True).stdout
    assert show.rstrip().splitlines()[-1] == ("procedure (not checked on the machine): Close SonoRev Review before "
                                             "updates are installed (Network and Security Guide 4.2.1, 5.3)")


def test_a_draft_takes_working_days_in_place_of_its_defer_days_placeholder(tmp_path):
    from pathlib import Path
    draft = (Path(__file__).parent / "golden" / "mds2" / "infuview-5.yml").read_text()
    line = next(line for line in draft.splitlines() if line.strip().startswith("defer_days:"))
    assert "replace with defer_working_days" in line  # the placeholder says how
    path = tmp_path / "infuview-5.yml"
    draft = draft.replace("<sha256 of the workbook>", "a" * 64)  # the golden file's stand-in for the hash
    path.write_text(draft.replace(line, "  defer_working_days: 5  # security guide: five working days"))
    run = _validate(path)
    assert run.returncode == 0, run.stderr
    assert "patching.defer" not in run.stdout + run.stderr


def test_classifications_under_a_vendor_approved_list_are_told_as_such(sonora, write_profile):
    sonora["patching"].update(policy="vendor_approved", classifications=["security"], approved_kbs=["KB5066835"])
    sonora["patching"].pop("defer_days")
    notes = _baseline(write_profile(sonora)).notes
    assert [n for n in notes if n.startswith("patching:")] == [
        "patching: the manufacturer allows only Security Updates; WSUS approves the updates on its list (approved_kbs)"]
