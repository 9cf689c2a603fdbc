"""`mtk profile draft` (MDS2 workbook -> draft profile) and `mtk profile diff` (what changed, field by
field, between two profiles or a profile and an MDS2 workbook)."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from ..classification import MtClass
from ..drafts import FillIn, is_placeholder
from ..errors import InputError
from ..mds2 import read_mds2
from ..mds2draft import Draft, Finding, draft_profile, flow_yaml, render
from ..mds2rules import CLASS_RULE, RULES
from ..profile import parse_profile
from ..yamlsource import YamlDocument, format_path, load_yaml, parse_yaml

PROFILE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
_PROVENANCE = re.compile(r"#\s*(MDS2\b.*)$")
_MDS2_FIELDS = tuple(r.field for r in (CLASS_RULE, *RULES) if r.field)


def _profile_id(text: str) -> str:
    if not PROFILE_ID.match(text):
        raise argparse.ArgumentTypeError(f"invalid profile id {text!r}: lower-case letters, digits and dashes, 2-63")
    return text


def _mt_class(text: str) -> MtClass:
    try:
        return MtClass.parse(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def register(sub: argparse._SubParsersAction) -> None:
    draft = sub.add_parser(
        "draft", help="draft a profile from the manufacturer's MDS2 workbook",
        description="Read an MDS2 workbook (ANSI/NEMA HN 1-2019, .xlsx) and write a draft device profile: "
        "every field the MDS2 answers carries its source as a comment (# MDS2 MLDP-2 = Yes), every field "
        "it cannot answer is a \"TO FILL IN\" placeholder, contradictions and unanswered questions are listed "
        "as findings. The draft validates as a draft; a build refuses it until MT engineering approves it "
        "(governance.approved_by and approved_date).",
        epilog="Example: mtk profile draft --mds2 Acme-Infuse-MDS2.xlsx --class WM1 --out profiles/acme-infuse-5.yml")
    draft.add_argument("--mds2", required=True, type=Path, metavar="WORKBOOK.xlsx", help="the MDS2 workbook")
    draft.add_argument("--out", type=Path, metavar="FILE",
                       help="write the draft here (default: print it); the profile id is the file name")
    draft.add_argument("--id", type=_profile_id, help="profile id (default: the --out file name, else the workbook's)")
    draft.add_argument("--class", dest="mt_class", type=_mt_class, metavar="CLASS",
                       help="the class and group, e.g. WM1 (default: the type the MDS2 points to, group to fill in)")
    draft.add_argument("--force", action="store_true", help="overwrite an existing --out file")
    draft.add_argument("--json", action="store_true",
                       help="print a JSON summary (derived fields with their source, fields to fill in, findings; "
                       "the YAML too without --out)")
    draft.set_defaults(handler=_draft)

    diff = sub.add_parser(
        "diff", help="what changed between two profiles, or a profile and an MDS2 workbook",
        description="Compare field by field, with the MDS2 answer behind each value. Either side may be a "
        "profile (.yml) or an MDS2 workbook (.xlsx); with a workbook only the fields the MDS2 decides are "
        "compared. Exit 0 when nothing differs, 1 when something does, 2 on bad input.",
        epilog="Example: mtk profile diff profiles/acme-infuse-5.yml Acme-Infuse-MDS2-rev2.xlsx")
    diff.add_argument("old", type=Path, metavar="OLD")
    diff.add_argument("new", type=Path, metavar="NEW")
    diff.add_argument("--json", action="store_true", help="print the changes as JSON")
    diff.set_defaults(handler=_diff)


# ---------------------------------------------------------------- draft

def _draft(args: argparse.Namespace) -> int:
    out: Path | None = args.out
    if out is not None:
        if out.exists() and not args.force:
            raise InputError.single(str(out), "exists: choose another --out or add --force to overwrite it")
        if args.id and args.id != out.stem:
            raise InputError.single(str(out), f"--id {args.id} differs from the file name: a profile's id is "
                                    "its file name", field="--id")
        if not args.id and not PROFILE_ID.match(out.stem):
            raise InputError.single(str(out), "the file name is no valid profile id (lower-case letters, digits, "
                                    "dashes): rename it or give --id", field="--out")
    book = read_mds2(args.mds2)
    draft = draft_profile(book, args.id or (out.stem if out else None), args.mt_class)
    text = render(draft, book)
    _self_check(draft, text)
    if out is not None:
        _write(out, text, args.force)
    derived, todo = draft.derived(), draft.placeholders()
    summary = {
        "workbook": {"file": str(args.mds2), "sha256": book.sha256, "sheet": book.sheet,
                     "questions": len(book.questions), "warnings": list(book.warnings)},
        "profile_id": draft.profile_id, "out": str(out) if out else None,
        "class_candidate": draft.class_candidate,
        "derived": [{"field": format_path(p), "source": source} for p, source in derived.items()],
        "to_fill_in": [{"field": format_path(p), "hint": hint} for p, hint in todo.items()],
        "findings": [{"kind": f.kind, "message": f.message, "questions": list(f.questions)} for f in draft.findings],
    }
    if args.json:
        if out is None:
            summary["yaml"] = text
        json.dump(summary, sys.stdout, indent=2)
        print()
        return 0
    report = sys.stdout if out else sys.stderr
    if out is None:
        sys.stdout.write(text)
    where = f"wrote {out}" if out else "draft above"
    print(f"{where}: profile {draft.profile_id} from {book.name} ({len(book.questions)} questions): {len(derived)} "
          f"field(s) from the MDS2, {len(todo)} to fill in, {len(draft.findings)} finding(s)", file=report)
    if draft.class_candidate == "not-windows":
        print("NOT A WINDOWS CLIENT PROFILE: the MDS2 describes a device without an operating system the "
              "hospital manages (DOC-11, CSUP-2)", file=report)
    for finding in draft.findings:
        print(f"  {finding}", file=report)
    for warning in book.warnings:
        print(f"  workbook: {warning}", file=report)
    return 0


def _self_check(draft: Draft, text: str) -> None:
    """A draft must validate as a draft; anything else becomes a finding rather than a surprise later."""
    try:
        parse_profile(parse_yaml(text, "draft"))
    except InputError as err:
        for problem in err.problems:
            if not isinstance(problem, FillIn):
                draft.findings.append(Finding("invalid", f"{problem.field}: {problem.message}"))


def _write(out: Path, text: str, force: bool) -> None:
    """Write whole or not at all; without --force never replace a file (even one created meanwhile)."""
    directory = out.parent if str(out.parent) else Path(".")
    if not directory.is_dir():
        raise InputError.single(str(out), f"no such directory {directory}", field="--out")
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        if force:
            os.replace(tmp, out)
        else:
            try:
                os.link(tmp, out)
            except FileExistsError:
                raise InputError.single(str(out), "exists: add --force to overwrite it") from None
    except OSError as err:
        raise InputError.single(str(out), f"cannot write: {err}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# ---------------------------------------------------------------- diff

Fields = dict[str, tuple[Any, str | None]]  # dotted path -> (value, provenance)


def _is_workbook(path: Path) -> bool:
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return True
    if path.suffix.lower() in (".yml", ".yaml"):
        return False
    try:
        return zipfile.is_zipfile(path) or path.read_bytes()[:8] == bytes.fromhex("d0cf11e0a1b11ae1")
    except OSError:
        return False


def _flatten(data: Any, path: tuple[str | int, ...], out: dict[tuple[str | int, ...], Any]) -> None:
    if isinstance(data, dict):
        for key, value in data.items():
            _flatten(value, (*path, key), out)
    elif isinstance(data, list) and any(isinstance(item, dict) for item in data):
        for index, item in enumerate(data):
            _flatten(item, (*path, index), out)
    else:
        out[path] = data


def _source_of(path: tuple[str | int, ...], sources: dict[tuple[str | int, ...], str]) -> str | None:
    for end in range(len(path), 0, -1):
        if path[:end] in sources:
            return sources[path[:end]]
    return None


def _side(path: Path) -> tuple[Fields, bool]:
    """Fields of one side and whether it is a workbook."""
    flat: dict[tuple[str | int, ...], Any] = {}
    if _is_workbook(path):
        data, sources = draft_profile(read_mds2(path)).plain()
        _flatten(data, (), flat)
        return {format_path(p): (v, _source_of(p, sources)) for p, v in flat.items()}, True
    doc = load_yaml(path)
    if not isinstance(doc.data, dict):
        raise InputError([doc.problem((), "a profile is a mapping of keys, not a " + type(doc.data).__name__)])
    try:
        # with the defaults a profile leaves out, so `kiosk: {enabled: false}` equals no kiosk
        data = _with_placeholders(parse_profile(doc)[0].model_dump(), doc.data)
    except InputError:
        data = doc.data  # a draft with required fields still to fill in: compare what it says
    _flatten(data, (), flat)
    lines = Path(doc.source).read_text(encoding="utf-8").splitlines()
    return {format_path(p): (v, _comment_source(doc, lines, p)) for p, v in flat.items()}, False


def _with_placeholders(dump: Any, raw: Any) -> Any:
    """The validated data with the raw placeholders put back (validation drops them)."""
    if isinstance(raw, dict) and isinstance(dump, dict):
        for key, value in raw.items():
            dump[key] = value if is_placeholder(value) else _with_placeholders(dump.get(key), value)
        return dump
    if isinstance(raw, list) and isinstance(dump, list):
        if any(is_placeholder(v) for v in raw) or len(raw) != len(dump):
            return raw
        return [_with_placeholders(d, r) for d, r in zip(dump, raw, strict=True)]
    return dump


def _comment_source(doc: YamlDocument, lines: list[str], path: tuple[str | int, ...]) -> str | None:
    """The `# MDS2 ...` comment on the field's line."""
    line = doc.lines.get(path)
    if line is None:
        return None
    found = _PROVENANCE.search(lines[line - 1]) if line <= len(lines) else None
    return found.group(1).strip() if found else None


