"""Streamed scan output (reports.stream): each host goes to every report and the history as it is
evaluated; memory stays flat whatever the number of hosts; a failed scan leaves no half-written file."""

from __future__ import annotations

import copy
import gc
import json
import sqlite3
import tracemalloc
import xml.etree.ElementTree as ET
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest
from mt_eklient import history
from mt_eklient.reports.json_report import render_json, validate_report
from mt_eklient.reports.stream import Output
from mt_eklient.scanresult import (
    HostInput,
    evaluate_host,
    open_reports,
    run_evaluation,
    scan_header,
    write_reports,
)
from verifier_helpers import TODAY, applications


def _header() -> dict:
    return scan_header(today=TODAY, warn_days=180, source={"kind": "test"}, command="scan", started="2026-11-25T08:00:00Z")


def _stream(wm1, tmp_path: Path, count: int, name: str = "r") -> tuple[int, dict[str, Path]]:
    """`count` hosts (one evaluation, renamed) streamed to every report file; returns the exit code
    and the paths."""
    paths = {"json_path": tmp_path / f"{name}.json", "junit_path": tmp_path / f"{name}.xml",
             "html_path": tmp_path / f"{name}.html", "history_path": tmp_path / f"{name}.sqlite"}
    result = evaluate_host(HostInput("wm1", baseline=wm1.baseline, facts=copy.deepcopy(wm1.facts),
                                     applications=applications(wm1.loaded)), TODAY)
    with open_reports(_header(), **paths) as reports:
        for index in range(count):
            reports.add(replace(result, host=f"wm1-{index:05d}"))
        code = reports.finish("2026-11-25T08:05:00Z")
    return code, paths


def test_streamed_reports_are_the_reports_of_the_whole_scan(wm1, tmp_path):
    """Streaming changes how reports are written, not what they say."""
    items = [HostInput(f"wm1-{i}", baseline=wm1.baseline, facts=copy.deepcopy(wm1.facts),
                       applications=applications(wm1.loaded)) for i in range(3)]
    items.append(HostInput("wm1-down", baseline=wm1.baseline, status="unreachable", error="connect timeout"))
    whole = run_evaluation(items, today=TODAY, source={"kind": "test"}, command="scan")
    code = write_reports(whole, tmp_path / "r.json", tmp_path / "r.xml", tmp_path / "r.html")
    assert code == whole.exit_code == 3
    streamed = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert validate_report(streamed) == []
    assert streamed == json.loads(render_json(whole.to_report()))
    # Each control's catalog text once per report, the evidence with every host.
    full = {c["id"]: c for c in whole.to_report()["hosts"][0]["controls"]}
    assert streamed["controls"] == {i: {"rationale": c["rationale"], "references": c["references"]}
                                    for i, c in full.items()}
    for control in streamed["hosts"][0]["controls"]:
        assert "rationale" not in control and "references" not in control
        assert {k: v for k, v in full[control["id"]].items() if k not in ("rationale", "references")} == control
    root = ET.parse(tmp_path / "r.xml").getroot()
    assert [s.get("name") for s in root.iter("testsuite")] == ["wm1-0", "wm1-1", "wm1-2", "wm1-down"]
    assert int(root.get("tests")) == sum(int(s.get("tests")) for s in root.iter("testsuite"))
    assert int(root.get("errors")) >= 1


def test_report_files_are_valid_and_history_has_every_host(wm1, tmp_path):
    code, paths = _stream(wm1, tmp_path, 5)
    report = json.loads(paths["json_path"].read_text(encoding="utf-8"))
    assert validate_report(report) == []
    assert report["summary"]["hosts"] == 5 and report["summary"]["exit_code"] == code
    assert report["scan"]["finished"] == "2026-11-25T08:05:00Z" and report["scan"]["catalog_version"]
    assert len(list(ET.parse(paths["junit_path"]).getroot().iter("testsuite"))) == 5

    class Sections(HTMLParser):
        sections = 0

        def handle_starttag(self, tag, attrs):
            self.sections += tag == "section"
    parser = Sections()
    parser.feed(paths["html_path"].read_text(encoding="utf-8"))
    assert parser.sections == 5
    with sqlite3.connect(paths["history_path"]) as db:
        assert db.execute("SELECT count(*) FROM hosts").fetchone()[0] == 5
        assert db.execute("SELECT exit_code, finished FROM scans").fetchall() == [(code, "2026-11-25T08:05:00Z")]


