"""From an MDS2 workbook to a draft device profile: the rules of mds2rules.py applied to the
answers, written as profile YAML in which every derived field names its question
(`# MDS2 MLDP-2 = Yes`) and every field the MDS2 cannot answer is a `TO FILL IN` placeholder."""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from .classification import MtClass
from .drafts import PLACEHOLDER, split_placeholders
from .mds2 import Workbook
from .mds2rules import (
    CLASS_RULE,
    CONTRADICTIONS,
    NOT_WINDOWS,
    OMIT,
    RULES,
    Fill,
    PathsFromNotes,
    Rule,
    decisive,
    matches,
)

_WINDOWS_PATH = re.compile(r"(?:[A-Za-z]:\\|%\w+%\\?)[^;,\"'\n]*")


@dataclass(frozen=True)
class Finding:
    kind: str           # contradiction | unanswered | attention
    message: str
    questions: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


@dataclass
class Leaf:
    """One YAML value with its provenance comment and the notes it rests on."""

    value: Any
    source: str | None = None
    notes: tuple[str, ...] = ()


@dataclass
class Draft:
    profile_id: str
    class_candidate: str | None      # WM, M, not-windows, or None when undecided
    tree: dict[str, Any]
    findings: list[Finding] = field(default_factory=list)

    def plain(self) -> tuple[Any, dict[tuple[str | int, ...], str]]:
        """The draft as plain profile data and the provenance of each derived path."""
        sources: dict[tuple[str | int, ...], str] = {}
        return to_plain(self.tree, (), sources), sources

    def derived(self) -> dict[tuple[str | int, ...], str]:
        """The fields with a value from the MDS2, and their source."""
        data, sources = self.plain()
        holes = split_placeholders(data)[1]
        return {p: s for p, s in sources.items() if s.startswith("MDS2") and p not in holes}

    def placeholders(self) -> dict[tuple[str | int, ...], str]:
        """The fields to fill in, and their hint."""
        return split_placeholders(self.plain()[0])[1]


def slug(text: str) -> str:
    return re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9]+", "-", text.lower())).strip("-")[:63] or "mds2-draft"


def _apply(rule: Rule, book: Workbook, findings: list[Finding]) -> Leaf | None:
    answers = [book.answer(q) for q in rule.questions]
    for row in rule.rows:
        if all(matches(m, a) for m, a in zip(row.when, answers, strict=True)):
            used = decisive(rule, row)
            source = "MDS2 " + ", ".join(book.describe(q) for q in used)
            notes = tuple(f"{q} {n}" for q in used for n in book.questions[q].notes) if used else ()
            if row.finding:
                findings.append(Finding("attention", row.finding + "".join(f" ({n})" for n in notes), used))
            if row.value is OMIT:
                return None
            value = row.value
            if isinstance(value, PathsFromNotes):
                paths, cited = _paths_in(book, rule.questions)
                value = paths or [Fill(value.hint)]
                if paths:
                    source += f"; paths from the note of {', '.join(cited)}"
                    findings.append(Finding("attention", f"{rule.field}: paths taken from the note of "
                                            f"{', '.join(cited)}: check them against the IfU", tuple(cited)))
            return Leaf(value, source, notes)
    if rule.field is None or not rule.hint:
        return None
    cited = ", ".join(book.describe(q) for q in rule.questions)
    findings.append(Finding("unanswered", f"{rule.field}: the MDS2 does not decide it ({cited})", rule.questions))
    notes = tuple(f"{q} {n}" for q in rule.questions if q in book.questions for n in book.questions[q].notes)
    return Leaf(Fill(f"{rule.hint}; MDS2: {cited}"), None, notes)


