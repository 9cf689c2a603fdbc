"""`mtk profile draft` and `mtk profile diff` as a technician runs them: golden drafts, drafts that
validate as drafts, approval, nothing written on bad input, no overwrite without --force.

Regenerate the golden drafts after an intended change:
`UPDATE_GOLDEN=1 .venv/bin/pytest tests/mds2/test_profile_draft_cli.py`."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import pytest
import yaml
from mds2_workbooks import NEMA_EXAMPLE, WM_LIKE, wm_like, write_workbook
from mt_eklient.catalog import load_catalog
from mt_eklient.cli import main
from mt_eklient.hosts import load_checked_profile
from mt_eklient.resolve import HostContext, resolve

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden" / "mds2"


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"no golden file {path}: run UPDATE_GOLDEN=1 pytest {__file__}"
    assert text == path.read_text(), f"draft differs from {path}"


def test_nema_example_golden_says_it_is_no_windows_client(tmp_path, capsys):
    out = tmp_path / "glucose-monitor.yml"
    code, stdout, _ = run(capsys, "profile", "draft", "--mds2", str(NEMA_EXAMPLE), "--out", str(out))
    assert code == 0
    assert "NOT A WINDOWS CLIENT PROFILE" in stdout
    text = out.read_text()
    assert "# Classification: NOT A WINDOWS CLIENT PROFILE" in text
    check_golden("glucose-monitor.yml", text)


def test_wm_like_golden(tmp_path, capsys):
    book = wm_like(tmp_path / "InfuView-5-MDS2.xlsx")
    out = tmp_path / "infuview-5.yml"
    code, stdout, _ = run(capsys, "profile", "draft", "--mds2", str(book), "--class", "WM1", "--out", str(out))
    assert code == 0 and f"wrote {out}" in stdout
    text = out.read_text()
    # openpyxl stamps the save time into the file: the hash is the only part that varies
    import hashlib
    digest = hashlib.sha256(book.read_bytes()).hexdigest()
    assert text.count(digest) == 2
    check_golden("infuview-5.yml", text.replace(digest, "<sha256 of the workbook>"))


def test_every_derived_field_names_its_question(tmp_path, capsys):
    out = tmp_path / "infuview-5.yml"
    run(capsys, "profile", "draft", "--mds2", str(wm_like(tmp_path / "wb.xlsx")), "--out", str(out))
    text = out.read_text()
    for line, field in (("permitted: true", "MLDP-2 = Yes"), ("mode: enforce", "MLDP-4 = Yes"),
                        ("policy: deferred", "CSUP-2.4 = Yes"), ("internet: deny", "CONN-6 = No"),
                        ("method: customer_initiated_vpn", "RMOT-1.1 = Yes")):
        [found] = [t for t in text.splitlines() if t.strip().startswith(line)]
        assert "# MDS2 " in found and field in found, found


def test_draft_validates_as_a_draft_and_lists_what_to_fill_in(tmp_path, capsys):
    out = tmp_path / "infuview-5.yml"
    run(capsys, "profile", "draft", "--mds2", str(wm_like(tmp_path / "wb.xlsx")), "--class", "WM1", "--out", str(out))
    code, stdout, stderr = run(capsys, "profile", "validate", str(out))
    assert code == 0, stderr
    assert f"{out}: draft (not approved" in stdout
    fill_ins = [line for line in stdout.splitlines() if ": to fill in: " in line]
    fields = {line.split(": ")[1] for line in fill_ins}
    assert {"applications[0].publisher", "patching.maintenance_window", "network.inbound",
            "os.editions[0]", "antivirus.realtime"} <= fields
    assert all(line.startswith(f"{out}:") for line in fill_ins)
    code, _, stderr = run(capsys, "profile", "validate", "--require-approved", str(out))
    assert code == 2 and "draft" in stderr


def _filled_in(path: Path, approve: bool) -> Path:
    """What MT engineering does with the draft: fill every placeholder (and approve)."""
    data = yaml.safe_load(path.read_text())
    data["application"]["version"] = "5.0"
    data["os"]["editions"] = ["win10-ltsc-2021"]
    data["applications"][0].update(publisher="O=ACME MEDICAL AB, C=SE", install_paths=["%PROGRAMFILES%\\Acme\\InfuView"],
                                   uninstall_display_name="InfuView 5*")
    data["whitelisting"]["extra_rules"] = []
    data["antivirus"]["realtime"] = True
    data["network"]["zones"] = {"management": ["10.20.0.0/24"], "infuview": ["10.40.0.5"]}
    data["network"]["inbound"] = []
    data["network"]["outbound"] = [{"name": "infuview", "protocol": "tcp", "ports": [443], "remote": ["infuview"]}]
    data["patching"].update(defer_days=7, wsus={"server": "https://wsus.region.example:8531"},
                            maintenance_window={"days": ["tuesday"], "start": "06:00", "duration_hours": 2})
    if approve:
        data["governance"].update(approved_by="MT engineering (A. Lindqvist)", approved_date=date(2026, 11, 2))
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_filled_in_draft_is_a_profile_and_approval_ends_the_draft(tmp_path, capsys):
    out = tmp_path / "infuview-5.yml"
    run(capsys, "profile", "draft", "--mds2", str(wm_like(tmp_path / "wb.xlsx")), "--class", "WM1", "--out", str(out))
    loaded = load_checked_profile(_filled_in(out, approve=False))
    assert loaded.draft and loaded.fill_ins == ()
    baseline = resolve(load_catalog(), loaded, HostContext(name="wm1-infu-01"), date(2026, 11, 3))
    assert any("DRAFT" in note for note in baseline.notes)          # a scan reports the draft
    loaded = load_checked_profile(_filled_in(out, approve=True))
    assert not loaded.draft
    code, stdout, _ = run(capsys, "profile", "validate", "--require-approved", str(out))
    assert code == 0 and stdout.strip() == f"{out}: ok"


def test_approval_with_fields_to_fill_in_is_an_error(tmp_path, capsys):
    out = tmp_path / "infuview-5.yml"
    run(capsys, "profile", "draft", "--mds2", str(wm_like(tmp_path / "wb.xlsx")), "--class", "WM1", "--out", str(out))
    out.write_text(out.read_text().replace('approved_by: ""', 'approved_by: "MT engineering"')
                   .replace("approved_date: null", "approved_date: 2026-11-02"))
    code, _, stderr = run(capsys, "profile", "validate", str(out))
    assert code == 2 and "governance.approved_by: an approved profile cannot have" in stderr


def test_half_approval_is_an_error(tmp_path, capsys, sonora, write_profile):
    sonora["governance"].pop("approved_date")
    code, _, stderr = run(capsys, "profile", "validate", str(write_profile(sonora)))
    assert code == 2 and "approved_date: approval needs both" in stderr


def test_out_is_never_overwritten_without_force(tmp_path, capsys):
    out = tmp_path / "infuview-5.yml"
    out.write_text("# the engineer's edits\n")
    book = wm_like(tmp_path / "wb.xlsx")
    code, _, stderr = run(capsys, "profile", "draft", "--mds2", str(book), "--out", str(out))
    assert code == 2 and "--force" in stderr
    assert out.read_text() == "# the engineer's edits\n"
    code, _, _ = run(capsys, "profile", "draft", "--mds2", str(book), "--out", str(out), "--force")
    assert code == 0 and out.read_text().startswith("# DRAFT device profile")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["infuview-5.yml", "wb.xlsx"]   # no temp file left


@pytest.mark.parametrize("kind", ["unknown answer", "no question id", "not xlsx"])
def test_bad_workbook_is_one_line_exit_2_and_nothing_written(tmp_path, capsys, kind):
    if kind == "unknown answer":
        book = write_workbook(tmp_path / "wb.xlsx", {**WM_LIKE, "CSUP-2.4": "Only with approval"})
    elif kind == "no question id":
        book = write_workbook(tmp_path / "wb.xlsx", WM_LIKE, header="Frage")
    else:
        book = tmp_path / "wb.xlsx"
        book.write_bytes(b"PK\x03\x04 broken")
    out = tmp_path / "draft.yml"
    code, stdout, stderr = run(capsys, "profile", "draft", "--mds2", str(book), "--out", str(out))
    assert code == 2 and stdout == ""
    assert len(stderr.strip().splitlines()) == 1 and stderr.startswith(str(book))
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["wb.xlsx"]


def test_id_must_be_the_file_name(tmp_path, capsys):
    code, _, stderr = run(capsys, "profile", "draft", "--mds2", str(wm_like(tmp_path / "wb.xlsx")),
                          "--id", "other-name", "--out", str(tmp_path / "infuview-5.yml"))
    assert code == 2 and "--id other-name differs from the file name" in stderr


def test_stdout_and_json(tmp_path, capsys):
    book = wm_like(tmp_path / "wb.xlsx")
    code, stdout, stderr = run(capsys, "profile", "draft", "--mds2", str(book), "--id", "infuview-5")
    assert code == 0 and yaml.safe_load(stdout)["id"] == "infuview-5" and "draft above" in stderr
    code, stdout, _ = run(capsys, "profile", "draft", "--mds2", str(book), "--id", "infuview-5", "--json")
    summary = json.loads(stdout)
    assert summary["class_candidate"] == "WM"
    assert {"field": "antivirus.permitted", "source": "MDS2 MLDP-2 = Yes"} in summary["derived"]
    assert "patching.maintenance_window" in {f["field"] for f in summary["to_fill_in"]}
    assert yaml.safe_load(summary["yaml"])["antivirus"]["permitted"] is True
    assert summary["workbook"]["sha256"] and summary["findings"]


# ---------------------------------------------------------------- diff

def test_diff_profile_against_a_new_mds2_revision(tmp_path, capsys):
    out = tmp_path / "infuview-5.yml"
    run(capsys, "profile", "draft", "--mds2", str(wm_like(tmp_path / "rev-a.xlsx")), "--class", "WM1", "--out", str(out))
    rev_b = wm_like(tmp_path / "rev-b.xlsx", {"MLDP-2": "No", "MLDP-2.3": "No", "MLDP-3": "Yes", "CONN-6": "No"})
    code, stdout, _ = run(capsys, "profile", "diff", str(out), str(rev_b))
    assert code == 1
    assert "antivirus.permitted: true -> false" in stdout
    assert "old: MDS2 MLDP-2 = Yes" in stdout and "new: MDS2 MLDP-2 = No" in stdout
    assert "network.internet" not in stdout                # unchanged
    assert "application.version" not in stdout            # not an MDS2 field
    code, stdout, _ = run(capsys, "profile", "diff", str(out), str(tmp_path / "rev-a.xlsx"))
    assert code == 0 and "no differences" in stdout


def test_diff_filled_in_profile_against_its_workbook_is_quiet(tmp_path, capsys):
    """Fields filled in from the IfU where the MDS2 has no answer, and defaults left out, are no change."""
    book = wm_like(tmp_path / "rev-a.xlsx")
    out = tmp_path / "infuview-5.yml"
    run(capsys, "profile", "draft", "--mds2", str(book), "--class", "WM1", "--out", str(out))
    data = yaml.safe_load(_filled_in(out, approve=True).read_text())
    del data["accounts"]["kiosk"]                          # the default: no kiosk
    out.write_text(yaml.safe_dump(data, sort_keys=False))
    code, stdout, _ = run(capsys, "profile", "diff", str(out), str(book))
    assert code == 0, stdout


def test_diff_two_profiles_json(tmp_path, capsys, sonora, write_profile):
    old = write_profile(sonora, "old.yml")
    sonora["patching"]["defer_days"] = 14
    new = write_profile(sonora, "new.yml")
    code, stdout, _ = run(capsys, "profile", "diff", str(old), str(new), "--json")
    assert code == 1
    assert json.loads(stdout)["changes"] == [{"field": "patching.defer_days", "old": 7, "new": 14,
                                              "old_source": None, "new_source": None}]


def test_diff_bad_input(tmp_path, capsys):
    bad = tmp_path / "bad.xlsx"
    bad.write_text("nope")
    code, _, stderr = run(capsys, "profile", "diff", str(bad), str(REPO / "profiles" / "sonora-review-4.yml"))
    assert code == 2 and "not an xlsx workbook" in stderr


def test_drafts_are_never_in_the_shipped_profiles():
    for path in (REPO / "profiles").glob("*.yml"):
        assert not load_checked_profile(path).draft, path


def test_a_scan_may_use_a_draft_and_its_reports_say_so(tmp_path, capsys, sonora, write_profile):
    del sonora["governance"]["approved_by"], sonora["governance"]["approved_date"]
    profile = write_profile(sonora, "sonora-review-4.yml")
    facts = REPO / "tests" / "data" / "facts" / "wm1-sample.json"
    report = tmp_path / "report.json"
    code, stdout, stderr = run(capsys, "verify", str(facts), "--profile", str(profile), "--class", "WM1",
                               "--json", str(report))
    assert code in (0, 1), stderr                      # evaluated, not refused
    assert "profile sonora-review-4 is a DRAFT" in stdout
    [host] = json.loads(report.read_text())["hosts"]
    assert any("DRAFT" in note for note in host["notes"])
