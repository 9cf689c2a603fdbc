"""Files that hold evidence about hospital machines are not world-readable.

Reports (JSON, JUnit, HTML) are created 0640 (owner and group, for a team share), the scan history
0600 (owner only): both name hosts, their weaknesses and their waivers. Modes are set explicitly,
so a permissive umask does not widen them; an existing file's mode is narrowed, never widened.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

REPORT_MODE = 0o640
HISTORY_MODE = 0o600


def write_private(path: Path, text: str, mode: int = REPORT_MODE) -> None:
    """Write `text` atomically (a temp file beside it, then rename): never a half-written report."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def ensure_private(path: Path, mode: int = HISTORY_MODE) -> None:
    """Create `path` empty with `mode` if missing, else narrow its permissions to at most `mode`."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        current = stat.S_IMODE(path.stat().st_mode)
        if current & ~mode:
            os.chmod(path, current & mode)
        return
    os.fchmod(fd, mode)
    os.close(fd)
