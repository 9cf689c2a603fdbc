"""Trends over several scans: pass rates of the fleet as known, regressions and the time to fix."""

from __future__ import annotations

from datetime import date

from fleet_helpers import all_pass, host_entry, renamed, set_status, unreachable, write_scan
from mt_eklient.fleet.report import build_fleet_report
from mt_eklient.fleet.sources import load_scans


def trends(tmp_path, report, scans):
    files = [write_scan(tmp_path / f"s{i}.json", report, hosts, day) for i, (hosts, day) in enumerate(scans)]
    return build_fleet_report(load_scans(files, None, date(2026, 12, 31)), date(2026, 12, 31))["trends"]


def test_regression_and_its_fix_give_the_mean_time_to_fix(tmp_path, report):
    clean = all_pass(host_entry(report))
    broken = set_status(all_pass(host_entry(report)), "FW-RULES", "fail")
    other_broken = set_status(all_pass(host_entry(report)), "SMB-V1-FEATURE", "fail")
    result = trends(tmp_path, report, [([clean], "2026-11-01"), ([broken], "2026-11-10"), ([clean], "2026-11-13"),
                                       ([other_broken], "2026-11-20")])
    regressions = result["regressions"]
    assert regressions["fixed"] == 1 and regressions["mean_hours_to_fix"] == 72.0  # 10th -> 13th
    assert [(r["host"], r["control"], r["before"], r["after"]) for r in regressions["since_previous"]] == [
        ("wm1-sono-01", "SMB-V1-FEATURE", "pass", "fail")]
    assert [(r["host"], r["control"]) for r in regressions["open"]] == [("wm1-sono-01", "SMB-V1-FEATURE")]
    rates = [p["by_area"]["firewall"] for p in result["points"]]
    assert rates[0] == rates[2] == 100.0 and rates[1] < 100.0


def test_a_partial_or_unreachable_scan_does_not_move_the_fleet_line(tmp_path, report):
    clean = all_pass(host_entry(report))
    failing = renamed(set_status(all_pass(host_entry(report)), "FW-RULES", "fail"), "wm1-sono-02")
    result = trends(tmp_path, report, [([clean, failing], "2026-11-01"), ([clean], "2026-11-02"),
                                       ([clean, unreachable(failing)], "2026-11-03")])
    overall = [p["overall"] for p in result["points"]]
    assert overall[0] == overall[1] == overall[2] < 100.0
    assert [p["hosts"] for p in result["points"]] == [2, 2, 2]
    assert result["regressions"]["since_previous"] == []  # unreachable is not a regression of its controls