def _shown(value: Any) -> Any:
    if isinstance(value, list):
        return [_shown(v) for v in value]
    return "(to fill in)" if is_placeholder(value) else value


def _diff(args: argparse.Namespace) -> int:
    old, old_book = _side(args.old)
    new, new_book = _side(args.new)
    keys = list(dict.fromkeys([*old, *new]))
    if old_book or new_book:
        keys = [k for k in keys if k.startswith(_MDS2_FIELDS)]
    changes = []
    for key in keys:
        before, after = old.get(key, (None, None)), new.get(key, (None, None))
        if _shown(before[0]) == _shown(after[0]):
            continue
        if old_book != new_book:
            (_, source), (mds2_value, _) = (after, before) if old_book else (before, after)
            if not (source or "").startswith("MDS2") and _undecided(mds2_value):
                continue  # filled in from the IfU where the MDS2 has no answer: not a change of the MDS2
        changes.append({"field": key, "old": _shown(before[0]), "new": _shown(after[0]),
                        "old_source": before[1], "new_source": after[1]})
    if args.json:
        json.dump({"old": str(args.old), "new": str(args.new), "changes": changes}, sys.stdout, indent=2, default=str)
        print()
        return 1 if changes else 0
    if not changes:
        print(f"no differences between {args.old} and {args.new}"
              + (" in the fields the MDS2 decides" if old_book or new_book else ""))
        return 0
    print(f"{len(changes)} field(s) differ between {args.old} (old) and {args.new} (new):")
    for change in changes:
        print(f"  {change['field']}: {_text(change['old'])} -> {_text(change['new'])}")
        for side in ("old", "new"):
            if change[f"{side}_source"]:
                print(f"      {side}: {change[f'{side}_source']}")
    return 1


def _undecided(value: Any) -> bool:
    items = value if isinstance(value, list) else [value]
    return value is None or all(is_placeholder(v) for v in items)


def _text(value: Any) -> str:
    return "(absent)" if value is None else flow_yaml(value)
