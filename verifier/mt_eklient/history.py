"""Scan history in a local SQLite database, and drift between scans.

Every scan (`mtk verify`, `mtk scan`) is stored unless `--no-history` is given: the scan's metadata,
each host's status and class, and each control's status with its (already redacted) evidence.
`drift()` compares, per host, its latest scan with the one before.

Where the database is: `--history PATH`, else `$MTK_HISTORY`, else `.mtk/history.sqlite` in the
current directory.
"""

from __future__ import annotations

import json
import os
import sqlite3
from contextlib import closing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import InputError
from .filemodes import ensure_private

if TYPE_CHECKING:
    from .scanresult import ScanResult

DEFAULT_HISTORY = Path(".mtk") / "history.sqlite"
ENV_VAR = "MTK_HISTORY"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS scans (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started TEXT NOT NULL, finished TEXT NOT NULL, evaluated_on TEXT NOT NULL,
    command TEXT NOT NULL, tool_version TEXT NOT NULL, catalog_version TEXT,
    source TEXT NOT NULL, exit_code INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS hosts (
    scan_id INTEGER NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
    host TEXT NOT NULL, status TEXT NOT NULL, verdict TEXT NOT NULL, error TEXT,
    declared_class TEXT, observed_type TEXT, nameplate_class TEXT,
    profile_id TEXT, profile_version INTEGER, summary TEXT NOT NULL,
    PRIMARY KEY (scan_id, host)
);
CREATE TABLE IF NOT EXISTS results (
    scan_id INTEGER NOT NULL, host TEXT NOT NULL, control_id TEXT NOT NULL,
    area TEXT NOT NULL, title TEXT NOT NULL, status TEXT NOT NULL, message TEXT,
    expected TEXT, actual TEXT,
    PRIMARY KEY (scan_id, host, control_id),
    FOREIGN KEY (scan_id, host) REFERENCES hosts(scan_id, host) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS hosts_by_name ON hosts (host, scan_id);
"""


def history_path(option: str | Path | None = None) -> Path:
    """--history PATH, else $MTK_HISTORY, else .mtk/history.sqlite in the current directory."""
    if option:
        return Path(option)
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    return Path.cwd() / DEFAULT_HISTORY


def connect(path: str | Path, create: bool = True) -> sqlite3.Connection:
    path = Path(path)
    if not create and not path.is_file():
        raise InputError.single(str(path), "no scan history here (run mtk verify or mtk scan first, or give --history)")
    try:
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
            ensure_private(path)  # SQLite gives its journal files the database's mode
        db = sqlite3.connect(path)
        db.execute("PRAGMA foreign_keys = ON")
        db.executescript(_SCHEMA)
        row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            db.commit()
        elif int(row[0]) > SCHEMA_VERSION:
            raise InputError.single(str(path), f"history schema {row[0]} is newer than this mtk understands")
    except sqlite3.DatabaseError as err:
        raise InputError.single(str(path), f"not a usable history database: {err}") from None
    except OSError as err:
        raise InputError.single(str(path), f"cannot open history: {err.strerror or err}") from None
    return db


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


class ScanRecorder:
    """Stores one scan as its hosts arrive, in one transaction: a scan that stops half-way stores
    nothing. Used as a report writer (reports.stream)."""

    def __init__(self, path: str | Path, meta: dict[str, Any]):
        self.db = connect(path)  # the first INSERT opens the transaction (sqlite3's default)
        cursor = self.db.execute(
            "INSERT INTO scans (started, finished, evaluated_on, command, tool_version, catalog_version, source,"
            " exit_code) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (meta["started"], meta["started"], meta["evaluated_on"], meta["command"], meta["tool_version"], None,
             _dump(meta["source"]), -1))
        self.scan_id = int(cursor.lastrowid or 0)

    def add(self, host: dict[str, Any]) -> None:
        profile = host.get("profile") or {}
        self.db.execute(
            "INSERT OR REPLACE INTO hosts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (self.scan_id, host["host"], host["status"], host["verdict"], host["error"], host["declared_class"],
             host["observed_type"], host["nameplate_class"], profile.get("id"), profile.get("version"),
             _dump(host["summary"])))
        self.db.executemany(
            "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(self.scan_id, host["host"], c["id"], c["area"], c["title"], c["status"], c["message"],
              _dump(c["expected"]), _dump(c["actual"])) for c in host["controls"]])

    def finish(self, meta: dict[str, Any], summary: dict[str, Any]) -> None:
        self.db.execute("UPDATE scans SET finished = ?, catalog_version = ?, source = ?, exit_code = ? WHERE id = ?",
                        (meta["finished"], meta["catalog_version"], _dump(meta["source"]), summary["exit_code"],
                         self.scan_id))
        self.db.commit()

    def close(self) -> None:
        self.db.rollback()  # nothing to undo after finish()
        self.db.close()


def record(scan: ScanResult, path: str | Path) -> int:
    """Store one scan; returns its id. Evidence is taken from the (scrubbed) JSON report."""
    report = scan.to_report()
    recorder = ScanRecorder(path, report["scan"])
    try:
        for host in report["hosts"]:
            recorder.add(host)
        recorder.finish(report["scan"], report["summary"])
    finally:
        recorder.close()
    return recorder.scan_id


@dataclass
class Change:
    control: str
    title: str
    area: str
    before: str | None  # None: the control was not in the previous scan
    after: str | None  # None: the control is not in the latest scan
    message: str | None = None


@dataclass
class HostDrift:
    host: str
    latest_scan: dict[str, Any]
    previous_scan: dict[str, Any] | None  # None: only one scan of this host so far
    status_before: str | None
    status_after: str
    changes: list[Change] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _scan_info(db: sqlite3.Connection, scan_id: int, host: str) -> dict[str, Any]:
    started, finished, command = db.execute(
        "SELECT started, finished, command FROM scans WHERE id = ?", (scan_id,)).fetchone()
    verdict, declared = db.execute(
        "SELECT verdict, declared_class FROM hosts WHERE scan_id = ? AND host = ?", (scan_id, host)).fetchone()
    return {"id": scan_id, "started": started, "finished": finished, "command": command, "verdict": verdict,
            "declared_class": declared}


def _results(db: sqlite3.Connection, scan_id: int, host: str) -> dict[str, tuple[str, str, str, str | None]]:
    rows = db.execute("SELECT control_id, title, area, status, message FROM results WHERE scan_id = ? AND host = ?",
                      (scan_id, host))
    return {r[0]: (r[1], r[2], r[3], r[4]) for r in rows}


def drift(db: sqlite3.Connection | str | Path, host: str | None = None) -> list[HostDrift]:
    """Per host, the controls whose status changed between its latest scan and the one before.

    When the host could not be evaluated in one of the two scans (unreachable, error), only the
    host status change is listed: its controls were not judged, so nothing is known to have drifted.
    """
    if not isinstance(db, sqlite3.Connection):
        with closing(connect(db, create=False)) as conn:
            return drift(conn, host)
    if host is not None:
        names = [r[0] for r in db.execute("SELECT DISTINCT host FROM hosts WHERE host = ? COLLATE NOCASE", (host,))]
        if not names:
            raise InputError.single("--host", f"no scan of host {host!r} in the history")
    else:
        names = [r[0] for r in db.execute("SELECT DISTINCT host FROM hosts ORDER BY host")]
    out = []
    for name in names:
        ids = [r[0] for r in db.execute(
            "SELECT scan_id FROM hosts WHERE host = ? ORDER BY scan_id DESC LIMIT 2", (name,))]
        latest = _scan_info(db, ids[0], name)
        latest_status = db.execute("SELECT status FROM hosts WHERE scan_id = ? AND host = ?", (ids[0], name)).fetchone()[0]
        if len(ids) < 2:
            out.append(HostDrift(name, latest, None, None, latest_status))
            continue
        previous = _scan_info(db, ids[1], name)
        previous_status = db.execute("SELECT status FROM hosts WHERE scan_id = ? AND host = ?",
                                     (ids[1], name)).fetchone()[0]
        entry = HostDrift(name, latest, previous, previous_status, latest_status)
        if latest_status == "ok" and previous_status == "ok":
            before, after = _results(db, ids[1], name), _results(db, ids[0], name)
            for control in sorted(set(before) | set(after)):
                old, new = before.get(control), after.get(control)
                if old and new and old[2] == new[2]:
                    continue
                title, area = (new or old)[0], (new or old)[1]  # type: ignore[index]
                entry.changes.append(Change(control, title, area, old[2] if old else None, new[2] if new else None,
                                            new[3] if new else None))
        out.append(entry)
    return out


def stored_reports(db: sqlite3.Connection | str | Path) -> list[dict[str, Any]]:
    """Every stored scan, oldest first, shaped like the JSON report (schemas/report.schema.json) as
    far as the history keeps it: `scan` metadata (plus `id`), and per host its status, class,
    profile id/version and controls (id, area, title, status, message, expected, actual). Not kept:
    severities, references, waivers, the system summary. The fleet overview reads history through this."""
    if not isinstance(db, sqlite3.Connection):
        with closing(connect(db, create=False)) as conn:
            return stored_reports(conn)
    out = []
    scans = db.execute("SELECT id, started, finished, evaluated_on, command, tool_version, catalog_version, source,"
                       " exit_code FROM scans ORDER BY id").fetchall()
    for scan_id, started, finished, evaluated_on, command, tool_version, catalog_version, source, code in scans:
        controls: dict[str, list[dict[str, Any]]] = {}
        for host, cid, area, title, status, message, expected, actual in db.execute(
                "SELECT host, control_id, area, title, status, message, expected, actual FROM results"
                " WHERE scan_id = ? ORDER BY rowid", (scan_id,)):
            controls.setdefault(host, []).append({
                "id": cid, "area": area, "title": title, "status": status, "message": message,
                "expected": json.loads(expected) if expected else None,
                "actual": json.loads(actual) if actual else None})
        hosts = [{"host": host, "status": status, "verdict": verdict, "error": error, "declared_class": declared,
                  "observed_type": observed, "nameplate_class": nameplate,
                  "profile": {"id": pid, "version": pversion} if pid else None, "summary": json.loads(summary),
                  "controls": controls.get(host, [])}
                 for host, status, verdict, error, declared, observed, nameplate, pid, pversion, summary in db.execute(
                     "SELECT host, status, verdict, error, declared_class, observed_type, nameplate_class, profile_id,"
                     " profile_version, summary FROM hosts WHERE scan_id = ? ORDER BY host", (scan_id,))]
        out.append({"scan": {"id": scan_id, "started": started, "finished": finished, "evaluated_on": evaluated_on,
                             "command": command, "tool_version": tool_version, "catalog_version": catalog_version,
                             "source": json.loads(source)},
                    "summary": {"hosts": len(hosts), "exit_code": code}, "hosts": hosts})
    return out
