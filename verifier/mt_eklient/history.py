"""Scan history, and drift between scans.

Every scan (`mtk verify`, `mtk scan`, the `playbooks/scan.yml` job) is stored unless `--no-history`
is given: the scan's metadata, each host's status and class, and each control's status with its
(already redacted) evidence. `drift()` compares, per host, its latest scan with the one before.

Where the history is: `--history LOCATION`, else `$MTK_HISTORY`, else `.mtk/history.sqlite` in the
current directory. A location is a SQLite file, or a `postgresql://` URL: one database that several
scanners (AWX jobs on many execution nodes, technicians' laptops) write to at the same time. The
storage itself (both backends, schema migrations) is `historydb.py`.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import InputError
from .historydb import SCHEMA_VERSION, Store, is_url, open_store, redact_location, url_password

if TYPE_CHECKING:
    from .scanresult import ScanResult

DEFAULT_HISTORY = Path(".mtk") / "history.sqlite"
ENV_VAR = "MTK_HISTORY"
OPTION_HELP = (f"scan history: a SQLite file, or a postgresql://USER@HOST/DB URL shared by several scanners (password "
               f"from PGPASSFILE or PGPASSWORD, never in the URL); default ${ENV_VAR}, else {DEFAULT_HISTORY}")
__all__ = ["DEFAULT_HISTORY", "ENV_VAR", "OPTION_HELP", "SCHEMA_VERSION", "Change", "HostDrift", "drift", "history_path",
           "record", "redact_location"]

Location = str | Path


def history_path(option: Location | None = None) -> Location:
    """--history LOCATION, else $MTK_HISTORY, else .mtk/history.sqlite in the current directory.

    A PostgreSQL URL is returned as given (a string); anything else is a SQLite path. A password in
    `option` (a command line anyone on the machine can read) draws a warning on stderr."""
    if option:
        if url_password(option):
            print("mtk: warning: the --history URL carries a password, which other users can read in the process "
                  "list: use PGPASSFILE or PGPASSWORD instead", file=sys.stderr)
        return str(option) if is_url(option) else Path(option)
    value = os.environ.get(ENV_VAR)
    if value:
        return value if is_url(value) else Path(value)
    return Path.cwd() / DEFAULT_HISTORY


def default_scanner() -> str:
    """Who stored a scan: user@host of this process (the playbook passes its AWX job instead)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


class ScanRecorder:
    """Stores one scan as its hosts arrive, in one transaction: a scan that stops half-way stores
    nothing, and scanners writing at the same time each get their own id. Used as a report writer
    (reports.stream)."""

    def __init__(self, location: Location, meta: dict[str, Any], scanner: str | None = None):
        self.store = open_store(location)
        self._transaction = self.store.transaction()
        self._transaction.__enter__()
        self._open = True
        row = self.store.one(
            "INSERT INTO scans (started, finished, evaluated_on, command, tool_version, catalog_version, source,"
            " exit_code, scanner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (meta["started"], meta["started"], meta["evaluated_on"], meta["command"], meta["tool_version"], None,
             _dump(meta["source"]), -1, scanner or default_scanner()))
        self.scan_id = int(row[0]) if row else 0

    def add(self, host: dict[str, Any]) -> None:
        profile = host.get("profile") or {}
        # A host listed twice in one scan keeps its first result (one row per scan and host).
        self.store.execute(
            "INSERT INTO hosts (scan_id, host, status, verdict, error, declared_class, observed_type,"
            " nameplate_class, profile_id, profile_version, summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (self.scan_id, host["host"], host["status"], host["verdict"], host["error"], host["declared_class"],
             host["observed_type"], host["nameplate_class"], profile.get("id"), profile.get("version"),
             _dump(host["summary"])))
        self.store.executemany(
            "INSERT INTO results (scan_id, host, control_id, area, title, status, message, expected, actual)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [(self.scan_id, host["host"], c["id"], c["area"], c["title"], c["status"], c["message"],
              _dump(c["expected"]), _dump(c["actual"])) for c in host["controls"]])

    def finish(self, meta: dict[str, Any], summary: dict[str, Any]) -> None:
        self.store.execute("UPDATE scans SET finished = ?, catalog_version = ?, source = ?, exit_code = ? WHERE id = ?",
                           (meta["finished"], meta["catalog_version"], _dump(meta["source"]), summary["exit_code"],
                            self.scan_id))
        self._open = False
        self._transaction.__exit__(None, None, None)  # commits

    def close(self) -> None:
        if self._open:  # stopped before finish(): store nothing
            self._open = False
            stopped = RuntimeError("scan stopped before it finished")
            self._transaction.__exit__(RuntimeError, stopped, None)  # rolls back
        self.store.close()


def record(scan: ScanResult, location: Location, scanner: str | None = None) -> int:
    """Store one scan in one transaction; returns its id. Evidence is taken from the (scrubbed) JSON
    report."""
    report = scan.to_report()
    recorder = ScanRecorder(location, report["scan"], scanner)
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

    @property
    def regressed(self) -> bool:
        """The status got worse: now failing or unread, and it was not before (passing, waived,
        not applicable, or a control the previous scan did not have)."""
        return self.after in NOT_PASSING and self.before not in NOT_PASSING


NOT_PASSING = ("fail", "error")


@dataclass
class HostDrift:
    host: str
    latest_scan: dict[str, Any]
    previous_scan: dict[str, Any] | None  # None: only one scan of this host so far
    status_before: str | None
    status_after: str
    changes: list[Change] = field(default_factory=list)

    @property
    def regressed(self) -> bool:
        """A control regressed, or a host evaluated in the previous scan could not be in the latest."""
        dropped = self.status_before == "ok" and self.status_after != "ok"
        return dropped or any(c.regressed for c in self.changes)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["regressed"] = self.regressed
        for change, data in zip(self.changes, out["changes"]):
            data["regressed"] = change.regressed
        return out


