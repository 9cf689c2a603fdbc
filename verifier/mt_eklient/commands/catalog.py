"""`mtk catalog list | docs`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .. import floor
from ..catalog import Catalog, Control, load_catalog
from ..classification import MtClass
from ..errors import InputError

DEFAULT_DOCS = Path(__file__).resolve().parents[3] / "docs" / "controls.md"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "catalog", help="list and document the control catalog",
        description="The control catalog says what each class (W, WM, M x group 0, 1, 2) must have, "
        "how it is checked, and why (Normen, MDCG 2019-16, NSM, MDS2 references).")
    sub = parser.add_subparsers(dest="catalog_command", metavar="SUBCOMMAND", required=True)

    listing = sub.add_parser("list", help="list controls",
                             description="List catalog controls, optionally only those for one class or area.")
    listing.add_argument("--class", dest="mt_class", metavar="CLASS", help="only controls for this class, e.g. WM1")
    listing.add_argument("--area", help="only controls of this area, e.g. firewall")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=_list)

    docs = sub.add_parser("docs", help="write docs/controls.md",
                          description="Write the control reference with a traceability matrix "
                          "(control -> Normen, MDCG, NSM, MDS2, CIS).")
    docs.add_argument("--output", type=Path, default=DEFAULT_DOCS, help="where to write (default: %(default)s)")
    docs.add_argument("--check", action="store_true", help="exit 1 if the file is not up to date, write nothing")
    docs.set_defaults(handler=_docs)


def _select(catalog: Catalog, mt_class: str | None, area: str | None) -> list[Control]:
    wanted = None
    if mt_class:
        try:
            wanted = MtClass.parse(mt_class)
        except ValueError as err:
            raise InputError.single("--class", str(err)) from None
    areas = {c.area for c in catalog.controls}
    if area and area not in areas:
        raise InputError.single("--area", f"unknown area {area!r}; known: {', '.join(sorted(areas))}")
    return [
        c for c in catalog.controls
        if (wanted is None or (wanted.type in c.applies_to.types and wanted.group in c.applies_to.groups))
        and (area is None or c.area == area)
    ]


def _list(args: argparse.Namespace) -> int:
    controls = _select(load_catalog(), args.mt_class, args.area)
    if args.json:
        json.dump([c.model_dump(mode="json") for c in controls], sys.stdout, indent=2)
        print()
        return 0
    for c in controls:
        classes = "/".join(c.applies_to.types) + " " + ",".join(str(g) for g in c.applies_to.groups)
        print(f"{c.id:<28} {c.area:<16} {c.severity:<8} {classes:<14} {c.title}")
    print(f"{len(controls)} controls", file=sys.stderr)
    return 0


def _refs(control: Control) -> dict[str, str]:
    r = control.references
    return {
        "Normen": r.normen or "",
        "MDCG 2019-16": r.mdcg or "",
        "NSM": ", ".join(r.nsm),
        "MDS2": ", ".join(r.mds2),
        "CIS": r.cis or "",
    }


def _floor_docs(safety_floor: floor.Floor) -> list[str]:
    """The safety floor (catalog/floor.yml) as docs/profiles.md explains it."""
    lines = ["", "## Safety floor", "",
             ("What no device profile, waiver or site setting can lower (catalog/floor.yml; see "
              "[profiles.md](profiles.md#the-safety-floor))."), "",
             (f"- Longest waiver or floor exception: **{safety_floor.max_waiver_days} days** from the profile's "
              f"`governance.approved_date` (a site may set less with `{floor.MAX_WAIVER_DAYS_ENV}`)."), "",
             "### Controls that cannot be waived", "",
             "| situation | classes | when | controls | also compensating controls |", "|---|---|---|---|---|"]
    for entry in safety_floor.mandatory:
        classes = "/".join(entry.applies_to.types) + " " + ",".join(str(g) for g in entry.applies_to.groups)
        when = "; ".join(c.describe() for c in entry.when) or "always"
        if entry.requires:
            when += "; requires " + "; ".join(c.describe() for c in entry.requires)
        controls = ", ".join(f"[{c}](#{c.lower()})" for c in entry.controls)
        lines.append(f"| {entry.situation} | {classes} | {when} | {controls} | {'yes' if entry.compensating else ''} |")
    lines += ["", "### Dangerous settings", "",
              ("Matched against the normalised value (upper case, `/` as `\\`, `..` resolved, trailing `\\*` removed, "
               "Defender paths with `%PROGRAMDATA%` and the like expanded); the exact patterns are in catalog/floor.yml."),
              "", "| rule | setting | exception | what and why |", "|---|---|---|---|"]
    for rule in safety_floor.dangerous:
        exception = "owned, expiring exception" if rule.exception == "allowed" else "never"
        why = " ".join(rule.rationale.split())
        lines.append(f"| {rule.id} | {rule.target.replace('_', ' ')} | {exception} | **{rule.title}.** {why} |")
    return lines


def render_docs(catalog: Catalog) -> str:
    lines = [
        "# Control reference",
        "",
        f"Generated by `mtk catalog docs` from catalog version {catalog.version}; do not edit by hand.",
        f"{len(catalog.controls)} controls. *Build* means the WM build applies the control; every control is verified.",
        "",
        "## Traceability matrix",
        "",
        "| control | area | classes | build | Normen | MDCG 2019-16 | NSM | MDS2 | CIS |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in catalog.controls:
        refs = _refs(c)
        classes = "/".join(c.applies_to.types) + " " + ",".join(str(g) for g in c.applies_to.groups)
        lines.append(f"| [{c.id}](#{c.id.lower()}) | {c.area} | {classes} | {'yes' if c.build else ''} | "
                     + " | ".join(refs.values()) + " |")
    lines += _floor_docs(floor.load_floor())
    for area in sorted({c.area for c in catalog.controls}):
        lines += ["", f"## {area}"]
        for c in (c for c in catalog.controls if c.area == area):
            check = ", ".join(f"{k}={v}" for k, v in c.check.items())
            if c.expected is None:
                expected = ""
            elif c.expected.derive:
                expected = f"derived: {c.expected.derive}"
            elif c.expected.profile:
                expected = f"from profile `{c.expected.profile}`" + (f" mapped {c.expected.map}" if c.expected.map else "")
            else:
                expected = f"`{c.expected.value!r}`"
            lines += [
                "", f"### {c.id}", "", f"**{c.title}** (severity {c.severity})", "",
                c.rationale.strip(), "",
                f"- Applies to: types {', '.join(c.applies_to.types)}; groups {', '.join(map(str, c.applies_to.groups))}"
                + ("; when " + "; ".join(cond.describe() for cond in c.when) if c.when else ""),
                f"- Check: `{check}`; compare `{c.compare}` {expected}",
                "- Build: " + ("yes" if c.build else f"no - {' '.join(str(c.build_reason).split())}"),
                "- References: " + "; ".join(f"{k} {v}" for k, v in _refs(c).items() if v),
            ]
    return "\n".join(lines) + "\n"


def _docs(args: argparse.Namespace) -> int:
    text = render_docs(load_catalog())
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date: run `mtk catalog docs`", file=sys.stderr)
            return 1
        return 0
    tmp = args.output.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(args.output)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0
