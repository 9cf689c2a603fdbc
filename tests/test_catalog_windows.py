"""Catalog entries whose Windows behaviour a review against Microsoft's documentation corrected."""

from __future__ import annotations

from datetime import date

from mt_eklient.buildplan import build_plan
from mt_eklient.catalog import load_catalog
from mt_eklient.hosts import host_context, resolve_host

TODAY = date(2026, 11, 25)


def test_defender_scan_starts_at_the_agreed_time(sonora, write_profile):
    """RandomizeScheduleTaskTimes (on by default) moves the scheduled scan up to 30 minutes."""
    sonora["id"] = "scan"
    path = write_profile(sonora, "scan.yml")
    hostvars = {"mt_class": "WM1", "mt_profile": "scan"}
    loaded, baseline = resolve_host("h", hostvars, TODAY, profiles_dir=path.parent)
    plan = build_plan(baseline, loaded, host_context("h", hostvars))
    assert plan["defender"]["Preferences"]["RandomizeScheduleTaskTimes"] is False
    control = next(c for c in baseline.controls if c.id == "AV-SCAN-NO-RANDOMIZE")
    assert (control.status, control.expected) == ("applicable", False)


def test_smb_controls_carry_the_cis_benchmark_ids():
    catalog = load_catalog()
    cis = {c.id: c.references.cis for c in catalog.controls if c.area == "smb"}
    assert cis == {"SMB-V1-FEATURE": "18.4.3", "SMB-V1-SERVER": "18.4.4", "SMB-SIGNING-SERVER": "2.3.9.2",
                   "SMB-SIGNING-CLIENT": "2.3.8.1", "SMB-NO-INSECURE-GUEST": "18.6.8.1"}


def test_layered_device_evaluation_is_documented_for_ltsc_2019():
    rationale = load_catalog().get("RM-INSTALL-LAYERED").rationale
    assert "LTSC 2019" in rationale and "KB5005102" in rationale