def _paths_in(book: Workbook, questions: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """Windows paths quoted in the questions' notes, and the questions they came from."""
    paths: list[str] = []
    cited: list[str] = []
    for q in questions:
        for note in book.questions[q].notes if q in book.questions else ():
            for match in _WINDOWS_PATH.findall(note):
                for path in re.split(r"\s+(?:and|or|och|og)\s+", match):
                    path = re.split(r"\s+(?:from|for)\s", path)[0].rstrip(" .)")
                    if _WINDOWS_PATH.fullmatch(path) and path not in paths:
                        paths.append(path)
                        cited += [q] if q not in cited else []
    return paths, cited


def _set(tree: dict[str, Any], dotted: str, leaf: Leaf) -> None:
    *parents, last = dotted.split(".")
    node = tree
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = leaf


def _release_date(book: Workbook, findings: list[Finding]) -> date | None:
    text = book.text("DOC-7")
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        findings.append(Finding("attention", f"DOC-7 release date {text!r} is not a date: governance.mds2 "
                                "leaves it out", ("DOC-7",)))
        return None


def draft_profile(book: Workbook, profile_id: str | None = None, declared: MtClass | None = None) -> Draft:
    findings: list[Finding] = []
    manufacturer, model = book.text("DOC-1"), book.text("DOC-3")
    description = book.text("DOC-2")
    pid = profile_id or slug(Path(book.path).stem)
    for contradiction in CONTRADICTIONS:
        if all(book.answer(q) == a for q, a in contradiction.when):
            findings.append(Finding("contradiction", contradiction.message, tuple(q for q, _ in contradiction.when)))

    class_leaf = _apply(CLASS_RULE, book, findings)
    candidate = None if class_leaf is None or isinstance(class_leaf.value, Fill) else class_leaf.value
    if declared is not None:
        if candidate not in (None, declared.type):
            findings.append(Finding("contradiction", f"--class {declared} given, but the MDS2 points to "
                                    f"{candidate} ({class_leaf.source if class_leaf else ''})", CLASS_RULE.questions))
        type_leaf = Leaf(declared.type, f"--class {declared}" + (f"; {class_leaf.source}" if class_leaf
                                                                       and class_leaf.source else ""))
        group_leaf = Leaf(declared.group, f"--class {declared}")
    else:
        type_leaf = class_leaf if candidate in ("WM", "M") else Leaf(Fill(
            "not a Windows client: this device needs no W/WM/M profile" if candidate == NOT_WINDOWS
            else CLASS_RULE.hint), class_leaf.source if class_leaf else None, class_leaf.notes if class_leaf else ())
        group_leaf = Leaf(Fill("0, 1 or 2: where the computer stands (patient environment); the MDS2 does not say"))

    release = _release_date(book, findings)
    tree: dict[str, Any] = {
        "schema_version": Leaf(1),
        "id": Leaf(pid),
        "profile_version": Leaf(1),
        "application": {
            "name": Leaf(model or description or Fill("the application's name (DOC-3 is empty)"),
                         "MDS2 DOC-3" if model else ("MDS2 DOC-2" if description else None)),
            "version": Leaf(Fill("the application version this MDS2 covers")),
        },
        "manufacturer": {
            "name": Leaf(manufacturer or Fill("the manufacturer (DOC-1 is empty)"), "MDS2 DOC-1" if manufacturer else None),
        },
        "governance": {
            "approved_by": Leaf("", "empty: a DRAFT; MT engineering signs here after review (a build refuses drafts)"),
            "approved_date": Leaf(None),
            "sources": [Leaf({"kind": "mds2", "title": f"{model or description or book.name} MDS2 (HN 1-2019)",
                              **({"version": book.text("DOC-4")} if book.text("DOC-4") else {}),
                              **({"date": release} if release else {})})],
            "mds2": {"file": Leaf(book.name), "sha256": Leaf(book.sha256),
                     **{k: Leaf(v, f"MDS2 {q}") for k, q, v in (
                         ("manufacturer", "DOC-1", manufacturer), ("model", "DOC-3", model),
                         ("document_id", "DOC-4", book.text("DOC-4")), ("release_date", "DOC-7", release)) if v}},
        },
        "classification": {"type": type_leaf, "group": group_leaf},
        "os": {"editions": Leaf([Fill("the Windows LTSC editions the manufacturer validated (IfU)")])},
        "applications": [{
            "name": Leaf(model or description or Fill("the application's name")),
            "publisher": Leaf(Fill("the code-signing subject of the application's executables")),
            "install_paths": Leaf([Fill("where the application is installed (IfU)")]),
            "uninstall_display_name": Leaf(Fill("the application's name under Apps (Uninstall key), * allowed")),
        }],
    }
    if book.text("DOC-5"):
        tree["manufacturer"]["contact"] = Leaf(book.text("DOC-5"), "MDS2 DOC-5")
    tree["network"] = {"management_zone": Leaf("management"),
                       "zones": {"management": Leaf([Fill("the management network (CIDR) Ansible and the scanner "
                                                          "connect from")])}}
    tree["patching"] = {"maintenance_window": Leaf(Fill("days, start and hours when updates may be installed; "
                                                        "the MDS2 does not say"))}
    for rule in RULES:
        leaf = _apply(rule, book, findings)
        if leaf is not None and rule.field:
            _set(tree, rule.field, leaf)
    patching = tree["patching"]
    policy = patching.get("policy")
    if not (policy and policy.value == "vendor_managed"):
        patching["wsus"] = Leaf({"server": Fill("the hospital's WSUS server URL")})
    _order(tree)
    return Draft(pid, candidate, tree, findings)


_ORDER = ("schema_version", "id", "profile_version", "application", "manufacturer", "governance",
          "classification", "os", "applications", "whitelisting", "antivirus", "network", "patching",
          "removable_media", "accounts", "remote_access")
_FIELD_ORDER = {
    "antivirus": ("permitted", "realtime", "exclusions", "signatures", "compensating_controls"),
    "network": ("internet", "management_zone", "zones", "inbound", "outbound"),
    "patching": ("policy", "defer_days", "wsus", "approved_kbs", "maintenance_window"),
}


def _order(tree: dict[str, Any]) -> None:
    for key, keys in _FIELD_ORDER.items():
        if key in tree:
            node = tree[key]
            tree[key] = {k: node[k] for k in (*keys, *node) if k in node}
    ordered = {k: tree[k] for k in _ORDER if k in tree}
    tree.clear()
    tree.update(ordered)


# ---------------------------------------------------------------- YAML with comments

def flow_yaml(value: Any) -> str:
    """One value as single-line YAML (placeholders as their TO FILL IN text)."""
    if isinstance(value, Fill):
        return _quoted(f"{PLACEHOLDER}: {value.hint}")
    if isinstance(value, list):
        return "[" + ", ".join(flow_yaml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {flow_yaml(v)}" for k, v in value.items()) + "}"
    if value == "":
        return '""'
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000, allow_unicode=True).strip()
    return text.removesuffix("...").strip()


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _comment_lines(pad: str, notes: tuple[str, ...]) -> list[str]:
    out = []
    for note in notes:
        out += [f"{pad}# {line}" for line in textwrap.wrap(note, 96 - len(pad))]
    return out