def test_memory_does_not_grow_with_the_number_of_hosts(wm1, tmp_path, monkeypatch):
    """Peak Python memory of streaming 100 hosts is that of 10 hosts, give or take a host's results
    (spools go to disk past SPOOL_MEMORY, lowered here so that the test stays quick)."""
    from mt_eklient.reports import stream
    monkeypatch.setattr(stream, "SPOOL_MEMORY", 16 * 1024)

    def peak(count: int) -> int:
        gc.collect()
        tracemalloc.start()
        _stream(wm1, tmp_path, count, name=f"n{count}")
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    small, large = peak(10), peak(100)
    assert large < small * 1.3 + 512 * 1024, (small, large)


def test_a_failing_scan_leaves_no_half_written_report(wm1, tmp_path):
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    old = tmp_path / "r.json"
    old.write_text("previous report\n", encoding="utf-8")
    reports = open_reports(_header(), json_path=old, html_path=tmp_path / "r.html", history_path=tmp_path / "h.sqlite")
    with pytest.raises(RuntimeError), reports:
        reports.add(evaluate_host(HostInput("wm1-a", baseline=wm1.baseline, facts=copy.deepcopy(wm1.facts),
                                            applications=applications(wm1.loaded)), TODAY))
        raise RuntimeError("collection crashed")
    assert old.read_text(encoding="utf-8") == "previous report\n"
    assert not (tmp_path / "r.html").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.sqlite", "r.json"]  # no temporary files left
    with sqlite3.connect(tmp_path / "h.sqlite") as db:
        assert db.execute("SELECT count(*) FROM scans").fetchone()[0] == 0  # nothing half-stored


def test_an_output_that_fails_while_writing_keeps_the_old_file(tmp_path):
    target = tmp_path / "r.json"
    target.write_text("old", encoding="utf-8")

    def produce(stream):
        stream.write("partial")
        raise OSError("disk full")
    with pytest.raises(OSError):
        Output(target).write(produce)
    assert target.read_text(encoding="utf-8") == "old" and [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_an_unusable_history_is_one_warning_and_the_reports_stand(wm1, tmp_path, capsys):
    bad = tmp_path / "history.sqlite"
    bad.write_text("not a database", encoding="utf-8")
    with open_reports(_header(), json_path=tmp_path / "r.json", history_path=bad) as reports:
        reports.add(evaluate_host(HostInput("wm1-a", baseline=wm1.baseline, facts=copy.deepcopy(wm1.facts),
                                            applications=applications(wm1.loaded)), TODAY))
        code = reports.finish("2026-11-25T08:05:00Z")
    assert "scan not stored in the history" in capsys.readouterr().err
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["summary"]["exit_code"] == code


def test_history_record_of_a_whole_scan_matches_streaming(wm1, tmp_path):
    scan = run_evaluation([HostInput("wm1-a", baseline=wm1.baseline, facts=copy.deepcopy(wm1.facts),
                                     applications=applications(wm1.loaded))], today=TODAY)
    scan_id = history.record(scan, tmp_path / "h.sqlite")
    with sqlite3.connect(tmp_path / "h.sqlite") as db:
        assert db.execute("SELECT exit_code FROM scans WHERE id = ?", (scan_id,)).fetchone() == (scan.exit_code,)
        assert db.execute("SELECT count(*) FROM results").fetchone()[0] == len(scan.hosts[0].controls)
