"""Exposure scoring from scan reports: the Normen properties and the scan findings rank hosts, and
every point is a reason (catalog/risk/exposure.yml)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from fleet_helpers import (
    all_pass,
    by_host,
    host_entry,
    reason_texts,
    renamed,
    set_normen,
    set_status,
    unreachable,
    write_scan,
)
from mt_eklient.fleet.exposure import load_exposure
from mt_eklient.fleet.report import build_fleet_report
from mt_eklient.fleet.sources import load_scans

AS_OF = date(2026, 11, 25)


def fleet(tmp_path: Path, scans: list[tuple[list[dict], str]], report: dict, profiles_dir: Path | None = None,
          as_of: date = AS_OF) -> dict:
    # A scan taken after the report date would not count (--as-of): move such a scan back to it.
    files = [write_scan(tmp_path / f"scan{i}.json", report, hosts, min(day, as_of.isoformat()))
             for i, (hosts, day) in enumerate(scans)]
    return build_fleet_report(load_scans(files, None, as_of), as_of, profiles_dir)


def test_reasons_add_up_to_the_score_and_name_their_references(tmp_path, report):
    result = fleet(tmp_path, [([host_entry(report)], "2026-11-25")], report)
    host = result["hosts"][0]
    assert host["score"] == sum(r["points"] for r in host["reasons"]) > 0
    assert host["exposure"] == sum(r["points"] for r in host["reasons"] if r["kind"] in ("property", "group"))
    assert all(r["references"] for r in host["reasons"]), [r for r in host["reasons"] if not r["references"]]
    kinds = {r["kind"] for r in host["reasons"]}
    assert {"property", "group", "failed_control", "os_support"} <= kinds


def test_same_findings_weigh_more_on_a_more_exposed_device(tmp_path, report, profiles_dir):
    """Normen 5.2.1: health data + network + vendor VPN is the most exposed combination."""
    exposed = set_normen(profiles_dir, "sonora-review-4", {"health_data": True}, new_id="sono-exposed")
    isolated = set_normen(profiles_dir, "sonora-review-4", {"health_data": False, "use_scenario": 3},
                          new_id="sono-quiet", remote_access={"method": "none", "rdp": "disabled"})
    base = set_status(all_pass(host_entry(report)), "AV-REALTIME", "fail")
    hosts = [renamed(base, "a-exposed", exposed), renamed(base, "b-quiet", isolated)]
    result = by_host(fleet(tmp_path, [(hosts, "2026-11-25")], report, profiles_dir))
    high, low = result["a-exposed"], result["b-quiet"]
    assert high["rank"] < low["rank"] and high["score"] > low["score"]
    assert high["findings_factor"] > low["findings_factor"]
    av = [r for r in high["reasons"] if r["text"].startswith("AV-REALTIME fail")]
    av_low = [r for r in low["reasons"] if r["text"].startswith("AV-REALTIME fail")]
    assert av and av_low and av[0]["points"] > av_low[0]["points"]
    texts = " | ".join(reason_texts(high))
    assert "the vendor has remote access (remote_access.method: customer_initiated_vpn)" in texts
    assert "processes identifiable health data (normen.health_data: true)" in texts
    assert "vendor has remote access" not in " | ".join(reason_texts(low))


def test_failing_compensating_control_counts_double_when_antivirus_is_forbidden(tmp_path, report):
    base = set_status(all_pass(host_entry(report)), "WL-EXE-MODE", "fail")
    kiosk = renamed(base, "wm2-anest-01", "anaesthesia-kiosk-3")
    kiosk["declared_class"] = "WM1"  # same class group as the sonora host: only the profile differs
    result = by_host(fleet(tmp_path, [([kiosk, base], "2026-11-25")], report))
    anest = next(r for r in result["wm2-anest-01"]["reasons"] if r["text"].startswith("WL-EXE-MODE"))
    sono = next(r for r in result["wm1-sono-01"]["reasons"] if r["text"].startswith("WL-EXE-MODE"))
    assert "compensating control for the forbidden antivirus" in anest["text"]
    assert "compensating" not in sono["text"]
    factor = load_exposure().findings.failed_control.compensating_factor
    ratio = anest["points"] / result["wm2-anest-01"]["findings_factor"] / (
        sono["points"] / result["wm1-sono-01"]["findings_factor"])
    assert ratio == pytest.approx(factor, rel=0.1)


def test_waiver_expiry_raises_the_score_and_an_expired_waiver_counts_as_failure(tmp_path, report):
    host = all_pass(host_entry(report))
    waived = next(c for c in host["controls"] if c["status"] == "waived")
    assert waived["waiver"]["expires"] == "2027-03-31"

    def waiver_reason(as_of: date) -> dict:
        result = fleet(tmp_path, [([host], "2026-11-25")], report, as_of=as_of)
        return next(r for r in result["hosts"][0]["reasons"] if r["text"].startswith(waived["id"]))

    far, near, gone = waiver_reason(date(2026, 12, 1)), waiver_reason(date(2027, 3, 15)), waiver_reason(
        date(2027, 4, 2))
    assert far["kind"] == near["kind"] == "waiver"
    assert near["points"] > far["points"] and "within 30 days" in near["text"]
    assert gone["kind"] == "failed_control" and "waiver expired 2027-03-31" in gone["text"]


def test_patch_age_beyond_the_profile_maximum_grows_with_time(tmp_path, report):
    host = all_pass(host_entry(report))
    age = next(c for c in host["controls"] if c["id"] == "PATCH-HOTFIX-AGE")
    age["actual"], age["expected"] = 40, 45

    def patch_points(as_of: date) -> int:
        result = fleet(tmp_path, [([host], "2026-11-25")], report, as_of=as_of)
        return sum(r["points"] for r in result["hosts"][0]["reasons"] if r["kind"] == "patch_age")

    assert patch_points(date(2026, 11, 25)) == 0  # 40 days, 45 allowed
    assert 0 < patch_points(date(2026, 12, 10)) < patch_points(date(2027, 2, 20))  # 55, then 127 days


def test_os_end_of_support_bands_follow_the_edition_table(tmp_path, report):
    host = all_pass(host_entry(report))  # Windows 10 Enterprise LTSC 2021: support ends 2027-01-12

    def os_reason(as_of: date) -> list[str]:
        result = fleet(tmp_path, [([host], "2026-11-25")], report, as_of=as_of)
        return [r["text"] for r in result["hosts"][0]["reasons"] if r["kind"] == "os_support"]

    assert os_reason(date(2025, 2, 1)) == [("Windows support ends within 24 months: Windows 10 Enterprise LTSC 2021, "
                                            "end of support 2027-01-12")]
    assert os_reason(date(2026, 11, 25))[0].startswith("Windows support ends within 6 months")
    assert os_reason(date(2027, 1, 13))[0].startswith("Windows support has ended")
    assert os_reason(date(2024, 12, 1)) == []  # more than 24 months left


def test_unreachable_host_keeps_its_last_findings_and_counts_the_days(tmp_path, report):
    seen = set_status(all_pass(host_entry(report)), "FW-RULES", "fail")
    scans = [([seen], "2026-11-01"), ([unreachable(seen)], "2026-11-10"), ([unreachable(seen)], "2026-11-20")]
    host = fleet(tmp_path, scans, report)["hosts"][0]
    down = [r for r in host["reasons"] if r["kind"] == "unreachable"]
    assert len(down) == 1 and "since 2026-11-10 (15 days; connection refused)" in down[0]["text"]
    assert any(r["text"].startswith("FW-RULES fail") for r in host["reasons"])
    assert host["notes"] == ["findings as of the last evaluation, 2026-11-01"]
    assert host["top_measure"]["key"] in ("unreachable", "FW-RULES")


def test_top_measure_is_the_one_that_removes_most_points(tmp_path, report):
    host = set_status(set_status(all_pass(host_entry(report)), "FW-RULES", "fail"), "SMB-V1-FEATURE", "fail")
    result = fleet(tmp_path, [([host], "2026-11-25")], report, as_of=date(2024, 1, 1))
    entry = result["hosts"][0]
    points = {r["text"].split()[0]: r["points"] for r in entry["reasons"] if r["kind"] == "failed_control"}
    best = max(points, key=points.get)
    assert entry["top_measure"]["key"] == best and entry["top_measure"]["points"] == points[best]
    assert entry["top_measure"]["text"].startswith(f"make {best} pass:")
    fleet_measure = result["measures"][0]
    assert fleet_measure["hosts"] == ["wm1-sono-01"] and fleet_measure["profile"] == "sonora-review-4"


def test_m_computer_measures_go_to_the_manufacturer(tmp_path, report):
    host = renamed(set_status(all_pass(host_entry(report)), "OS-SECURE-BOOT", "fail"), "m1-ct-01",
                   "modality-ct-vendor")
    host["declared_class"] = "M1"
    entry = fleet(tmp_path, [([host], "2026-11-25")], report, as_of=date(2024, 1, 1))["hosts"][0]
    assert entry["top_measure"]["text"].startswith("ask the manufacturer to fix OS-SECURE-BOOT")
    props = {k: v for k, v in entry["properties"].items() if v["value"]}
    assert props["manufacturer_configuration_control"]["basis"].startswith("an M computer")
    assert props["print_or_storage"]["source"] == "derived"


def test_unknown_profile_is_a_note_and_scored_on_assumptions(tmp_path, report, profiles_dir):
    host = renamed(all_pass(host_entry(report)), "wm1-x", "no-such-profile")
    result = fleet(tmp_path, [([host], "2026-11-25")], report, profiles_dir)
    assert any("no-such-profile" in n for n in result["notes"])
    texts = reason_texts(result["hosts"][0])
    assert "processes identifiable health data (assumed: profile unknown)" in texts


def test_a_broken_exposure_model_names_file_and_field(tmp_path):
    from mt_eklient.errors import InputError
    from mt_eklient.fleet.exposure import load_exposure_file

    source = (Path(__file__).resolve().parents[2] / "verifier" / "mt_eklient" / "catalog" / "risk" / "exposure.yml")
    broken = tmp_path / "exposure.yml"
    broken.write_text(source.read_text(encoding="utf-8").replace("points: 15\n    assume: true",
                                                                  "points: many\n    assume: true", 1))
    with pytest.raises(InputError) as err:
        load_exposure_file(broken)
    assert str(err.value.problems[0]).startswith(f"{broken}:")
    assert "properties.health_data.points" in str(err.value)
