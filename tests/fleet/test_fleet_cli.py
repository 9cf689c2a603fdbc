"""`mtk report fleet` on the command line: outputs, and bad input as one line with exit 2."""

from __future__ import annotations

import csv
import json
import sqlite3

import pytest
from fleet_helpers import all_pass, host_entry, renamed, unreachable, write_scan
from mt_eklient import history
from mt_eklient.cli import main
from mt_eklient.historydb import open_store
from mt_eklient.scanresult import REPORT_VERSION


@pytest.fixture
def two_scans(tmp_path, report):
    clean = all_pass(host_entry(report))
    first = write_scan(tmp_path / "a.json", report, [clean, renamed(clean, "wm1-sono-02")], "2026-11-20")
    second = write_scan(tmp_path / "b.json", report, [host_entry(report), renamed(clean, "wm1-sono-02")], "2026-11-25")
    return first, second


def test_json_csv_and_summary(tmp_path, two_scans, capsys):
    out_json, out_csv = tmp_path / "out" / "fleet.json", tmp_path / "out" / "fleet.csv"
    code = main(["report", "fleet", "--scan", str(two_scans[0]), "--scan", str(two_scans[1]), "--as-of", "2026-11-30",
                 "--json", str(out_json), "--csv", str(out_csv)])
    assert code == 0
    stdout = capsys.readouterr().out
    assert "Fleet overview as of 2026-11-30: 2 hosts from 2 scan(s)" in stdout
    report = json.loads(out_json.read_text())
    assert [h["host"] for h in report["hosts"]] == ["wm1-sono-01", "wm1-sono-02"]  # it regressed: ranked first
    assert report["trends"]["regressions"]["since_previous"]
    assert all(r["host"] == "wm1-sono-01" for r in report["trends"]["regressions"]["since_previous"])
    rows = list(csv.DictReader(out_csv.open(encoding="utf-8")))
    assert [(r["rank"], r["host"]) for r in rows] == [("1", "wm1-sono-01"), ("2", "wm1-sono-02")]
    assert rows[0]["score"] == str(report["hosts"][0]["score"]) and rows[0]["top_measure"]


def test_json_to_stdout_keeps_the_summary_off_stdout(two_scans, capsys):
    assert main(["report", "fleet", "--scan", str(two_scans[1]), "--as-of", "2026-11-30", "--json", "-"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["fleet_report_version"] == 1
    assert "Fleet overview" in captured.err


def _one_line_exit_2(capsys, args: list[str]) -> str:
    with pytest.raises(SystemExit) as exc:
        raise SystemExit(main(args))
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    return err


def test_scan_report_of_another_version(tmp_path, report, capsys):
    report["report_version"] = REPORT_VERSION + 1
    path = tmp_path / "next.json"
    path.write_text(json.dumps(report))
    err = _one_line_exit_2(capsys, ["report", "fleet", "--scan", str(path), "--html", str(tmp_path / "f.html")])
    assert err.startswith(f"{path}: report_version: ") and f"version {REPORT_VERSION}" in err
    assert not (tmp_path / "f.html").exists()


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "not JSON"),
    ('{"schema_version": 1, "collector": {}}', "no report_version"),
    ('{"report_version": 2, "hosts": []}', "not a valid scan report"),
])
def test_not_a_scan_report(tmp_path, capsys, content, message):
    path = tmp_path / "x.json"
    path.write_text(content)
    err = _one_line_exit_2(capsys, ["report", "fleet", "--scan", str(path)])
    assert err.startswith(str(path)) and message in err


def test_empty_history(tmp_path, capsys):
    db = tmp_path / "history.sqlite"
    open_store(db).close()  # a history database with no scan in it
    err = _one_line_exit_2(capsys, ["report", "fleet", "--history", str(db), "--csv", str(tmp_path / "f.csv")])
    assert err == f"{db}: the history holds no scan yet (run mtk scan first)"
    assert not (tmp_path / "f.csv").exists()


def test_missing_history_and_not_a_database(tmp_path, capsys):
    err = _one_line_exit_2(capsys, ["report", "fleet", "--history", str(tmp_path / "none.sqlite")])
    assert "no scan history here" in err
    bad = tmp_path / "bad.sqlite"
    bad.write_text("this is not sqlite " * 100)
    assert "not a usable history database" in _one_line_exit_2(capsys, ["report", "fleet", "--history", str(bad)])


def test_as_of_before_every_scan(two_scans, capsys):
    err = _one_line_exit_2(capsys, ["report", "fleet", "--scan", str(two_scans[0]), "--as-of", "2026-01-01"])
    assert "no scan evaluated on or before 2026-01-01" in err


def test_scan_and_history_exclude_each_other(two_scans, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["report", "fleet", "--scan", str(two_scans[0]), "--history", "h.sqlite"])
    assert exc.value.code == 2


def test_history_reads_what_scans_stored(tmp_path, sample_report, capsys):
    """The history's read API gives the fleet the same hosts and statuses as the JSON report."""
    from fleet_helpers import PROFILES, SAMPLE_FACTS
    from mt_eklient.cli import main as mtk

    db = tmp_path / "h.sqlite"
    assert mtk(["verify", str(SAMPLE_FACTS), "--profile", str(PROFILES / "sonora-review-4.yml"), "--site", "region-vastland",
                 "--class", "WM1",
                "--host", "wm1-sono-01", "--history", str(db), "--today", "2026-11-25"]) in (0, 1)
    capsys.readouterr()
    stored = history.stored_reports(db)
    assert len(stored) == 1
    host = stored[0]["hosts"][0]
    expected = host_entry(sample_report)
    assert host["profile"] == {"id": "sonora-review-4", "version": expected["profile"]["version"]}
    assert {c["id"]: c["status"] for c in host["controls"]} == {c["id"]: c["status"] for c in expected["controls"]}
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM scans").fetchone()[0] == 1
    out = tmp_path / "f.json"
    assert mtk(["report", "fleet", "--history", str(db), "--as-of", "2026-11-30", "--json", str(out)]) == 0
    from_history = json.loads(out.read_text())["hosts"][0]
    assert from_history["host"] == "wm1-sono-01" and from_history["edition"] == "Windows 10 Enterprise LTSC 2021"
    failed = {r["text"].split()[0] for r in from_history["reasons"] if r["kind"] == "failed_control"}
    assert failed == {c["id"] for c in expected["controls"] if c["status"] in ("fail", "error")}


def test_csv_cells_cannot_become_formulas_and_secrets_are_masked(tmp_path, report, capsys):
    host = unreachable(all_pass(host_entry(report)), "=HYPERLINK(\"x\") password=hunter2 refused")
    host["host"] = "=cmd|calc"
    path = write_scan(tmp_path / "s.json", report, [host], "2026-11-25")
    out_csv, out_json = tmp_path / "f.csv", tmp_path / "f.json"
    assert main(["report", "fleet", "--scan", str(path), "--as-of", "2026-11-25", "--csv", str(out_csv),
                 "--json", str(out_json)]) == 0
    row = next(csv.DictReader(out_csv.open(encoding="utf-8")))
    assert row["host"] == "'=cmd|calc"
    assert "hunter2" not in out_csv.read_text() and "hunter2" not in out_json.read_text()
    assert "hunter2" not in capsys.readouterr().out


def test_a_bad_field_is_named_with_its_path(tmp_path, report, capsys):
    report["hosts"][0]["controls"][3]["status"] = "maybe"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(report))
    err = _one_line_exit_2(capsys, ["report", "fleet", "--scan", str(path)])
    assert err.startswith(f"{path}: hosts.0.controls.3.status: not a valid scan report: ")
