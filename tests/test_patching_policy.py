"""Windows Update policy for WSUS clients and the automatic-install schedule, from the shipped catalog.

- A WSUS client with a client-side deferral policy scans Windows Update instead (dual scan on
  Windows 10, Windows Update for Business source on Windows 11): Microsoft, "Use Windows Update for
  Business and WSUS together". Deferral is the WSUS approval delay; the scan source stays WSUS.
- AUOptions 4 without ScheduledInstallDay/Time installs on Windows' own schedule (every day 03:00).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from mt_eklient.buildplan import build_plan
from mt_eklient.errors import InputError
from mt_eklient.hosts import host_context, resolve_host
from mt_eklient.profile import load_profile
from mt_eklient.wuschedule import install_day, install_hour

TODAY = date(2026, 11, 25)
WU = "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\WindowsUpdate"
AU = WU + "\\AU"


def plan(profile_path, mt_class: str = "WM1"):
    hostvars = {"mt_class": mt_class, "mt_profile": profile_path.stem}
    loaded, baseline = resolve_host("h", hostvars, TODAY, profiles_dir=profile_path.parent)
    return baseline, build_plan(baseline, loaded, host_context("h", hostvars))


def written(the_plan) -> dict[tuple[str, str], object]:
    return {(v["key"], v["name"]): v["data"] for v in the_plan["registry"]["Values"]}


def test_a_wsus_client_gets_no_client_deferral_and_wsus_as_scan_source(sonora, write_profile):
    sonora["id"] = "wsus-deferred"
    assert sonora["patching"]["policy"] == "deferred" and sonora["patching"]["wsus"]
    baseline, the_plan = plan(write_profile(sonora, "wsus-deferred.yml"))
    status = {c.id: c.status for c in baseline.controls}
    assert status["PATCH-DEFER-QUALITY"] == status["PATCH-DEFER-DAYS"] == "not_applicable"
    assert status["PATCH-WSUS-NO-CLIENT-DEFERRAL"] == "applicable"
    values = written(the_plan)
    assert (WU, "DeferQualityUpdates") not in values and (WU, "DeferQualityUpdatesPeriodInDays") not in values
    assert {"key": WU, "name": "DeferQualityUpdates"} in the_plan["registry"]["RemoveValues"]
    for update_class in ("Quality", "Feature", "Driver", "Other"):
        assert values[(WU, f"SetPolicyDrivenUpdateSourceFor{update_class}Updates")] == 1  # 1 = WSUS
    assert values[(AU, "UseUpdateClassPolicySource")] == 1
    assert values[(WU, "DisableDualScan")] == 1


def test_a_w_client_without_wsus_defers_by_policy(write_profile):
    import yaml
    from mt_eklient.catalog import load_catalog
    from mt_eklient.resolve import HostContext, resolve

    data = yaml.safe_load((Path(__file__).resolve().parents[1] / "profiles" / "standard-client.yml").read_text())
    data["patching"].update(policy="deferred", defer_days=5, wsus=None)
    baseline = resolve(load_catalog(), load_profile(write_profile(data)), HostContext(name="w1"), TODAY)
    by_id = {c.id: c for c in baseline.controls}
    assert by_id["PATCH-DEFER-DAYS"].status == "applicable" and by_id["PATCH-DEFER-DAYS"].expected == 5
    assert by_id["PATCH-WSUS-NO-CLIENT-DEFERRAL"].status == "not_applicable"


@pytest.mark.parametrize(("days", "start", "hours", "day", "hour"), [
    (["sunday"], "01:00", 3, 1, 1),
    (["tuesday", "wednesday", "thursday"], "19:00", 4, 3, 19),
    (["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"], "22:30", 3, 0, 23),
])
def test_automatic_installs_are_scheduled_inside_the_window(sonora, write_profile, days, start, hours, day, hour):
    sonora["id"] = "auto"
    sonora["patching"].update(policy="automatic", maintenance_window={"days": days, "start": start,
                                                                      "duration_hours": hours})
    _, the_plan = plan(write_profile(sonora, "auto.yml"))
    values = written(the_plan)
    assert values[(AU, "AUOptions")] == 4
    assert (values[(AU, "ScheduledInstallDay")], values[(AU, "ScheduledInstallTime")]) == (day, hour)


def test_automatic_without_a_window_is_refused_at_profile_load(sonora, write_profile):
    sonora["patching"].update(policy="automatic", maintenance_window=None)
    with pytest.raises(InputError, match="patching.maintenance_window: required by policy automatic"):
        load_profile(write_profile(sonora))


def test_schedule_helpers():
    from mt_eklient.profile import MaintenanceWindow

    assert install_day(None) is None and install_hour(None) is None
    assert install_hour(MaintenanceWindow(days=["monday"], start="23:30", duration_hours=2)) == 0
    assert install_hour(MaintenanceWindow(days=["monday"], start="06:30", duration_hours=1)) is None
