"""Streamed scan output: each host's results go to every report and to the history as soon as the
host is evaluated, and only counts stay in memory, so a scan of 10,000 hosts needs no more memory
than a scan of ten.

    reports = ScanReports(meta, [JsonWriter(Output("scan.json")), HtmlWriter(Output("scan.html"))])
    for result in results:           # HostResult, as each host is evaluated
        reports.add(result)
    exit_code = reports.finish()     # writes every report, atomically; the summary needs every host

Report formats begin with the summary (verdict counts, exit code), which is known only at the end:
each writer spools its per-host parts to a temporary file (in memory while small) and writes the
whole report on `finish()`, to a temporary file next to the target that replaces it at once, so an
interrupted or failed scan never leaves a half-written report behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol, Self

from ..evaluate import STATUSES
from ..filemodes import REPORT_MODE

if TYPE_CHECKING:
    from ..evaluate import HostResult

VERDICTS = ("pass", "fail", "unreachable", "error")
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3
# Spools stay in memory up to this size (a few hosts), then move to a temporary file.
SPOOL_MEMORY = 1 << 20


def spool() -> IO[str]:
    return tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY, mode="w+", encoding="utf-8", newline="")


def copy_spool(source: IO[str], target: IO[str]) -> None:
    source.seek(0)
    shutil.copyfileobj(source, target)


@dataclass
class Tally:
    """What the summary needs of every host: counts only."""

    hosts: int = 0
    verdicts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(VERDICTS, 0))
    controls: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))
    catalog_versions: set[str] = field(default_factory=set)

    def add(self, host: dict[str, Any]) -> None:
        self.count(host["verdict"], host["summary"], host.get("catalog_version"))

    def count(self, verdict: str, controls: dict[str, int], catalog_version: str | None = None) -> None:
        self.hosts += 1
        self.verdicts[verdict] += 1
        for status, number in controls.items():
            self.controls[status] += number
        if catalog_version:
            self.catalog_versions.add(catalog_version)

    @property
    def exit_code(self) -> int:
        """3 when any host is unreachable or errored (the others are still evaluated and reported),
        else 1 when any control failed or could not be read, else 0. No host at all is a usage error (2)."""
        if not self.hosts:
            return EXIT_USAGE
        if self.verdicts["unreachable"] or self.verdicts["error"]:
            return EXIT_UNREACHABLE
        return EXIT_FAILED if self.verdicts["fail"] else EXIT_OK

    def summary(self) -> dict[str, Any]:
        return {"hosts": self.hosts, "verdicts": dict(self.verdicts), "controls": dict(self.controls),
                "exit_code": self.exit_code}


class Output:
    """A report's destination: a file (written whole at the end, atomically) or an open stream."""

    def __init__(self, target: str | Path | IO[str]):
        self.path = None if hasattr(target, "write") else Path(target)  # type: ignore[arg-type]
        self.stream = None if self.path else target

    def write(self, produce: Any) -> None:
        """Call `produce(stream)`; for a file, into a temporary sibling that then replaces the file."""
        if self.path is None:
            produce(self.stream)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            os.fchmod(handle, REPORT_MODE)  # evidence about hospital machines (filemodes.py)
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
                produce(stream)
            os.replace(temp, self.path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise


class Writer(Protocol):
    def add(self, host: dict[str, Any]) -> None: ...

    def finish(self, meta: dict[str, Any], summary: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


class ScanReports:
    """Hands each host to every writer and keeps the tally; `finish()` completes them all."""

    def __init__(self, meta: dict[str, Any], writers: list[Writer]):
        self.meta = meta
        self.writers = writers
        self.tally = Tally()

    def add(self, result: HostResult) -> dict[str, Any]:
        from .json_report import report_host
        host = report_host(result)
        self.add_host(host)
        return host

    def add_host(self, host: dict[str, Any]) -> None:
        self.tally.add(host)
        for writer in self.writers:
            writer.add(host)

    def final_meta(self, finished: str) -> dict[str, Any]:
        from .json_report import scan_meta
        versions = sorted(self.tally.catalog_versions)
        return scan_meta({**self.meta, "finished": finished,
                          "catalog_version": ", ".join(versions) if versions else None})

    def finish(self, finished: str) -> int:
        meta, summary = self.final_meta(finished), self.tally.summary()
        try:
            for writer in self.writers:
                writer.finish(meta, summary)
        finally:
            self.close()
        return summary["exit_code"]

    def close(self) -> None:
        for writer in self.writers:
            writer.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