def _emit(node: dict[str, Any], indent: int = 0) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for key, child in node.items():
        if isinstance(child, dict):
            lines.append(f"{pad}{key}:")
            lines += _emit(child, indent + 2)
        elif isinstance(child, list):
            lines.append(f"{pad}{key}:")
            for item in child:
                if isinstance(item, Leaf):
                    lines += _comment_lines(pad + "  ", item.notes)
                    lines.append(f"{pad}  - {flow_yaml(item.value)}" + (f"  # {item.source}" if item.source else ""))
                else:
                    body = _emit(item, indent + 4)
                    lines.append(f"{pad}  - {body[0].lstrip()}")
                    lines += body[1:]
        else:
            lines += _comment_lines(pad, child.notes)
            line = f"{pad}{key}: {flow_yaml(child.value)}"
            comment = f"  # {child.source}" if child.source else ""
            if isinstance(child.value, list) and len(line) > 100:
                lines.append(f"{pad}{key}:{comment}")
                lines += [f"{pad}  - {flow_yaml(item)}" for item in child.value]
            else:
                lines.append(line + comment)
    return lines


def to_plain(node: Any, path: tuple[str | int, ...] = (),
             sources: dict[tuple[str | int, ...], str] | None = None) -> Any:
    """The draft tree as plain profile data (placeholders as their TO FILL IN text); `sources`
    collects the provenance of each Leaf by path."""
    if isinstance(node, Leaf):
        if node.source is not None and sources is not None:
            sources[path] = node.source
        node = node.value
    if isinstance(node, Fill):
        return f"{PLACEHOLDER}: {node.hint}"
    if isinstance(node, dict):
        return {k: to_plain(v, (*path, k), sources) for k, v in node.items()}
    if isinstance(node, list):
        return [to_plain(v, (*path, i), sources) for i, v in enumerate(node)]
    return node


def render(draft: Draft, book: Workbook) -> str:
    """The draft as profile YAML: a header with the verdict and findings, then the fields."""
    verdict = {
        "WM": "a WM candidate: software on an operating system the hospital provides (DOC-11.2)",
        "M": "an M candidate: the manufacturer delivers the operating system; verified, never built",
        NOT_WINDOWS: "NOT A WINDOWS CLIENT PROFILE: the device has no operating system the hospital manages",
        None: "class undecided: the MDS2 does not say who provides the operating system",
    }[draft.class_candidate]
    head = [
        f"# DRAFT device profile from the MDS2 workbook {book.name} (ANSI/NEMA HN 1-2019),",
        f"# sha256 {book.sha256}, written by `mtk profile draft`.",
        f"# Classification: {verdict}.",
        "# Each derived field names the MDS2 answer it rests on; each \"TO FILL IN\" needs the IfU or the",
        "# manufacturer. `mtk profile validate` lists what is left; a build refuses the profile until",
        "# MT engineering fills in governance.approved_by and approved_date.",
    ]
    if draft.findings:
        head.append("#")
        head.append("# Findings (resolve with the manufacturer before approval):")
        for finding in draft.findings:
            wrapped = textwrap.wrap(str(finding), 94)
            head += [f"#   - {wrapped[0]}", *[f"#     {w}" for w in wrapped[1:]]]
    return "\n".join(head + _emit(draft.tree)) + "\n"
