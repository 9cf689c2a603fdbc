"""`mtk profile validate | show | schema` (draft and diff: profile_draft.py)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import yaml

from .. import floor
from ..catalog import Catalog, load_catalog
from ..drafts import FillIn, is_placeholder
from ..errors import InputError
from ..hosts import host_context, load_checked_profile
from ..profile import LoadedProfile, profile_json_schema, profile_warnings
from ..resolve import Baseline, HostContext, resolve
from ..site import LoadedSite, effective_profile, provenance, site_from_arg
from ..yamlsource import YamlDocument, load_yaml
from . import profile_draft
from .argtypes import iso_date


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "profile", help="validate and inspect device profiles",
        description="Device profiles (profiles/*.yml) describe one medical application's operating "
        "environment as its manufacturer requires it.")
    sub = parser.add_subparsers(dest="profile_command", metavar="SUBCOMMAND", required=True)

    validate = sub.add_parser(
        "validate", help="check profiles for errors",
        description="Check one or more profiles: YAML syntax, keys and types, contradictions, and "
        "references to catalog controls. Prints one line per problem as FILE:LINE: field: message. "
        "A draft (from `mtk profile draft`, not yet approved) is valid: its \"TO FILL IN\" fields are listed "
        "as FILE:LINE: field: to fill in: .... What is valid but probably not meant (a blocked update for none of "
        "the profile's editions) is printed as FILE:LINE: field: warning: .... Exit 0 when every file is valid "
        "(warnings included), 2 otherwise.")
    validate.add_argument("files", nargs="+", metavar="FILE", type=Path)
    validate.add_argument("-q", "--quiet", action="store_true", help="print problems only")
    validate.add_argument("--require-approved", action="store_true",
                          help="count drafts (not approved, or with fields to fill in) as errors: for the "
                          "profiles a build uses")
    validate.set_defaults(handler=_validate)

    show = sub.add_parser(
        "show", help="show the resolved baseline of a profile",
        description="Resolve catalog -> site -> profile -> host variables into the concrete list of expected "
        "settings for one host, with not-applicable and waived controls explained. With --site or --host-vars, "
        "each value says which layer it came from (catalog, site, profile, host, or default).")
    show.add_argument("file", metavar="FILE", type=Path)
    show.add_argument("--site", metavar="SITE",
                      help="the site's id (a file in sites/) or a site file; default the host variables' mt_site. "
                      "Needed when the profile leaves site facts (management zone, WSUS, ...) to the site")
    show.add_argument("--host-vars", type=Path, metavar="FILE",
                      help="YAML file with the host's inventory variables (mt_class, mt_site, mt_zones, "
                      "mt_wsus_target_group)")
    show.add_argument("--date", type=iso_date, default=None, metavar="YYYY-MM-DD",
                      help="resolve as of this date (waiver expiry); default today")
    show.add_argument("--json", action="store_true", help="print the baseline as JSON")
    show.set_defaults(handler=_show)

    schema = sub.add_parser("schema", help="print the profile JSON Schema",
                            description="Print the JSON Schema of the profile format, for editors and CI.")
    schema.set_defaults(handler=_schema)
    profile_draft.register(sub)


def _validate(args: argparse.Namespace) -> int:
    catalog = load_catalog()
    failed = 0
    for path in args.files:
        loaded = None  # stays None for a draft whose fields are still to fill in
        try:
            loaded = load_checked_profile(path, catalog)
            fill_ins, draft = list(loaded.fill_ins), loaded.draft
            _check_id_is_file_name(loaded.document)
        except InputError as err:
            # Only placeholders stand in the way: a draft whose required fields are still to fill in.
            if not (err.problems and all(isinstance(p, FillIn) for p in err.problems)):
                failed += 1
                for problem in err.problems:
                    print(problem, file=sys.stderr)
                continue
            fill_ins, draft = list(err.problems), True
            try:
                _check_id_is_file_name(load_yaml(path))
            except InputError as mismatch:
                failed += 1
                print(mismatch.problems[0], file=sys.stderr)
                continue
        if loaded is not None:
            for where, message in profile_warnings(loaded.profile):
                print(loaded.document.problem(where, "warning: " + message), file=sys.stderr)
        if draft:
            todo = f", {len(fill_ins)} field(s) to fill in" if fill_ins else ""
            line = f"{path}: draft (not approved: governance.approved_by/approved_date empty{todo})"
            if args.require_approved:
                failed += 1
                print(f"{line}: --require-approved", file=sys.stderr)
            else:
                print(line)
            if not args.quiet:
                for fill_in in fill_ins:
                    print(fill_in)
        elif not args.quiet:
            print(f"{path}: ok")
    return 2 if failed else 0


def _check_id_is_file_name(doc: YamlDocument) -> None:
    """Inventories find a profile by its id as `profiles/<id>.yml` (hosts.find_profile)."""
    stem = Path(doc.source).stem
    if isinstance(doc.data, dict) and not is_placeholder(doc.data.get("id")) and doc.data.get("id") != stem:
        raise InputError([doc.problem(("id",), f"{doc.data.get('id')!r} differs from the file name: "
                                                f"name the file {doc.data.get('id')}.yml or set id: {stem}")])


def _host_context(path: Path | None, profile_label: str) -> HostContext:
    if path is None:
        return HostContext(name="(profile)")
    doc = load_yaml(path)
    if not isinstance(doc.data, dict):
        raise InputError([doc.problem((), "host variables are a mapping")])
    hostvars = {"mt_class": profile_label, **doc.data}
    return host_context(str(hostvars.get("inventory_hostname", path.stem)), hostvars, str(path))


def _site(args: argparse.Namespace, context: HostContext) -> LoadedSite | None:
    """--site (an id or a file), else the host variables' mt_site, else none."""
    return site_from_arg(args.site or context.site_id, "--site" if args.site else str(args.host_vars))


