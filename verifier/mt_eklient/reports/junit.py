"""JUnit XML for CI systems: one testsuite per host, one testcase per control.

fail -> <failure>, error -> <error>, waived and not_applicable -> <skipped>. A host that is
unreachable or errored gets one testcase `collection` with an <error> naming the reason. The host's
notes and the manufacturer's procedures are the testsuite's <system-out>."""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
from typing import IO, Any

from ..textsafe import printable
from .exceptions import exception_line
from .stream import Output, copy_spool, spool

# Characters XML 1.0 cannot carry, even escaped (textsafe.printable has shown the controls already).
_INVALID_XML = re.compile("[\ufffe\uffff]")


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return _INVALID_XML.sub("?", printable(text))


def _evidence(control: dict[str, Any]) -> str:
    lines = [f"expected ({control['compare']}): {_text(control['expected'])}", f"actual: {_text(control['actual'])}"]
    if control["message"]:
        lines.append(_text(control["message"]))
    lines.extend(_text(n) for n in control["notes"])
    refs = control.get("references") or {}
    if refs:
        lines.append("references: " + _text(refs))
    return "\n".join(lines)


def _suite(parent: ET.Element, host: dict[str, Any], timestamp: str) -> dict[str, int]:
    suite = ET.SubElement(parent, "testsuite", name=_text(host["host"]), hostname=_text(host["host"]),
                          timestamp=timestamp[:19])
    props = ET.SubElement(suite, "properties")
    profile = host.get("profile") or {}
    for name, value in (("status", host["status"]), ("declared_class", host["declared_class"]),
                        ("profile_class", host["profile_class"]), ("nameplate_class", host["nameplate_class"]),
                        ("observed_type", host["observed_type"]), ("profile_id", profile.get("id")),
                        ("profile_version", profile.get("version"))):
        if value is not None:
            ET.SubElement(props, "property", name=name, value=_text(value))
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    if host["status"] != "ok":
        case = ET.SubElement(suite, "testcase", classname=_text(host["host"]), name="collection", time="0")
        ET.SubElement(case, "error", type=host["status"],
                      message=_text(f"{host['status']}: {host['error']}")).text = _text(host["error"])
        counts["tests"], counts["errors"] = 1, 1
    # A safety-floor exception is a skipped test case of its own, so CI dashboards list it.
    for exception in host.get("exceptions") or []:
        case = ET.SubElement(suite, "testcase", classname=_text(f"{host['host']}.safety_floor"),
                             name=_text(f"safety-floor exception {exception['rule']}"), time="0")
        ET.SubElement(case, "skipped", message=_text("SAFETY-FLOOR EXCEPTION: " + exception_line(exception)))
        counts["tests"] += 1
        counts["skipped"] += 1
    seconds = (host.get("duration_ms") or 0) / 1000 / max(1, len(host["controls"]))
    for control in host["controls"]:
        case = ET.SubElement(suite, "testcase", classname=_text(f"{host['host']}.{control['area']}"),
                             name=_text(f"{control['id']}: {control['title']}"), time=f"{seconds:.6f}")
        counts["tests"] += 1
        status = control["status"]
        if status == "fail":
            ET.SubElement(case, "failure", type=control["severity"],
                          message=_text(control["message"] or "not as expected")).text = _evidence(control)
            counts["failures"] += 1
        elif status == "error":
            ET.SubElement(case, "error", type="fact_missing", message=_text(control["message"])).text = _evidence(control)
            counts["errors"] += 1
        elif status in ("waived", "not_applicable"):
            waiver = control.get("waiver")
            message = control["message"] or status
            if status == "waived" and waiver:
                message = f"waived until {waiver['expires']} ({waiver['owner']}): {waiver['reason']}"
            ET.SubElement(case, "skipped", message=_text(message))
            counts["skipped"] += 1
        elif control["notes"]:
            ET.SubElement(case, "system-out").text = "\n".join(_text(n) for n in control["notes"])
    # The host's notes and the manufacturer's procedures: what people must do, shown with the suite.
    lines = [f"note: {n}" for n in host.get("notes") or []]
    lines += [f"procedure (not checked on the machine): {p['text']}" + (f" ({p['source']})" if p.get("source") else "")
              for p in profile.get("procedures") or []]
    if lines:
        ET.SubElement(suite, "system-out").text = "\n".join(_text(line) for line in lines)
    for key, value in counts.items():
        suite.set(key, str(value))
    suite.set("time", f"{(host.get('duration_ms') or 0) / 1000:.6f}")
    return counts


class JunitWriter:
    """JUnit XML, streamed: each host's testsuite is serialised as it arrives; the totals of the
    root element are written at the end."""

    def __init__(self, output: Output, started: str):
        self.output = output
        self.started = started
        self.suites = spool()
        self.totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}

    def add(self, host: dict[str, Any]) -> None:
        holder = ET.Element("testsuites")
        for key, value in _suite(holder, host, self.started).items():
            self.totals[key] += value
        suite = holder[0]
        ET.indent(suite, space="  ", level=1)
        self.suites.write("  " + ET.tostring(suite, encoding="unicode").rstrip() + "\n")

    def finish(self, meta: dict[str, Any], summary: dict[str, Any]) -> None:
        root = ET.Element("testsuites", name="mt-eklient", **{k: str(v) for k, v in self.totals.items()})
        head = ET.tostring(root, encoding="unicode").replace(" />", ">")

        def produce(out: IO[str]) -> None:
            out.write('<?xml version="1.0" encoding="UTF-8"?>\n' + head + "\n")
            copy_spool(self.suites, out)
            out.write("</testsuites>\n")
        self.output.write(produce)

    def close(self) -> None:
        self.suites.close()


def render_junit(report: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = JunitWriter(Output(out), report["scan"]["started"])
    for host in report["hosts"]:
        writer.add(host)
    writer.finish(report["scan"], report["summary"])
    writer.close()
    return out.getvalue()
