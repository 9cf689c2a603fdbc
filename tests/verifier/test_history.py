"""Scan history (SQLite) and drift between a host's last two scans."""

from __future__ import annotations

import copy
import sqlite3
from pathlib import Path

import pytest
from mt_eklient import history
from mt_eklient.errors import InputError
from mt_eklient.scanresult import HostInput, run_evaluation
from verifier_helpers import TODAY, applications


def scan_of(wm1, facts_by_host: dict[str, dict | None]):
    items = []
    for name, facts in facts_by_host.items():
        if facts is None:
            items.append(HostInput(name, baseline=wm1.baseline, status="unreachable", error="timed out"))
        else:
            items.append(HostInput(name, baseline=wm1.baseline, facts=facts, applications=applications(wm1.loaded)))
    return run_evaluation(items, today=TODAY)


def test_history_path_precedence(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(history.ENV_VAR, raising=False)
    assert history.history_path() == tmp_path / ".mtk" / "history.sqlite"
    monkeypatch.setenv(history.ENV_VAR, str(tmp_path / "env.sqlite"))
    assert history.history_path() == tmp_path / "env.sqlite"
    assert history.history_path(tmp_path / "opt.sqlite") == tmp_path / "opt.sqlite"


def test_drift_between_two_scans(wm1, tmp_path):
    db = tmp_path / "h.sqlite"
    first = copy.deepcopy(wm1.facts)
    first["defender"]["status"]["RealTimeProtectionEnabled"] = False
    history.record(scan_of(wm1, {"a": first, "b": copy.deepcopy(wm1.facts)}), db)

    second = copy.deepcopy(wm1.facts)  # real-time protection fixed ...
    second["firewall"]["profiles"]["Public"]["default_inbound_action"] = "allow"  # ... firewall opened
    history.record(scan_of(wm1, {"a": second, "b": copy.deepcopy(wm1.facts)}), db)

    drift = {d.host: d for d in history.drift(db)}
    assert [(c.control, c.before, c.after) for c in drift["a"].changes] == [
        ("T-AV", "fail", "pass"), ("T-FW-IN", "pass", "fail")]
    assert drift["a"].changes[1].message == "not as expected in: Public"
    assert drift["b"].changes == []
    assert drift["a"].previous_scan["id"] < drift["a"].latest_scan["id"]
    only_a = history.drift(db, host="A")  # host names compare case-insensitively
    assert [d.host for d in only_a] == ["a"]


def test_drift_of_a_host_seen_once(wm1, tmp_path):
    db = tmp_path / "h.sqlite"
    history.record(scan_of(wm1, {"a": copy.deepcopy(wm1.facts)}), db)
    history.record(scan_of(wm1, {"b": copy.deepcopy(wm1.facts)}), db)
    drift = {d.host: d for d in history.drift(db)}
    assert drift["b"].previous_scan is None
    assert drift["a"].previous_scan is None  # the second scan did not include a


def test_unreachable_host_reports_status_change_only(wm1, tmp_path):
    db = tmp_path / "h.sqlite"
    history.record(scan_of(wm1, {"a": copy.deepcopy(wm1.facts)}), db)
    history.record(scan_of(wm1, {"a": None}), db)
    [entry] = history.drift(db)
    assert (entry.status_before, entry.status_after, entry.changes) == ("ok", "unreachable", [])


def test_history_stores_redacted_evidence_only(wm1, tmp_path):
    facts = copy.deepcopy(wm1.facts)
    facts["registry"]["HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon"]["DefaultPassword"] = {
        "type": "REG_SZ", "value": "Canary-Secret-1"}
    db = tmp_path / "h.sqlite"
    history.record(scan_of(wm1, {"a": facts}), db)
    assert b"Canary-Secret-1" not in db.read_bytes()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT actual FROM results WHERE control_id = 'T-AUTOLOGON-PW'").fetchone()[0] == \
            '"<redacted>"'


def test_missing_or_corrupt_history_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no scan history"):
        history.drift(tmp_path / "none.sqlite")
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(InputError, match="not a usable history database"):
        history.drift(junk)


def test_unknown_host(wm1, tmp_path):
    db = tmp_path / "h.sqlite"
    history.record(scan_of(wm1, {"a": copy.deepcopy(wm1.facts)}), db)
    with pytest.raises(InputError, match="no scan of host 'zz'"):
        history.drift(db, host="zz")


def test_record_creates_the_folder(wm1, tmp_path):
    db = tmp_path / "deep" / "er" / "history.sqlite"
    scan_id = history.record(scan_of(wm1, {"a": copy.deepcopy(wm1.facts)}), db)
    assert scan_id == 1 and Path(db).is_file()
