"""Per-host state files: read, locked read-modify-write, atomic replace, and the journal.

Ansible runs its forks in parallel and each stand-in call is a read-modify-write of one host's
JSON, so every write happens under an exclusive fcntl lock on `<host>.lock`; the JSON itself is
replaced atomically (temp file + os.replace) so a reader never sees half a file.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from . import paths

State = dict[str, Any]


class LabNotUp(Exception):
    """No state for a host: `mtk lab up` has not been run (or ran with another MTK_LAB_DIR)."""

    def __init__(self, host: str):
        super().__init__(f"the simulated lab has no state for host {host!r} in {paths.lab_dir()}: "
                         "run `mtk lab up` first")
        self.host = host


@contextmanager
def locked(host: str, shared: bool = False) -> Iterator[None]:
    lock = paths.lock_path(host)
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read(host: str) -> State:
    path = paths.state_path(host)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LabNotUp(host) from None


def _write(host: str, state: State) -> None:
    path = paths.state_path(host)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{host}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(state, handle, indent=1, sort_keys=True)
            handle.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def exists(host: str) -> bool:
    return paths.state_path(host).is_file()


def read_state(host: str) -> State:
    with locked(host, shared=True):
        return _read(host)


def write_state(host: str, state: State) -> None:
    with locked(host):
        _write(host, state)


def canonical(state: State) -> str:
    """Byte-stable form, to tell whether a call really changed anything."""
    return json.dumps(state, sort_keys=True)


class Transaction:
    """A locked read-modify-write of one host. `commit=False` (check mode) never writes."""

    def __init__(self, host: str, state: State):
        self.host = host
        self.state = state
        self._before = canonical(state)
        self.commit = True

    @property
    def modified(self) -> bool:
        return canonical(self.state) != self._before


@contextmanager
def transaction(host: str) -> Iterator[Transaction]:
    with locked(host):
        txn = Transaction(host, _read(host))
        yield txn
        if txn.commit and txn.modified:
            _write(host, txn.state)


def append_journal(host: str, entry: dict[str, Any]) -> None:
    """Append one line. Call with the host's lock held (inside `transaction`)."""
    path = paths.journal_path(host)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry, sort_keys=True) + "\n")


def read_journal(host: str) -> list[dict[str, Any]]:
    path = paths.journal_path(host)
    with locked(host, shared=True):
        if not path.is_file():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def reset(host: str, state: State) -> None:
    """Replace the state and empty the journal (`mtk lab up` / `reset`)."""
    with locked(host):
        _write(host, state)
        paths.journal_path(host).write_text("", encoding="utf-8")


def hosts() -> list[str]:
    directory = paths.lab_dir()
    if not directory.is_dir():
        return []
    return sorted(p.stem for p in directory.glob("*.json"))
