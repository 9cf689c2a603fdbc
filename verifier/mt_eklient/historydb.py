"""The scan history's storage: one open database, SQLite or PostgreSQL, behind one small interface.

`history.py` decides what is stored and how drift is computed; this module only knows how to open
either database, bring its schema up to date (numbered migrations, applied once, under a lock so
scanners starting together do not race) and run SQL written once for both: `?` placeholders,
portable statements. A location is a file path (SQLite) or a `postgresql://` URL (psycopg 3).

A URL may carry a password, but it should not: every message names the location through
`redact_location`, and docs/awx.md shows PGPASSFILE / PGPASSWORD instead.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .errors import InputError
from .filemodes import ensure_private

URL_SCHEMES = ("postgresql://", "postgres://")
REDACTED = "********"
# Seconds a writer waits for another scanner's transaction (SQLite's lock, PostgreSQL's connect).
WAIT_SECONDS = 60
# Any constant: the key of the transaction-scoped advisory lock that serialises PostgreSQL migrations.
_MIGRATION_LOCK = 0x6D746B68  # "mtkh"

# Migration N brings the schema from version N-1 to N; each list runs in one transaction.
# Version 1 is the schema SQLite histories had before migrations existed: they start at 2.
_SQLITE_MIGRATIONS: list[list[str]] = [
    [
        ("CREATE TABLE IF NOT EXISTS scans (id INTEGER PRIMARY KEY AUTOINCREMENT, started TEXT NOT NULL,"
         " finished TEXT NOT NULL, evaluated_on TEXT NOT NULL, command TEXT NOT NULL, tool_version TEXT NOT NULL,"
         " catalog_version TEXT, source TEXT NOT NULL, exit_code INTEGER NOT NULL)"),
        ("CREATE TABLE IF NOT EXISTS hosts (scan_id INTEGER NOT NULL REFERENCES scans(id) ON DELETE CASCADE,"
         " host TEXT NOT NULL, status TEXT NOT NULL, verdict TEXT NOT NULL, error TEXT, declared_class TEXT,"
         " observed_type TEXT, nameplate_class TEXT, profile_id TEXT, profile_version INTEGER,"
         " summary TEXT NOT NULL, PRIMARY KEY (scan_id, host))"),
        ("CREATE TABLE IF NOT EXISTS results (scan_id INTEGER NOT NULL, host TEXT NOT NULL,"
         " control_id TEXT NOT NULL, area TEXT NOT NULL, title TEXT NOT NULL, status TEXT NOT NULL, message TEXT,"
         " expected TEXT, actual TEXT, PRIMARY KEY (scan_id, host, control_id),"
         " FOREIGN KEY (scan_id, host) REFERENCES hosts(scan_id, host) ON DELETE CASCADE)"),
        "CREATE INDEX IF NOT EXISTS hosts_by_name ON hosts (host, scan_id)",
    ],
    ["ALTER TABLE scans ADD COLUMN scanner TEXT"],
]
_POSTGRESQL_MIGRATIONS: list[list[str]] = [
    [
        ("CREATE TABLE scans (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, started TEXT NOT NULL,"
         " finished TEXT NOT NULL, evaluated_on TEXT NOT NULL, command TEXT NOT NULL, tool_version TEXT NOT NULL,"
         " catalog_version TEXT, source TEXT NOT NULL, exit_code INTEGER NOT NULL)"),
        ("CREATE TABLE hosts (scan_id BIGINT NOT NULL REFERENCES scans(id) ON DELETE CASCADE,"
         " host TEXT NOT NULL, status TEXT NOT NULL, verdict TEXT NOT NULL, error TEXT, declared_class TEXT,"
         " observed_type TEXT, nameplate_class TEXT, profile_id TEXT, profile_version INTEGER,"
         " summary TEXT NOT NULL, PRIMARY KEY (scan_id, host))"),
        ("CREATE TABLE results (scan_id BIGINT NOT NULL, host TEXT NOT NULL,"
         " control_id TEXT NOT NULL, area TEXT NOT NULL, title TEXT NOT NULL, status TEXT NOT NULL, message TEXT,"
         " expected TEXT, actual TEXT, PRIMARY KEY (scan_id, host, control_id),"
         " FOREIGN KEY (scan_id, host) REFERENCES hosts(scan_id, host) ON DELETE CASCADE)"),
        "CREATE INDEX hosts_by_name ON hosts (host, scan_id)",
    ],
    ["ALTER TABLE scans ADD COLUMN scanner TEXT"],
]
# Both backends are always at the same version (a test checks).
SCHEMA_VERSION = len(_SQLITE_MIGRATIONS)


def is_url(location: str | Path) -> bool:
    return isinstance(location, str) and location.lower().startswith(URL_SCHEMES)


def url_password(location: str | Path) -> str | None:
    """The password a PostgreSQL URL carries (in its user info or a `password=` parameter), else None."""
    if not is_url(location):
        return None
    parts = urlsplit(str(location))
    query = dict(parse_qsl(parts.query))
    return parts.password or query.get("password") or None


def redact_location(location: str | Path) -> str:
    """The location as it may be printed: a URL's password replaced by ********."""
    if not is_url(location) or url_password(location) is None:
        return str(location)
    parts = urlsplit(str(location))
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, _, hostport = netloc.rpartition("@")
        netloc = f"{userinfo.split(':', 1)[0]}:{REDACTED}@{hostport}"
    query = urlencode([(k, REDACTED if k == "password" else v) for k, v in parse_qsl(parts.query)], safe="/*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


class Store:
    """One open history database. SQL uses `?` placeholders whatever the backend."""

    def __init__(self, connection: Any, dialect: str, label: str):
        self.connection = connection
        self.dialect = dialect  # sqlite | postgresql
        self.label = label  # the location, safe to print

    def _sql(self, sql: str) -> str:
        if self.dialect == "postgresql":  # psycopg's placeholders are %s, so a literal % is %%
            return sql.replace("%", "%%").replace("?", "%s")
        return sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.connection.execute(self._sql(sql), params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        if self.dialect == "postgresql":
            with self.connection.cursor() as cursor:
                cursor.executemany(self._sql(sql), rows)
        else:
            self.connection.executemany(sql, rows)

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.execute(sql, params).fetchall()]

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        row = self.execute(sql, params).fetchone()
        return tuple(row) if row is not None else None

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """A write transaction: all of it is stored, or none of it. SQLite takes the write lock at
        once (BEGIN IMMEDIATE), so concurrent scanners queue instead of failing half-way."""
        if self.dialect == "postgresql":
            with self.connection.transaction():
                yield self
            return
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(location: str | Path, create: bool = True) -> Store:
    """Open the history at `location` and migrate its schema. InputError (one line, no password)
    when it cannot be opened, is not a history, or is newer than this mtk."""
    if is_url(location):
        return _open_postgresql(str(location))
    return _open_sqlite(Path(location), create)


def _open_sqlite(path: Path, create: bool) -> Store:
    if not create and not path.is_file():
        raise InputError.single(str(path), "no scan history here (run mtk verify or mtk scan first, or give --history)")
    try:
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
            ensure_private(path)  # 0600: SQLite gives its journal files the database's mode
        # isolation_level None: transactions are explicit (Store.transaction), never implicit.
        connection = sqlite3.connect(path, timeout=WAIT_SECONDS, isolation_level=None)
    except OSError as err:
        raise InputError.single(str(path), f"cannot open history: {err.strerror or err}") from None
    except sqlite3.DatabaseError as err:
        raise InputError.single(str(path), f"cannot open history: {err}") from None
    store = Store(connection, "sqlite", str(path))
    try:
        connection.execute("PRAGMA foreign_keys = ON")
        with store.transaction():
            _migrate(store, _SQLITE_MIGRATIONS)
    except sqlite3.DatabaseError as err:
        store.close()
        raise InputError.single(str(path), f"not a usable history database: {err}") from None
    except InputError:
        store.close()
        raise
    return store


def _open_postgresql(url: str) -> Store:
    label = redact_location(url)
    try:
        import psycopg
    except ImportError:
        raise InputError.single(label, "a PostgreSQL history needs psycopg 3: pip install 'mt-eklient[postgresql]'") \
            from None
    password = url_password(url)
    try:
        connection = psycopg.connect(url, autocommit=True, connect_timeout=WAIT_SECONDS)
    except psycopg.Error as err:
        raise InputError.single(label, f"cannot connect: {_first_line(err, password)}") from None
    store = Store(connection, "postgresql", label)
    try:
        with store.transaction():
            store.execute("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK,))
            _migrate(store, _POSTGRESQL_MIGRATIONS)
    except psycopg.Error as err:
        store.close()
        raise InputError.single(label, f"not a usable history database: {_first_line(err, password)}") from None
    except InputError:
        store.close()
        raise
    return store


def _first_line(err: Exception, secret: str | None) -> str:
    text = (str(err).strip().splitlines() or [type(err).__name__])[0]
    return text.replace(secret, REDACTED) if secret else text


def _migrate(store: Store, migrations: list[list[str]]) -> None:
    """Apply the migrations the database lacks (caller holds the write lock / transaction)."""
    store.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    row = store.one("SELECT value FROM meta WHERE key = 'schema_version'")
    current = int(row[0]) if row else 0
    if current > len(migrations):
        raise InputError.single(store.label, f"history schema {current} is newer than this mtk understands "
                                f"({len(migrations)}): upgrade mt-eklient")
    for statements in migrations[current:]:
        for statement in statements:
            store.execute(statement)
    if current < len(migrations):
        if row:
            store.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(len(migrations)),))
        else:
            store.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(len(migrations)),))
