"""Scan history and drift between a host's last two scans, on both backends: a SQLite file and a
real PostgreSQL database (a throw-away cluster, tests/postgres_cluster.py)."""

from __future__ import annotations

import copy
import multiprocessing
import sqlite3
from pathlib import Path

import pytest
from mt_eklient import history, historydb
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


def rows(location, sql: str, params=()) -> list[tuple]:
    with historydb.open_store(location) as store:
        return store.rows(sql, params)


def test_history_path_precedence(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(history.ENV_VAR, raising=False)
    assert history.history_path() == tmp_path / ".mtk" / "history.sqlite"
    monkeypatch.setenv(history.ENV_VAR, str(tmp_path / "env.sqlite"))
    assert history.history_path() == tmp_path / "env.sqlite"
    assert history.history_path(tmp_path / "opt.sqlite") == tmp_path / "opt.sqlite"
    monkeypatch.setenv(history.ENV_VAR, "postgresql://mtk@db.region.local/mtk")
    assert history.history_path() == "postgresql://mtk@db.region.local/mtk"
    assert history.history_path("postgres://scanner@db/x") == "postgres://scanner@db/x"


def test_a_password_on_the_command_line_is_warned_about(capsys):
    history.history_path("postgresql://mtk:Pw-Canary-7@db/mtk")
    err = capsys.readouterr().err
    assert "PGPASSFILE" in err and "Pw-Canary-7" not in err
    history.history_path("postgresql://mtk@db/mtk")
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://mtk:s3cr%40t@db.local:5432/mtk", "postgresql://mtk:********@db.local:5432/mtk"),
    ("postgresql://mtk@db/mtk?password=s3cret&sslmode=require",
     "postgresql://mtk@db/mtk?password=********&sslmode=require"),
    ("postgresql://mtk@db/mtk", "postgresql://mtk@db/mtk"),
    ("/var/lib/mtk/history.sqlite", "/var/lib/mtk/history.sqlite"),
])
def test_redact_location(url, shown):
    assert historydb.redact_location(url) == shown


def test_both_backends_have_every_migration():
    assert len(historydb._SQLITE_MIGRATIONS) == len(historydb._POSTGRESQL_MIGRATIONS) == historydb.SCHEMA_VERSION


def test_drift_between_two_scans(wm1, history_location):
    db = history_location
    first = copy.deepcopy(wm1.facts)
    first["defender"]["status"]["RealTimeProtectionEnabled"] = False
    history.record(scan_of(wm1, {"a": first, "b": copy.deepcopy(wm1.facts)}), db)

    second = copy.deepcopy(wm1.facts)  # real-time protection fixed ...
    second["firewall"]["profiles"]["Public"]["default_inbound_action"] = "allow"  # ... firewall opened
    history.record(scan_of(wm1, {"a": second, "b": copy.deepcopy(wm1.facts)}), db, scanner="awx job 17")

    drift = {d.host: d for d in history.drift(db)}
    assert [(c.control, c.before, c.after) for c in drift["a"].changes] == [
        ("T-AV", "fail", "pass"), ("T-FW-IN", "pass", "fail")]
    assert drift["a"].changes[1].message == "not as expected in: Public"
    assert drift["b"].changes == []
    assert drift["a"].previous_scan["id"] < drift["a"].latest_scan["id"]
    assert drift["a"].latest_scan["scanner"] == "awx job 17"
    assert "@" in drift["a"].previous_scan["scanner"]  # user@host of the process by default
    only_a = history.drift(db, host="A")  # host names compare case-insensitively
    assert [d.host for d in only_a] == ["a"]


def test_drift_of_a_host_seen_once(wm1, history_location):
    db = history_location
    history.record(scan_of(wm1, {"a": copy.deepcopy(wm1.facts)}), db)
    history.record(scan_of(wm1, {"b": copy.deepcopy(wm1.facts)}), db)
    drift = {d.host: d for d in history.drift(db)}
    assert drift["b"].previous_scan is None
    assert drift["a"].previous_scan is None  # the second scan did not include a


def test_unreachable_host_reports_status_change_only(wm1, history_location):
    db = history_location
    history.record(scan_of(wm1, {"a": copy.deepcopy(wm1.facts)}), db)
    history.record(scan_of(wm1, {"a": None}), db)
    [entry] = history.drift(db)
    assert (entry.status_before, entry.status_after, entry.changes) == ("ok", "unreachable", [])


def test_history_stores_redacted_evidence_only(wm1, history_location):
    facts = copy.deepcopy(wm1.facts)
    facts["registry"]["HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon"]["DefaultPassword"] = {
        "type": "REG_SZ", "value": "Canary-Secret-1"}
    history.record(scan_of(wm1, {"a": facts}), history_location)
    assert rows(history_location, "SELECT actual FROM results WHERE control_id = 'T-AUTOLOGON-PW'") == \
        [('"<redacted>"',)]
    stored = rows(history_location, "SELECT message, expected, actual FROM results")
    assert "Canary-Secret-1" not in repr(stored)
    if isinstance(history_location, Path):
        assert b"Canary-Secret-1" not in history_location.read_bytes()