def _scan_info(store: Store, scan_id: int, host: str) -> dict[str, Any]:
    started, finished, command, scanner = store.one(
        "SELECT started, finished, command, scanner FROM scans WHERE id = ?", (scan_id,)) or (None,) * 4
    verdict, declared = store.one(
        "SELECT verdict, declared_class FROM hosts WHERE scan_id = ? AND host = ?", (scan_id, host)) or (None, None)
    return {"id": scan_id, "started": started, "finished": finished, "command": command, "scanner": scanner,
            "verdict": verdict, "declared_class": declared}


def _results(store: Store, scan_id: int, host: str) -> dict[str, tuple[str, str, str, str | None]]:
    rows = store.rows("SELECT control_id, title, area, status, message FROM results WHERE scan_id = ? AND host = ?",
                      (scan_id, host))
    return {r[0]: (r[1], r[2], r[3], r[4]) for r in rows}


def _status(store: Store, scan_id: int, host: str) -> str:
    row = store.one("SELECT status FROM hosts WHERE scan_id = ? AND host = ?", (scan_id, host))
    return str(row[0]) if row else "error"


def drift(location: Location, host: str | None = None) -> list[HostDrift]:
    """Per host, the controls whose status changed between its latest scan and the one before.

    When the host could not be evaluated in one of the two scans (unreachable, error), only the
    host status change is listed: its controls were not judged, so nothing is known to have drifted.
    """
    with open_store(location, create=False) as store:
        return _drift(store, host)


def _drift(store: Store, host: str | None) -> list[HostDrift]:
    if host is not None:
        names = [r[0] for r in store.rows("SELECT DISTINCT host FROM hosts WHERE lower(host) = lower(?)", (host,))]
        if not names:
            raise InputError.single("--host", f"no scan of host {host!r} in the history")
    else:
        names = sorted(r[0] for r in store.rows("SELECT DISTINCT host FROM hosts"))
    out = []
    for name in names:
        ids = [r[0] for r in store.rows(
            "SELECT scan_id FROM hosts WHERE host = ? ORDER BY scan_id DESC LIMIT 2", (name,))]
        latest = _scan_info(store, ids[0], name)
        latest_status = _status(store, ids[0], name)
        if len(ids) < 2:
            out.append(HostDrift(name, latest, None, None, latest_status))
            continue
        previous = _scan_info(store, ids[1], name)
        previous_status = _status(store, ids[1], name)
        entry = HostDrift(name, latest, previous, previous_status, latest_status)
        if latest_status == "ok" and previous_status == "ok":
            before, after = _results(store, ids[1], name), _results(store, ids[0], name)
            for control in sorted(set(before) | set(after)):
                old, new = before.get(control), after.get(control)
                if old and new and old[2] == new[2]:
                    continue
                title, area = (new or old)[0], (new or old)[1]  # type: ignore[index]
                entry.changes.append(Change(control, title, area, old[2] if old else None, new[2] if new else None,
                                            new[3] if new else None))
        out.append(entry)
    return out


def stored_reports(location: Location) -> list[dict[str, Any]]:
    """Every stored scan, oldest first, shaped like the JSON report (schemas/report.schema.json) as
    far as the history keeps it: `scan` metadata (plus `id`), and per host its status, class,
    profile id/version and controls (id, area, title, status, message, expected, actual). Not kept:
    severities, references, waivers, the system summary. The fleet overview reads history through this."""
    with open_store(location, create=False) as store:
        return _stored_reports(store)


def _stored_reports(store: Store) -> list[dict[str, Any]]:
    # Insertion order of a scan's results: SQLite's rowid, PostgreSQL's physical row order.
    inserted = "rowid" if store.dialect == "sqlite" else "ctid"
    out = []
    scans = store.rows("SELECT id, started, finished, evaluated_on, command, tool_version, catalog_version, source,"
                       " exit_code FROM scans ORDER BY id")
    for scan_id, started, finished, evaluated_on, command, tool_version, catalog_version, source, code in scans:
        controls: dict[str, list[dict[str, Any]]] = {}
        for host, cid, area, title, status, message, expected, actual in store.rows(
                "SELECT host, control_id, area, title, status, message, expected, actual FROM results"
                f" WHERE scan_id = ? ORDER BY {inserted}", (scan_id,)):
            controls.setdefault(host, []).append({
                "id": cid, "area": area, "title": title, "status": status, "message": message,
                "expected": json.loads(expected) if expected else None,
                "actual": json.loads(actual) if actual else None})
        hosts = [{"host": host, "status": status, "verdict": verdict, "error": error, "declared_class": declared,
                  "observed_type": observed, "nameplate_class": nameplate,
                  "profile": {"id": pid, "version": pversion} if pid else None, "summary": json.loads(summary),
                  "controls": controls.get(host, [])}
                 for host, status, verdict, error, declared, observed, nameplate, pid, pversion, summary in store.rows(
                     "SELECT host, status, verdict, error, declared_class, observed_type, nameplate_class, profile_id,"
                     " profile_version, summary FROM hosts WHERE scan_id = ? ORDER BY host", (scan_id,))]
        out.append({"scan": {"id": scan_id, "started": started, "finished": finished, "evaluated_on": evaluated_on,
                             "command": command, "tool_version": tool_version, "catalog_version": catalog_version,
                             "source": json.loads(source)},
                    "summary": {"hosts": len(hosts), "exit_code": code}, "hosts": hosts})
    return out
