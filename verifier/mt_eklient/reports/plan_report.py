"""The plan (`mtk plan`) as text, JSON (schema-validated) and self-contained HTML: per host, the
changes grouped by area, each with before -> after, its control and reference, and whether it needs
a reboot; then the failing controls the build does not own."""

from __future__ import annotations

import json
from functools import cache
from html import escape
from itertools import groupby
from pathlib import Path
from typing import Any

from ..textsafe import printable
from .html_report import CSS

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "plan.schema.json"
MAX_VALUE = 160


@cache
def plan_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def validate_plan(document: dict[str, Any]) -> list[str]:
    """Schema problems of a plan document (empty when valid)."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(plan_schema())
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
            for e in validator.iter_errors(document)]


def render_json(document: dict[str, Any]) -> str:
    problems = validate_plan(document)
    if problems:  # a bug, not bad input: never hand a change board a document that breaks its own schema
        raise ValueError(f"plan document does not match plan.schema.json: {problems[0]}")
    return json.dumps(document, indent=1, ensure_ascii=False, sort_keys=False) + "\n"


def show(value: Any, limit: int = MAX_VALUE) -> str:
    if value is None:
        return "(not set)"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    text = printable(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def reference(refs: dict[str, Any]) -> str:
    parts = []
    for name, value in refs.items():
        if value:
            parts.append(f"{name} {', '.join(map(str, value)) if isinstance(value, list) else value}")
    return "; ".join(parts)


def describe(change: dict[str, Any]) -> str:
    """`before -> after` in words, with added/removed items where the change has them."""
    parts = []
    for key in ("added", "removed"):
        if change.get(key):
            parts.append(f"{key} {show(change[key])}")
    if change["kind"] == "firewall_rule" and change.get("changed"):
        old, new = change["before"], change["after"]
        parts.append("; ".join(f"{k}: {show(old[k])} -> {show(new[k])}" for k in change["changed"]))
    elif change["kind"] == "firewall_rule" and change["before"] is None:
        parts.append(f"created: {show(change['after'])}")
    elif change["kind"] == "firewall_rule" and change["after"] is None:
        parts.append(f"removed: {show(change['before'])}")
    elif not parts:
        parts.append(f"{show(change['before'])} -> {show(change['after'])}")
    return "; ".join(parts)


def _by_area(changes: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    ordered = sorted(changes, key=lambda c: (c["area"], c["control"], c["item"]))
    return [(area, list(items)) for area, items in groupby(ordered, key=lambda c: c["area"])]


def host_notes(host: dict[str, Any]) -> list[str]:
    """The host's notes and the manufacturer's procedures, one line each."""
    lines = [f"note: {note}" for note in host.get("notes") or []]
    for procedure in (host.get("profile") or {}).get("procedures") or []:
        source = f" ({procedure['source']})" if procedure.get("source") else ""
        lines.append(f"procedure (not checked on the machine): {procedure['text']}{source}")
    return lines


def render_text(document: dict[str, Any]) -> str:
    lines = []
    for host in document["hosts"]:
        profile = host.get("profile") or {}
        head = f"{host['host']}"
        if profile:
            head += f" ({host.get('declared_class') or '?'}, profile {profile.get('id')} v{profile.get('version')})"
        if host["status"] != "ok":
            lines.append(f"{head}: {host['status'].upper()}: {host['error']}")
            continue
        if not host["changes"]:
            lines.append(f"{head}: no change")
        else:
            reboot = ", needs a reboot" if host["needs_reboot"] else ""
            lines.append(f"{head}: {len(host['changes'])} change(s){reboot}")
        for area, changes in _by_area(host["changes"]):
            lines.append(f"  {area}")
            for change in changes:
                reboot = " [reboot]" if change["needs_reboot"] else ""
                lines.append(printable(f"    {change['control']} {change['kind']} {change['item']}: "
                                       f"{describe(change)}{reboot}"))
                ref = reference(change["references"])
                if ref:
                    lines.append(f"      ({ref})")
        lines.extend(printable(f"  {line}") for line in host_notes(host))
        for item in host["not_built"]:
            lines.append(printable(f"  NOT BUILT {item['control']} ({item['status']}): {item['message'] or item['title']} "
                                   f"- {item['reason']}; the build's verification fails unless the changes above fix it"))
    summary = document["summary"]
    lines.append(f"plan: {summary['hosts']} host(s), {summary['with_changes']} with changes, "
                 f"{summary['changes']} change(s), {summary['not_built']} failing control(s) the build does not own"
                 + "".join(f", {k} {', '.join(summary[k])}" for k in ("needs_reboot", "refused", "unreachable", "errors")
                           if summary[k]))
    return "\n".join(lines) + "\n"


def _e(value: Any) -> str:
    return escape(printable("" if value is None else str(value)), quote=True)


def _host_html(host: dict[str, Any]) -> str:
    profile = host.get("profile") or {}
    title = f"{_e(host['host'])} <span class=\"muted\">{_e(host.get('declared_class'))} {_e(profile.get('id'))} " \
            f"v{_e(profile.get('version'))}</span>"
    if host["status"] != "ok":
        return f"<h2>{title}</h2><p class=\"error\">{_e(host['status'])}: {_e(host['error'])}</p>"
    out = [f"<h2>{title}</h2>"]
    if not host["changes"]:
        out.append("<p class=\"pass\">No change: the host is as the build would leave it.</p>")
    for area, changes in _by_area(host["changes"]):
        out.append(f"<h3>{_e(area)}</h3><table><tr><th>control</th><th>what</th><th>before</th><th>after</th>"
                   "<th>change</th><th>reference</th><th>reboot</th></tr>")
        for c in changes:
            out.append(f"<tr><td>{_e(c['control'])}<br><span class=\"muted\">{_e(c['title'])}</span></td>"
                       f"<td>{_e(c['kind'])}<br><code>{_e(c['item'])}</code></td><td><code>{_e(show(c['before']))}</code></td>"
                       f"<td><code>{_e(show(c['after']))}</code></td><td>{_e(describe(c))}</td>"
                       f"<td>{_e(reference(c['references']))}</td><td>{'yes' if c['needs_reboot'] else ''}</td></tr>")
        out.append("</table>")
    notes = host_notes(host)
    if notes:
        out.append("<ul class=\"notes\">" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>")
    if host["not_built"]:
        out.append("<h3>Failing, not set by the build (verification fails unless the changes above fix it)</h3><table><tr><th>control</th>"
                   "<th>status</th><th>message</th><th>why not built</th></tr>")
        for item in host["not_built"]:
            out.append(f"<tr class=\"fail\"><td>{_e(item['control'])}</td><td>{_e(item['status'])}</td>"
                       f"<td>{_e(item['message'])}</td><td>{_e(item['reason'])}</td></tr>")
        out.append("</table>")
    return "".join(out)


def render_html(document: dict[str, Any]) -> str:
    summary = document["summary"]
    rows = "".join(f"<tr><td>{_e(k)}</td><td>{_e(', '.join(v) if isinstance(v, list) else v)}</td></tr>"
                   for k, v in summary.items())
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>mt-eklient build plan</title>"
            f"<style>{CSS}</style></head><body><h1>Build plan</h1>"
            f"<p class=\"muted\">{_e(document['command'])}, toolkit {_e(document['toolkit_version'])}, "
            f"{_e(document['started'])} - {_e(document['finished'])}</p><table class=\"meta\">{rows}</table>"
            + "".join(_host_html(h) for h in document["hosts"]) + "</body></html>\n")