def test_unknown_host(wm1, history_location):
    history.record(scan_of(wm1, {"a": copy.deepcopy(wm1.facts)}), history_location)
    with pytest.raises(InputError, match="no scan of host 'zz'"):
        history.drift(history_location, host="zz")


def test_a_scan_is_stored_whole(wm1, history_location):
    scan = scan_of(wm1, {"a": copy.deepcopy(wm1.facts), "b": None})
    scan_id = history.record(scan, history_location)
    controls = len(scan.hosts[0].controls)
    assert rows(history_location, "SELECT id, exit_code FROM scans") == [(scan_id, 3)]
    assert rows(history_location, "SELECT host, status FROM hosts ORDER BY host") == [("a", "ok"), ("b", "unreachable")]
    assert rows(history_location, "SELECT count(*) FROM results") == [(controls,)]


def _record_many(location, scan, count: int, barrier) -> None:
    barrier.wait()  # every writer starts at the same moment
    for _ in range(count):
        history.record(scan, location, scanner=f"writer {multiprocessing.current_process().name}")


def test_concurrent_scanners_lose_nothing(wm1, history_location):
    """Several scanners (processes) store scans at the same time: every scan, host and control is kept."""
    writers, scans_each = 4, 3
    scan = scan_of(wm1, {f"h{i}": copy.deepcopy(wm1.facts) for i in range(5)})
    scan.to_report()
    history.record(scan, history_location)  # the schema exists before the race (migrations have their own test)
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(writers)
    processes = [context.Process(target=_record_many, args=(history_location, scan, scans_each, barrier),
                                 name=f"w{i}") for i in range(writers)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
    assert [p.exitcode for p in processes] == [0] * writers
    total = 1 + writers * scans_each
    controls = len(scan.hosts[0].controls)
    assert rows(history_location, "SELECT count(DISTINCT id) FROM scans") == [(total,)]
    assert rows(history_location, "SELECT count(*) FROM hosts") == [(total * 5,)]
    assert rows(history_location, "SELECT count(*) FROM results") == [(total * 5 * controls,)]
    assert rows(history_location, "SELECT count(DISTINCT scanner) FROM scans WHERE scanner LIKE 'writer %'") == \
        [(writers,)]


def _open_and_record(location, scan, barrier) -> None:
    barrier.wait()
    history.record(scan, location)


def test_concurrent_first_use_migrates_once(wm1, history_location):
    """Scanners that find an empty database at the same moment create the schema once, then all store."""
    scan = scan_of(wm1, {"a": copy.deepcopy(wm1.facts)})
    scan.to_report()
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(3)
    processes = [context.Process(target=_open_and_record, args=(history_location, scan, barrier)) for _ in range(3)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
    assert [p.exitcode for p in processes] == [0, 0, 0]
    assert rows(history_location, "SELECT count(*) FROM scans") == [(3,)]
    assert rows(history_location, "SELECT value FROM meta WHERE key = 'schema_version'") == \
        [(str(historydb.SCHEMA_VERSION),)]


def test_a_history_newer_than_mtk_is_refused(wm1, history_location):
    history.record(scan_of(wm1, {"a": copy.deepcopy(wm1.facts)}), history_location)
    with historydb.open_store(history_location) as store, store.transaction():
        store.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(InputError, match="history schema 99 is newer than this mtk"):
        history.drift(history_location)


# SQLite only ------------------------------------------------------------------------------------

V1_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE scans (id INTEGER PRIMARY KEY AUTOINCREMENT, started TEXT NOT NULL, finished TEXT NOT NULL,
    evaluated_on TEXT NOT NULL, command TEXT NOT NULL, tool_version TEXT NOT NULL, catalog_version TEXT,
    source TEXT NOT NULL, exit_code INTEGER NOT NULL);
CREATE TABLE hosts (scan_id INTEGER NOT NULL REFERENCES scans(id) ON DELETE CASCADE, host TEXT NOT NULL,
    status TEXT NOT NULL, verdict TEXT NOT NULL, error TEXT, declared_class TEXT, observed_type TEXT,
    nameplate_class TEXT, profile_id TEXT, profile_version INTEGER, summary TEXT NOT NULL, PRIMARY KEY (scan_id, host));
CREATE TABLE results (scan_id INTEGER NOT NULL, host TEXT NOT NULL, control_id TEXT NOT NULL, area TEXT NOT NULL,
    title TEXT NOT NULL, status TEXT NOT NULL, message TEXT, expected TEXT, actual TEXT,
    PRIMARY KEY (scan_id, host, control_id),
    FOREIGN KEY (scan_id, host) REFERENCES hosts(scan_id, host) ON DELETE CASCADE);
CREATE INDEX hosts_by_name ON hosts (host, scan_id);
INSERT INTO meta VALUES ('schema_version', '1');
INSERT INTO scans VALUES (1, '2026-11-01T10:00:00Z', '2026-11-01T10:01:00Z', '2026-11-01', 'scan', '0.1.0',
    '2026.11', '{}', 0);
INSERT INTO hosts VALUES (1, 'a', 'ok', 'pass', NULL, 'WM1', 'WM', 'WM1', 'sonora-test', 3, '{}');
INSERT INTO results VALUES (1, 'a', 'T-AV', 'antivirus', 'AV on', 'pass', NULL, 'true', 'true');
"""


def test_a_version_1_sqlite_history_is_migrated_and_kept(wm1, tmp_path):
    """A history written before migrations existed keeps its scans and gains the new column."""
    db = tmp_path / "old.sqlite"
    with sqlite3.connect(db) as conn:
        conn.executescript(V1_SCHEMA)
    first = copy.deepcopy(wm1.facts)
    first["defender"]["status"]["RealTimeProtectionEnabled"] = False
    history.record(scan_of(wm1, {"a": first}), db)
    [entry] = history.drift(db)
    assert entry.previous_scan["id"] == 1 and entry.previous_scan["scanner"] is None
    assert ("T-AV", "pass", "fail") in [(c.control, c.before, c.after) for c in entry.changes]
    assert rows(db, "SELECT value FROM meta") == [(str(historydb.SCHEMA_VERSION),)]


def test_missing_or_corrupt_history_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no scan history"):
        history.drift(tmp_path / "none.sqlite")
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(InputError, match="not a usable history database"):
        history.drift(junk)


def test_record_creates_the_folder(wm1, tmp_path):
    db = tmp_path / "deep" / "er" / "history.sqlite"
    scan_id = history.record(scan_of(wm1, {"a": copy.deepcopy(wm1.facts)}), db)
    assert scan_id == 1 and Path(db).is_file()


# PostgreSQL only --------------------------------------------------------------------------------

def test_an_unreachable_database_is_one_line_without_the_password(postgres_cluster):
    url = postgres_cluster.url("no_such_db", password="Pw-Canary-9")
    with pytest.raises(InputError) as caught:
        history.drift(url)
    [problem] = caught.value.problems
    text = str(problem)
    assert "Pw-Canary-9" not in text and "********" in text
    assert "no_such_db" in text and "\n" not in text


def test_missing_psycopg_is_a_clear_error(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_psycopg(name, *args, **kwargs):
        if name == "psycopg":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_psycopg)
    with pytest.raises(InputError, match=r"pip install 'mt-eklient\[postgresql\]'"):
        history.drift("postgresql://mtk@db/mtk")


def _drift_cli(db: Path, *args: str):
    import subprocess
    import sys
    return subprocess.run([sys.executable, "-m", "mt_eklient.cli", "drift", "--history", str(db), *args],
                          capture_output=True, text=True, check=False)


def test_drift_exits_1_when_something_regressed(wm1, tmp_path):
    db = tmp_path / "h.sqlite"
    opened = copy.deepcopy(wm1.facts)
    opened["firewall"]["profiles"]["Public"]["default_inbound_action"] = "allow"
    history.record(scan_of(wm1, {"a": copy.deepcopy(wm1.facts), "b": opened}), db)
    history.record(scan_of(wm1, {"a": copy.deepcopy(wm1.facts), "b": copy.deepcopy(wm1.facts)}), db)
    # b's firewall was fixed: a change, not a regression.
    run = _drift_cli(db)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "T-FW-IN" in run.stdout and "REGRESSED" not in run.stdout

    history.record(scan_of(wm1, {"a": opened, "b": copy.deepcopy(wm1.facts)}), db)
    run = _drift_cli(db)
    assert run.returncode == 1, run.stdout + run.stderr
    [line] = [line for line in run.stdout.splitlines() if "T-FW-IN" in line]
    assert "pass -> fail" in line and "REGRESSED" in line
    import json
    entries = {e["host"]: e for e in json.loads(_drift_cli(db, "--json").stdout)}
    assert entries["a"]["regressed"] and not entries["b"]["regressed"]
    assert [c["regressed"] for c in entries["a"]["changes"]] == [True]
    assert _drift_cli(db, "--host", "b").returncode == 0


def test_drift_exits_1_when_a_host_dropped_out(wm1, tmp_path):
    db = tmp_path / "h.sqlite"
    history.record(scan_of(wm1, {"a": copy.deepcopy(wm1.facts)}), db)
    history.record(scan_of(wm1, {"a": None}), db)
    assert _drift_cli(db).returncode == 1
    assert _drift_cli(db, "--host", "zz").returncode == 2