def _show(args: argparse.Namespace) -> int:
    catalog = load_catalog()
    loaded = load_checked_profile(args.file, catalog)
    context = _host_context(args.host_vars, loaded.profile.classification.label)
    site = _site(args, context)
    effective = effective_profile(loaded, site, str(args.file), site_field="--site")
    loaded = effective.loaded
    context = replace(context, site=site, site_id=site.site.id if site else None)
    unknown = set(context.zones) - set(loaded.profile.network.zones)
    if unknown:
        raise InputError.single(str(args.host_vars), f"zone(s) {sorted(unknown)} not in profile {loaded.profile.id} "
                                "nor its site", field="mt_zones")
    if problems := floor.zone_problems(loaded.profile, context.zones, str(args.host_vars)):
        raise InputError(problems)
    baseline = resolve(catalog, loaded, context, args.date or date.today())
    layered = bool(site or args.host_vars)
    origins = _origins(catalog, baseline, loaded, effective.origin, context) if layered else {}
    if args.json:
        data = baseline.to_dict()
        if layered:
            data["provenance"] = origins
        json.dump(data, sys.stdout, indent=2, default=str)
        print()
        return 0
    profile = loaded.profile
    print(f"{profile.id} v{profile.profile_version}: {profile.application.name} {profile.application.version} "
          f"({profile.manufacturer.name}), class {profile.classification.label}")
    if layered:
        layers = ["catalog " + baseline.catalog_version, f"site {site.site.id} ({site.source})" if site else "no site",
                  f"profile {args.file}", f"host {args.host_vars}" if args.host_vars else "no host variables"]
        print("layers (a later one wins): " + " -> ".join(layers))
    if baseline.declared_class and baseline.declared_class != baseline.profile_class:
        print(f"WARNING: host declares {baseline.declared_class}, profile is {baseline.profile_class}")
    counts: dict[str, int] = {}
    for control in baseline.controls:
        counts[control.status] = counts.get(control.status, 0) + 1
    print(", ".join(f"{n} {s}" for s, n in sorted(counts.items())) + f" (catalog {baseline.catalog_version})")
    current_area = None
    for control in sorted(baseline.controls, key=lambda c: (c.area, c.id)):
        if control.area != current_area:
            current_area = control.area
            print(f"\n[{current_area}]")
        more: list[str] = []
        if control.status == "applicable":
            first, *more = _flow_lines(control.expected)
            detail = f"{control.compare} {first}"
        else:
            detail = f"{control.status}: {control.reason}"
            if control.waiver:
                detail += f" (owner {control.waiver['owner']}, expires {control.waiver['expires']})"
        marker = " *" if control.mandatory else ""
        print(f"  {control.id:<30} {detail}{marker}")
        for line in more:
            print(f"  {'':<30}   {line}")
        if control.id in origins:
            print(f"  {'':<30}   from: " + "; ".join(_origin_text(o, site) for o in origins[control.id]))
    for note in baseline.notes:
        print(f"note: {note}")
    for procedure in profile.procedures:
        source = f" ({procedure.source})" if procedure.source else ""
        print(f"procedure (not checked on the machine): {procedure.text}{source}")
    return 0


def _origins(catalog: Catalog, baseline: Baseline, loaded: LoadedProfile, origin: dict[str, str],
             context: HostContext) -> dict[str, list[dict[str, str]]]:
    """Per applicable control, the fields its expected value comes from and their layer."""
    host_fields = {f"network.zones.{zone}": "host" for zone in context.zones}
    if context.wsus_target_group:
        host_fields["patching.wsus.target_group"] = "host"
    spec = {c.id: c.expected for c in catalog.controls}
    return {c.id: provenance(spec[c.id], loaded.profile, origin, host_fields)
            for c in baseline.controls if c.status != "not_applicable" and spec.get(c.id) is not None}


def _origin_text(entry: dict[str, str], site: LoadedSite | None) -> str:
    layer = entry["layer"]
    if layer == "catalog":
        return "catalog"
    named = layer.replace("site", f"site {site.site.id}" if site else "site")
    return f"{named} ({entry['field']})"


def _flow(value: object) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip() if value is not None else "-"
    return text.removesuffix("...").strip()


def _flow_lines(value: object, limit: int = 90) -> list[str]:
    """The value on one line when it fits, else one item (or key) per line: never cut, since a
    firewall or AppLocker rule is read in full to be checked."""
    text = _flow(value)
    if len(text) <= limit or not isinstance(value, list | dict) or not value:
        return [text]
    items = value.items() if isinstance(value, dict) else None
    rest = [f"{k}: {_flow(v)}" for k, v in items] if items is not None else [f"- {_flow(v)}" for v in value]
    return [f"({len(value)} {'keys' if items is not None else 'items'})", *rest]


def _schema(args: argparse.Namespace) -> int:
    json.dump(profile_json_schema(), sys.stdout, indent=2)
    print()
    return 0
