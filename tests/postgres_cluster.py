"""A throw-away PostgreSQL cluster for the tests: Debian's `postgresql` package (initdb, pg_ctl),
a data directory under a temporary directory, a Unix socket only (no TCP port), trust auth.

.ci/run installs the package. Without it the history tests that need a server are skipped
locally, and fail in CI (CI or MTK_REQUIRE_POSTGRESQL set): they must not silently skip there.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

USER = "mtk_test"


def _bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class Cluster:
    """initdb + pg_ctl start on construction; `stop()` removes everything."""

    def __init__(self) -> None:
        bindir = _bindir()
        if bindir is None:
            message = "PostgreSQL server binaries not found (Debian: apt-get install postgresql; .ci/run does)"
            if os.environ.get("CI") or os.environ.get("MTK_REQUIRE_POSTGRESQL"):
                pytest.fail(message)
            pytest.skip(message)
        self.bindir = bindir
        # Short path: a Unix socket path must stay under ~107 characters.
        self.root = Path(tempfile.mkdtemp(prefix="mtk-pg-"))
        self.data, self.socket_dir, self.log = self.root / "data", self.root / "sock", self.root / "server.log"
        self.socket_dir.mkdir()
        # initdb refuses to run as root: the tests (CI runs as root) run the server as Debian's postgres user.
        self._runas: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            for path in (self.root, self.socket_dir):
                os.chown(path, owner.pw_uid, owner.pw_gid)
            self._runas = ["runuser", "-u", "postgres", "--"]
        self._names = itertools.count(1)
        self._run("initdb", "-D", str(self.data), "-U", USER, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
        options = f"-k {self.socket_dir} -c listen_addresses='' -c fsync=off -c max_connections=80"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def _run(self, tool: str, *args: str) -> None:
        result = subprocess.run([*self._runas, str(self.bindir / tool), *args], capture_output=True, text=True,
                                check=False, cwd=self.root)
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.is_file() else ""
            raise RuntimeError(f"{tool} failed ({result.returncode}): {result.stderr[-2000:]}\n{log}")

    def url(self, database: str = "postgres", password: str | None = None) -> str:
        secret = f":{password}" if password else ""
        return f"postgresql://{USER}{secret}@/{database}?host={self.socket_dir}"

    def new_database(self) -> str:
        """A fresh, empty database; returns its URL."""
        import psycopg

        name = f"history_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
