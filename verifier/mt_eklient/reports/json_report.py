"""The JSON report: a stable, versioned document (schemas/report.schema.json, `report_version`).

Reports carry evaluated evidence only (expected and actual values of each control, a short system
summary), never the facts document itself. Values of secret-looking settings are redacted by the
evaluator; `scrub` also masks `password=...`-style fragments that may appear in collector messages.
"""

from __future__ import annotations

import io
import json
import re
from functools import cache
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ..textsafe import well_formed
from .stream import Output, Tally, copy_spool, spool

if TYPE_CHECKING:
    from ..evaluate import HostResult
    from ..scanresult import ScanResult

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schemas" / "report.schema.json"
_SECRET_FRAGMENT = re.compile(
    r"(?i)\b(password|passwd|pwd|secret|token|api[_-]?key|client[_-]?secret|credential)(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|\S+)")


def scrub(value: Any) -> Any:
    """Mask `name=value` fragments with secret-looking names in every string of a JSON value, and
    make it plain, well-formed JSON on the way (tuples become lists, keys and other objects strings,
    as json.dumps(default=str) would; lone surrogates U+FFFD), in one walk."""
    if isinstance(value, str):
        # Well formed: a lone surrogate in a host's message would make the report unwritable as UTF-8.
        value = well_formed(value)
        return _SECRET_FRAGMENT.sub(_mask, value) if _HINT.search(value) else value
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return [scrub(v) for v in value]
    if isinstance(value, dict):
        return {k if isinstance(k, str) else _key(k): scrub(v) for k, v in value.items()}
    return str(value)


def _mask(match: re.Match[str]) -> str:
    return f"{match.group(1)}{match.group(2)}<redacted>"


# Cheap pre-check: most strings hold none of the secret words, and searching is faster than substituting.
_HINT = re.compile(r"(?i)pass|pwd|secret|token|api|credential")


def _key(key: Any) -> str:
    """A non-string key as json.dumps writes it (True -> "true", 1 -> "1")."""
    return json.dumps(key, default=str).strip('"')


def report_host(result: HostResult) -> dict[str, Any]:
    """One host of the report: plain JSON with the free text (reasons, notes, messages, evidence)
    scrubbed; the structure is the evaluator's own."""
    host = result.to_dict()
    for key in ("host", "error", "notes", "class_evidence", "profile", "system"):
        host[key] = scrub(host[key])
    for control in host["controls"]:
        for key, value in control.items():
            if not (value is None or isinstance(value, (str, bool, int, float))) or key in _FREE_TEXT:
                control[key] = scrub(value)
    return host


# Control fields whose text may come from the host (the other text fields are the catalog's own).
_FREE_TEXT = frozenset(("message", "expected", "actual"))


def scan_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """The report's `scan` object, keys in the report's order."""
    keys = ("tool", "tool_version", "command", "catalog_version", "started", "finished", "evaluated_on",
            "warn_days", "source")
    return scrub({"tool": "mt-eklient", **{k: meta.get(k) for k in keys if k != "tool"}})


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


# Catalog text of a control: the same for every host, written once per report in `controls`.
_CATALOG_TEXT = ("rationale", "references", "meanings")


class JsonWriter:
    """The JSON report, streamed: one host per line (compact), the summary first, each control's
    catalog text once (most of a host's results otherwise)."""

    def __init__(self, output: Output):
        self.output = output
        self.hosts = spool()
        self.count = 0
        self.catalog: dict[str, dict[str, Any]] = {}

    def _evidence(self, control: dict[str, Any]) -> dict[str, Any]:
        text = {k: control[k] for k in _CATALOG_TEXT if k in control}
        known = self.catalog.setdefault(control["id"], text)
        if known != text:  # another catalog's text for this id (a mixed scan): keep it with the result
            return control
        return {k: v for k, v in control.items() if k not in _CATALOG_TEXT}

    def add(self, host: dict[str, Any]) -> None:
        host = {**host, "controls": [self._evidence(c) for c in host["controls"]]}
        self.hosts.write(("[\n" if not self.count else ",\n") + _dumps(host))
        self.count += 1

    def finish(self, meta: dict[str, Any], summary: dict[str, Any]) -> None:
        from ..scanresult import REPORT_VERSION

        def produce(out: IO[str]) -> None:
            out.write(f'{{"report_version":{REPORT_VERSION},\n"scan":{_dumps(meta)},\n'
                      f'"summary":{_dumps(summary)},\n"controls":{_dumps(self.catalog)},\n"hosts":')
            if self.count:
                copy_spool(self.hosts, out)
                out.write("\n]}\n")
            else:
                out.write("[]}\n")
        self.output.write(produce)

    def close(self) -> None:
        self.hosts.close()


def build_report(scan: ScanResult) -> dict[str, Any]:
    """The whole report as one dict (for a few hosts: `mtk verify`, tests)."""
    from ..scanresult import REPORT_VERSION
    hosts = [report_host(h) for h in scan.hosts]
    tally = Tally()
    for host in hosts:
        tally.add(host)
    meta = scan_meta({"tool_version": scan.tool_version, "command": scan.command,
                      "catalog_version": scan.catalog_version, "started": scan.started, "finished": scan.finished,
                      "evaluated_on": scan.today, "warn_days": scan.warn_days, "source": scan.source})
    return {"report_version": REPORT_VERSION, "scan": meta, "summary": tally.summary(), "hosts": hosts}


def render_json(report: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = JsonWriter(Output(out))
    for host in report["hosts"]:
        writer.add(host)
    writer.finish(report["scan"], report["summary"])
    writer.close()
    return out.getvalue()


@cache
def report_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def validate_report(report: dict[str, Any]) -> list[str]:
    """Schema problems of a report (empty when valid)."""
    from jsonschema import Draft202012Validator
    validator = Draft202012Validator(report_schema())
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
            for e in validator.iter_errors(report)]
