"""Parsed and validated data kept between `mtk` calls: the catalog, the safety floor, profiles,
sites, effective profiles (a profile with its site's values: site.effective_profile) and
`mtk verify`'s resolved baselines (commands/verify.py).

Parsing the catalog's YAML and building its pydantic validators is most of what a short command
such as `mtk verify` of one host costs, and every forked Ansible worker of a build paid it again.
The result of a successful load is pickled in the user's cache directory, keyed by a hash of
everything it was computed from: the input files' bytes (or, for data built in memory, the data
itself), the package's own code (size and mtime of its modules) and the Python and pydantic
versions. Any change gives a new key, so a stale entry is never used; a failed load is never
cached, so errors are always reported afresh.

Safety (docs/security.md): only the owner can read or write the directory (0700) and its files
(0600, written atomically); a file that another user owns or could write is ignored; unpickling
accepts only the named data classes of this package and `datetime`, never code; anything
unexpected is a cache miss, never an error.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import os
import pickle
import stat
import sys
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

CACHE_ENV = "MTK_CACHE_DIR"
# Entries beyond this many (oldest first) are removed when a new one is written.
MAX_ENTRIES = 200
_PACKAGE = Path(__file__).resolve().parent
# Where the code that parses, validates and resolves cached data lives (relative to the package):
# commands/ too, since `mtk verify` caches the baseline it resolves (commands/verify.py).
_CODE_DIRS = (".", "fleet", "data", "catalog", "commands")


def cache_dir() -> Path | None:
    """$MTK_CACHE_DIR, else $XDG_CACHE_HOME/mt-eklient or ~/.cache/mt-eklient; None (no cache) when
    MTK_CACHE_DIR is set empty."""
    configured = os.environ.get(CACHE_ENV)
    if configured is not None:
        return Path(configured) if configured.strip() else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mt-eklient"


@cache
def _code_stamp() -> bytes:
    # pydantic's version from its version.py, without importing pydantic: a baseline from the cache
    # is evaluated without it (commands/verify.py), and importing it is ~0.1 CPU-s.
    spec = importlib.util.find_spec("pydantic")
    origin = Path(spec.origin).parent / "version.py" if spec and spec.origin else None
    digest = hashlib.sha256(f"{sys.version}|".encode() + (origin.read_bytes() if origin else b"no pydantic"))
    for sub in _CODE_DIRS:
        with os.scandir(_PACKAGE / sub) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                if entry.name.endswith((".py", ".yml")) and entry.is_file():
                    info = entry.stat()
                    digest.update(f"{sub}/{entry.name}|{info.st_size}|{info.st_mtime_ns}\n".encode())
    return digest.digest()


def key_of(kind: str, inputs: Iterable[Path], material: bytes = b"") -> str:
    """The cache key of `kind` computed from `inputs` (their paths and bytes) and `material` (data
    already in memory, e.g. a merged profile) by this package's code."""
    digest = hashlib.sha256(_code_stamp() + kind.encode() + b"\0")
    digest.update(f"{len(material)}\n".encode())  # the length first: material and inputs cannot blur
    digest.update(material)
    for path in inputs:
        data = path.read_bytes()
        digest.update(f"\n{path}|{len(data)}\n".encode())  # the path as given: errors and reports name it
        digest.update(data)
    return f"{kind}-{digest.hexdigest()[:40]}"


class _Unpickler(pickle.Unpickler):
    def __init__(self, data: bytes, allowed: frozenset[tuple[str, str]]) -> None:
        super().__init__(io.BytesIO(data))
        self._allowed = allowed

    def find_class(self, module: str, name: str) -> type:
        if (module, name) not in self._allowed:
            raise pickle.UnpicklingError(f"{module}.{name} is not cached data")
        return super().find_class(module, name)  # type: ignore[no-any-return]


_ALWAYS = frozenset({("datetime", "date"), ("datetime", "datetime"), ("datetime", "timedelta")})


def _owned_by_me(info: os.stat_result) -> bool:
    return info.st_uid == os.getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _read(directory: Path, key: str, allowed: frozenset[tuple[str, str]], expected: type[T]) -> T | None:
    path = directory / f"{key}.pickle"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        if not (_owned_by_me(os.fstat(fd)) and _owned_by_me(directory.stat())):
            return None
        data = handle.read()
    try:
        stored_key, value = _Unpickler(data, allowed | _ALWAYS).load()
    except Exception:  # a truncated, foreign or forged file is a miss  # noqa: BLE001
        return None
    return value if stored_key == key and isinstance(value, expected) else None


def _write(directory: Path, key: str, value: object) -> None:
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _owned_by_me(directory.stat()):
            return
        data = pickle.dumps((key, value), protocol=pickle.HIGHEST_PROTOCOL)
        tmp = directory / f".{key}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, directory / f"{key}.pickle")
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _prune(directory)
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        return  # a read-only home or an unpicklable value: work without the cache


def _prune(directory: Path) -> None:
    entries = sorted(directory.glob("*.pickle"), key=lambda p: p.stat().st_mtime)
    for old in entries[:-MAX_ENTRIES]:
        old.unlink(missing_ok=True)


def cached(kind: str, inputs: list[Path], build: Callable[[], T], allowed: frozenset[tuple[str, str]],
           expected: type[T], material: bytes = b"") -> T:
    """`build()`, or its result from an earlier call with the same inputs, material and code.

    `allowed` names every class (module, name) the value may contain; `expected` its type;
    `material` every input of `build` that is not in a file of `inputs`."""
    directory = cache_dir()
    if directory is None:
        return build()
    try:
        key = key_of(kind, inputs, material)
    except OSError:
        return build()  # an unreadable input: build() reports it
    hit = _read(directory, key, allowed, expected)
    if hit is not None:
        return hit
    value = build()
    _write(directory, key, value)
    return value


def classes_of(module: str, *names: str) -> frozenset[tuple[str, str]]:
    return frozenset((module, name) for name in names)
