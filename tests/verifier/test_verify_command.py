"""`mtk verify` (offline), `mtk request`, `mtk drift`."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mt_eklient import catalog as catalog_module
from mt_eklient import cli
from verifier_helpers import CATALOG


@pytest.fixture
def test_catalog(monkeypatch):
    # The catalog is imported where a baseline is resolved; a substitute catalog is not what the
    # cache's key is computed from (the package's catalog files), so no cache either.
    monkeypatch.setattr(catalog_module, "load_catalog", lambda: CATALOG)
    monkeypatch.setenv("MTK_CACHE_DIR", "")


@pytest.fixture
def facts_file(wm1, tmp_path):
    def write(facts=None, name="facts.json"):
        path = tmp_path / name
        path.write_text(json.dumps(wm1.facts if facts is None else facts), encoding="utf-8")
        return path
    return write


def run(*args: str) -> int:
    return cli.main([str(a) for a in args])


def test_verify_passing_host_exits_0_and_writes_reports(wm1, facts_file, tmp_path, test_catalog, capsys):
    code = run("verify", facts_file(), "--profile", wm1.profile_path, "--class", "WM1", "--today", "2026-06-01",
               "--json", tmp_path / "out" / "r.json", "--junit", tmp_path / "out" / "r.xml",
               "--html", tmp_path / "out" / "r.html", "--history", tmp_path / "h.sqlite")
    out = capsys.readouterr().out
    assert code == 0, out
    assert "wm1-sono-01" in out and "Result: PASS" in out
    report = json.loads((tmp_path / "out" / "r.json").read_text())
    assert report["scan"]["command"] == "verify"
    assert report["hosts"][0]["declared_class"] == "WM1"
    assert (tmp_path / "out" / "r.xml").is_file() and (tmp_path / "out" / "r.html").is_file()
    assert (tmp_path / "h.sqlite").is_file()


def test_verify_failing_host_exits_1(wm1, facts_file, tmp_path, test_catalog, capsys):
    facts = copy.deepcopy(wm1.facts)
    facts["firewall"]["profiles"]["Domain"]["enabled"] = False
    code = run("verify", facts_file(facts), "--profile", wm1.profile_path, "--no-history", "--today", "2026-06-01")
    out = capsys.readouterr().out
    assert code == 1
    assert "T-FW-ON" in out and "Result: FAIL" in out


def test_verify_class_mismatch_exits_1(wm1, facts_file, test_catalog, capsys):
    code = run("verify", facts_file(), "--profile", wm1.profile_path, "--class", "M1", "--no-history",
               "--today", "2026-06-01")
    assert code == 1
    assert "declared class M1 but profile" in capsys.readouterr().out


def test_warn_days_and_host_options(wm1, facts_file, test_catalog, capsys):
    code = run("verify", facts_file(), "--profile", wm1.profile_path, "--no-history", "--today", "2026-11-25",
               "--warn-days", "60", "--host", "bedside-7", "--json", "-")
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert code == 0
    assert report["hosts"][0]["host"] == "bedside-7"
    assert report["scan"]["warn_days"] == 60
    assert any("support ends 2027-01-12" in n for n in report["hosts"][0]["notes"])
    assert "bedside-7" in captured.err  # the console summary moves to stderr


def test_default_history_in_the_current_directory_and_drift(wm1, facts_file, tmp_path, test_catalog, monkeypatch,
                                                            capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MTK_HISTORY", raising=False)
    path = facts_file()
    assert run("verify", path, "--profile", wm1.profile_path, "--today", "2026-06-01") == 0
    assert (tmp_path / ".mtk" / "history.sqlite").is_file()
    facts = copy.deepcopy(wm1.facts)
    facts["services"]["AppIDSvc"]["start_mode"] = "manual"
    assert run("verify", facts_file(facts), "--profile", wm1.profile_path, "--today", "2026-06-01") == 1
    capsys.readouterr()
    assert run("drift") == 1  # T-SVC regressed
    out = capsys.readouterr().out
    assert "wm1-sono-01" in out
    assert "T-SVC" in out and "pass ->" in out and "fail" in out and "REGRESSED" in out
    assert run("drift", "--json", "--host", "wm1-sono-01") == 1
    [entry] = json.loads(capsys.readouterr().out)
    assert [(c["control"], c["before"], c["after"]) for c in entry["changes"]] == [("T-SVC", "pass", "fail")]


def test_drift_without_history_is_exit_2(tmp_path, capsys):
    assert run("drift", "--history", tmp_path / "nothing.sqlite") == 2
    assert "no scan history" in capsys.readouterr().err


def test_request_prints_the_collector_request(wm1, test_catalog, capsys, tmp_path):
    assert run("request", "--profile", wm1.profile_path) == 0
    request = json.loads(capsys.readouterr().out)
    assert "AppIDSvc" in request["services"] and "SonoRevDicom" in request["services"]
    assert run("request", "--profile", wm1.profile_path, "-o", tmp_path / "req.json") == 0
    assert json.loads((tmp_path / "req.json").read_text()) == request


GARBAGE = {
    "truncated": '{"schema_version": 1, "collector": {"name": "mt-eklient", "vers',
    "binary": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\xfd",
    "empty": "",
    "list": "[1, 2, 3]",
    "other_json": '{"name": "not facts", "items": [1, 2]}',
}


@pytest.mark.parametrize("kind", sorted(GARBAGE))
def test_garbage_facts_exit_2_with_one_line(wm1, tmp_path, kind, test_catalog, capsys):
    path = tmp_path / "facts.json"
    content = GARBAGE[kind]
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    assert run("verify", path, "--profile", wm1.profile_path, "--no-history") == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(str(path))
    assert captured.out == ""


def test_facts_with_a_few_schema_problems_list_each(wm1, facts_file, test_catalog, capsys):
    facts = copy.deepcopy(wm1.facts)
    facts["os"]["current_build"] = "19044"
    facts["services"]["AppIDSvc"]["state"] = "dancing"
    assert run("verify", facts_file(facts), "--profile", wm1.profile_path, "--no-history") == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2
    assert any("os.current_build" in line for line in lines)


def test_missing_facts_file_and_bad_class(wm1, tmp_path, test_catalog, capsys):
    assert run("verify", tmp_path / "nope.json", "--profile", wm1.profile_path, "--no-history") == 2
    assert "cannot read" in capsys.readouterr().err
    path = tmp_path / "f.json"
    path.write_text("{}")
    assert run("verify", path, "--profile", wm1.profile_path, "--class", "WM7", "--no-history") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("--class")


def test_garbage_facts_through_the_real_command_has_no_traceback(wm1, tmp_path):
    """The installed `mtk` (real catalog) on a truncated file: exit 2, one line, no traceback."""
    path = tmp_path / "facts.json"
    path.write_text(GARBAGE["truncated"])
    env = {**os.environ, "MTK_HISTORY": str(tmp_path / "h.sqlite")}
    proc = subprocess.run([sys.executable, "-m", "mt_eklient.cli", "verify", str(path), "--profile",
                           str(wm1.profile_path)], capture_output=True, text=True, env=env, timeout=60, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "not valid JSON" in proc.stderr
    assert not Path(tmp_path / "h.sqlite").exists()


def test_verify_and_drift_share_a_postgresql_history(wm1, facts_file, test_catalog, monkeypatch, capsys,
                                                      postgres_cluster):
    """MTK_HISTORY with a postgresql:// URL: two scanners' scans land in one database, drift reads it."""
    url = postgres_cluster.new_database()
    monkeypatch.setenv("MTK_HISTORY", url)
    assert run("verify", facts_file(), "--profile", wm1.profile_path, "--today", "2026-06-01") == 0
    facts = copy.deepcopy(wm1.facts)
    facts["services"]["AppIDSvc"]["start_mode"] = "manual"
    monkeypatch.delenv("MTK_HISTORY")  # the second scanner names the history on its command line
    assert run("verify", facts_file(facts), "--profile", wm1.profile_path, "--today", "2026-06-01",
               "--history", url) == 1
    capsys.readouterr()
    assert run("drift", "--json", "--history", url) == 1  # T-SVC regressed
    [entry] = json.loads(capsys.readouterr().out)
    assert [(c["control"], c["before"], c["after"]) for c in entry["changes"]] == [("T-SVC", "pass", "fail")]


def test_an_unusable_postgresql_history_is_reported_without_its_password(wm1, facts_file, test_catalog, capsys,
                                                                         postgres_cluster):
    url = postgres_cluster.url("missing_db", password="Pw-Canary-3")
    # The scan itself is still reported; only storing it fails, with one line that hides the password.
    assert run("verify", facts_file(), "--profile", wm1.profile_path, "--today", "2026-06-01", "--history", url) == 0
    err = capsys.readouterr().err
    assert "scan not stored in the history" in err and "missing_db" in err
    assert "Pw-Canary-3" not in err and "PGPASSFILE" in err  # and the command-line password is warned about
    assert run("drift", "--history", url) == 2
    err = capsys.readouterr().err
    assert "Pw-Canary-3" not in err and len(err.strip().splitlines()) == 2  # the warning and the error
