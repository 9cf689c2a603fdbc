"""The W/WM/M x 0/1/2 classification (Swedish "Standardiserad MT eKlient", domain brief §1):
what each type means for the toolkit, and the evidence that tells on the machine which type it is."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import Any, Literal

ClassType = Literal["W", "WM", "M"]

TYPE_MEANING: dict[str, str] = {
    "W": "standard IT client, delivered and life-cycle managed by IT",
    "WM": "IT client that runs one or more medical-device (MTP) applications under the manufacturer's constraints",
    "M": "complete medical computer, hardware and software delivered and life-cycle managed by the manufacturer",
}
GROUP_MEANING: dict[int, str] = {
    0: "outside the patient environment",
    1: "in the patient environment (IEC 60601-1)",
    2: "in the patient environment with ingress protection (IEC 60601-1, EN 60529)",
}
# The toolkit builds WM clients only: W clients follow IT's standard build, and changing an M
# computer would make the hospital its manufacturer. Every type is verified.
BUILDABLE_TYPES: frozenset[str] = frozenset({"WM"})

_CLASS_RE = re.compile(r"^(W|WM|M)([012])$")


@dataclass(frozen=True, order=True)
class MtClass:
    type: ClassType
    group: int

    @classmethod
    def parse(cls, text: str) -> MtClass:
        match = _CLASS_RE.match(str(text).strip().upper())
        if not match:
            raise ValueError(f"invalid class {text!r}: expected W, WM or M followed by group 0, 1 or 2 (e.g. WM1)")
        return cls(match.group(1), int(match.group(2)))  # type: ignore[arg-type]

    def __str__(self) -> str:
        return f"{self.type}{self.group}"

    @property
    def buildable(self) -> bool:
        return self.type in BUILDABLE_TYPES

    def describe(self) -> str:
        return f"{self}: {TYPE_MEANING[self.type]}; group {self.group}: {GROUP_MEANING[self.group]}"


def build_refusal(declared: MtClass, profile_class: MtClass) -> str | None:
    """Why a build must not touch this host, or None when it may."""
    if declared.type == "M" or profile_class.type == "M":
        return (f"{declared} is a vendor-managed medical computer (M): mt-eklient never builds or changes it; "
                "verify it read-only with `mtk scan`")
    if declared != profile_class:
        return f"declared class {declared} does not match the profile's class {profile_class}"
    if not declared.buildable:
        return f"{declared}: the toolkit builds WM clients only; W clients follow IT's standard build"
    return None


@dataclass(frozen=True)
class Evidence:
    observed_type: ClassType | None
    reasons: tuple[str, ...]


def _installed(programs: list[dict[str, Any]], pattern: str) -> bool:
    return any(fnmatch.fnmatch(str(p.get("name", "")).lower(), pattern.lower()) for p in programs)


def observe_class(facts: dict[str, Any], applications: list[dict[str, Any]]) -> Evidence:
    """Decide from collected facts whether a machine looks W, WM or M.

    - MT applications present: the profile's applications found in the Uninstall keys or services.
    - IT-managed: joined to the hospital domain, patched from WSUS, or carrying the toolkit's nameplate.
    MT apps + IT-managed -> WM; MT apps and none of IT's marks -> M; no MT apps + IT-managed -> W.
    """
    programs = facts.get("programs") or []
    services = facts.get("services") or {}
    reasons: list[str] = []
    found = []
    for app in applications:
        if _installed(programs, app["uninstall_display_name"]) or any(services.get(s) for s in app.get("services", [])):
            found.append(app["name"])
    if found:
        reasons.append("MT applications present: " + ", ".join(found))
    elif applications:
        reasons.append("none of the profile's MT applications is installed")

    host = facts.get("host") or {}
    registry = facts.get("registry") or {}
    wu = registry.get("HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\WindowsUpdate", {})
    marks = []
    if host.get("part_of_domain"):
        marks.append("domain-joined")
    if wu.get("WUServer"):
        marks.append("patched from WSUS")
    if facts.get("nameplate"):
        marks.append("toolkit nameplate present")
    if marks:
        reasons.append("IT-managed: " + ", ".join(marks))
    else:
        reasons.append("no sign of IT management (not domain-joined, no WSUS, no nameplate)")

    if found:
        observed: ClassType | None = "WM" if marks else "M"
    else:
        observed = "W" if marks and not applications else None
    return Evidence(observed, tuple(reasons))
