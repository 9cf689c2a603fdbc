"""The JSON report: a stable, versioned document (schemas/report.schema.json, `report_version`).

Reports carry evaluated evidence only (expected and actual values of each control, a short system
summary), never the facts document itself. Values of secret-looking settings are redacted by the
evaluator; `scrub` also masks `password=...`-style fragments that may appear in collector messages.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..evaluate import STATUSES
from ..textsafe import well_formed_deep

if TYPE_CHECKING:
    from ..scanresult import ScanResult

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schemas" / "report.schema.json"
_SECRET_FRAGMENT = re.compile(
    r"(?i)\b(password|passwd|pwd|secret|token|api[_-]?key|client[_-]?secret|credential)(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|\S+)")


def scrub(value: Any) -> Any:
    """Mask `name=value` fragments with secret-looking names in every string of a JSON value."""
    if isinstance(value, str):
        return _SECRET_FRAGMENT.sub(lambda m: f"{m.group(1)}{m.group(2)}<redacted>", value)
    if isinstance(value, list):
        return [scrub(v) for v in value]
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items()}
    return value


def _json_safe(value: Any) -> Any:
    # Well formed: a lone surrogate in a host's error message would make the report unwritable as UTF-8.
    return well_formed_deep(json.loads(json.dumps(value, default=str)))


def _scrub_host(host: dict[str, Any]) -> dict[str, Any]:
    """Scrub the free text of a host: reasons, notes, messages and evidence (structure untouched)."""
    for key in ("error", "notes", "class_evidence"):
        host[key] = scrub(host[key])
    for control in host["controls"]:
        for key in ("message", "notes", "expected", "actual"):
            control[key] = scrub(control[key])
    return host


def build_report(scan: ScanResult) -> dict[str, Any]:
    from ..scanresult import REPORT_VERSION
    hosts = [_scrub_host(h) for h in _json_safe([h.to_dict() for h in scan.hosts])]
    controls = {s: 0 for s in STATUSES}
    for host in scan.hosts:
        for status, count in host.counts().items():
            controls[status] += count
    verdicts = {v: 0 for v in ("pass", "fail", "unreachable", "error")}
    for host in scan.hosts:
        verdicts[host.verdict] += 1
    return {
        "report_version": REPORT_VERSION,
        "scan": scrub(_json_safe({
            "tool": "mt-eklient", "tool_version": scan.tool_version, "command": scan.command,
            "catalog_version": scan.catalog_version, "started": scan.started, "finished": scan.finished,
            "evaluated_on": scan.today, "warn_days": scan.warn_days, "source": scan.source,
        })),
        "summary": {"hosts": len(scan.hosts), "verdicts": verdicts, "controls": controls,
                    "exit_code": scan.exit_code},
        "hosts": hosts,
    }


def render_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


@cache
def report_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def validate_report(report: dict[str, Any]) -> list[str]:
    """Schema problems of a report (empty when valid)."""
    from jsonschema import Draft202012Validator
    validator = Draft202012Validator(report_schema())
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
            for e in validator.iter_errors(report)]
