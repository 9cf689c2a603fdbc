"""`mtk verify FACTS.json` (offline), `mtk request` (what to collect), `mtk drift` (history)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from .. import history
from ..baseline import Baseline
from ..classification import MtClass
from ..datacache import cached, classes_of
from ..errors import InputError, Problem
from ..facts import FactsRefused, load_facts
from ..reports.console import short
from ..scanresult import HostInput, ScanResult, run_evaluation, write_reports
from ..sitefiles import site_file
from ..textsafe import printable
from .argtypes import iso_date
from .reportargs import add_history_options, add_report_options, report_outputs

# The catalog, profile and site modules (pydantic models) are imported only where a baseline is
# resolved, not from the cache (_baseline): importing them is most of a cached `mtk verify`.

# `mtk drift`: something got worse since the previous scan (a control, or a host that dropped out).
EXIT_REGRESSED = 1
# At most this many facts problems are printed; the rest are counted.
MAX_FACTS_PROBLEMS = 10


def register(subparsers: argparse._SubParsersAction) -> None:
    verify = subparsers.add_parser(
        "verify", help="verify one host offline from a collected facts document",
        description="Evaluate a facts document (written by collector/collect.ps1 on the machine itself) against "
        "the baseline of a profile: every catalog control gets pass, fail, error, waived or not applicable, "
        "with expected and actual values. Exit 0 all pass (waived counts as pass), 1 a control failed or "
        "could not be read, 2 usage or input error, 3 the host could not be evaluated.")
    verify.add_argument("facts", metavar="FACTS.json", type=Path, help="the facts document")
    verify.add_argument("--profile", required=True, type=Path, metavar="FILE", help="the device profile (profiles/*.yml)")
    add_site_option(verify)
    verify.add_argument("--class", dest="mt_class", metavar="CLASS",
                        help="the class the inventory declares for this machine, e.g. WM1 (default: the profile's, "
                        "which then cannot be checked against it)")
    verify.add_argument("--host", metavar="NAME", help="host name in the reports (default: the facts' computer name)")
    add_report_options(verify)
    verify.add_argument("--today", type=iso_date, metavar="YYYY-MM-DD",
                        help="evaluate as of this date (support lifecycle, waiver expiry, patch age); default today")
    add_history_options(verify)
    verify.set_defaults(handler=_verify)

    request = subparsers.add_parser(
        "request", help="print what the collector must read for a profile",
        description="Print the collector's Request (JSON) for a profile: the registry values, services, optional "
        "features, local groups and firewall rule groups the baseline checks. Save it next to collect.ps1 for an "
        "offline collection.")
    request.add_argument("--profile", required=True, type=Path, metavar="FILE")
    add_site_option(request)
    request.add_argument("--class", dest="mt_class", metavar="CLASS", help="declared class (default: the profile's)")
    request.add_argument("--output", "-o", type=Path, metavar="PATH", help="write to a file instead of stdout")
    request.set_defaults(handler=_request)

    drift = subparsers.add_parser(
        "drift", help="controls whose status changed since the previous scan",
        description="List per host the controls whose status changed between its latest scan and the one before, "
        "from the scan history (see --history). Exit 0 when nothing regressed, 1 when something did (a control "
        "now fails or cannot be read and did not before, marked REGRESSED; or a host evaluated in the previous "
        "scan could not be evaluated in the latest), 2 usage or input error (no history, unknown --host).")
    drift.add_argument("--host", metavar="NAME", help="only this host")
    drift.add_argument("--json", action="store_true", help="print JSON")
    drift.add_argument("--history", metavar="LOCATION", help=history.OPTION_HELP)
    drift.set_defaults(handler=_drift)


def add_site_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--site", metavar="SITE", help="the host's site: its id (a file in sites/) or a site file; "
                        "needed when the profile leaves site facts (management zone, WSUS, ...) to the site")


def _profile_with_site(args: argparse.Namespace, catalog: Any) -> tuple[Any, Any]:
    """The profile with the site's values under it, and the site."""
    from ..hosts import load_checked_profile
    from ..site import effective_profile, site_from_arg

    site = site_from_arg(args.site)
    loaded = effective_profile(load_checked_profile(args.profile, catalog), site, str(args.profile), "--site").loaded
    return loaded, site


def _declared(text: str | None) -> MtClass | None:
    if text is None:
        return None
    try:
        return MtClass.parse(text)
    except ValueError as err:
        raise InputError.single("--class", str(err)) from None


def _read_facts(path: Path) -> dict[str, Any]:
    """load_facts, with problems capped; a document that is not a facts document at all is one line."""
    try:
        return load_facts(path)
    except InputError as err:
        problems = err.problems
        if len(problems) == 1:
            raise
        try:
            doc = json.loads(path.read_text(encoding="utf-8-sig"))
        except (OSError, ValueError):
            doc = None
        if not isinstance(doc, dict) or "schema_version" not in doc or "collector" not in doc:
            raise InputError.single(str(path), f"not a facts document ({len(problems)} schema problems; first: "
                                    f"{problems[0].field or '(root)'}: {problems[0].message})") from None
        if len(problems) > MAX_FACTS_PROBLEMS:
            kept = problems[: MAX_FACTS_PROBLEMS - 1]
            rest = len(problems) - len(kept)
            raise InputError([*kept, Problem(str(path), None, "", f"... and {rest} more problems")]) from None
        raise


def emit_scan(scan: ScanResult, args: argparse.Namespace) -> int:
    """Console summary, report files, history; returns the exit code."""
    return write_reports(scan, **report_outputs(args))


def _verify(args: argparse.Namespace) -> int:
    declared = _declared(args.mt_class)
    today = args.today or date.today()
    baseline, applications = _baseline(args, declared, today)
    refused: str | None = None
    try:
        facts: dict[str, Any] | None = _read_facts(args.facts)
    except FactsRefused as err:  # a hostile document is the host's error, reported like any other
        facts, refused = None, err.problems[0].message
    name = args.host or str(((facts or {}).get("host") or {}).get("computer_name") or args.facts.stem).lower()
    scan = run_evaluation(
        [HostInput(name, baseline=replace(baseline, host=name), facts=facts, applications=applications,
                   status="error" if refused else "ok", error=refused)],
        today=today, warn_days=args.warn_days, command="verify", validate=False,
        source={"kind": "facts", "path": str(args.facts), "profile": str(args.profile)},
    )
    return emit_scan(scan, args)


# The package's data files a baseline is computed from besides the profile and the site: the
# catalog and the safety floor (catalog/), the LTSC support dates (data/).
_PACKAGE = Path(__file__).resolve().parents[1]
_BASELINE_CLASSES = classes_of("mt_eklient.baseline", "Baseline", "ResolvedControl")


def _baseline(args: argparse.Namespace, declared: MtClass | None, today: date) -> tuple[Baseline, list[Any]]:
    """The host's baseline (its `host` left to the caller, who names it from the facts) and the
    profile's applications, from the user's cache (datacache.py) when nothing they are computed from
    changed: the catalog, floor and LTSC files, the profile's and the site's paths and bytes, the
    declared class, the date evaluated as of (--today) and the real one (the floor's checks of the
    profile's waivers run as of today: hosts.catalog_problems), every MTK_* variable (the site's
    MTK_MAX_WAIVER_DAYS) and the code. Anything else is a miss, which resolves afresh and reports
    every problem of the profile or the site exactly as without the cache; a failure is not cached."""
    site = site_file(args.site)
    inputs = [*sorted((_PACKAGE / "catalog").glob("*.yml")), *sorted((_PACKAGE / "data").glob("*.yml")),
              args.profile, *([site] if site else [])]
    environment = sorted((k, v) for k, v in os.environ.items() if k.startswith("MTK_"))
    material = repr((str(declared) if declared else None, today.isoformat(), date.today().isoformat(), args.site,
                     environment)).encode()
    return cached("baseline", inputs, lambda: _resolve_baseline(args, declared, today), _BASELINE_CLASSES, tuple,
                  material=material)


def _resolve_baseline(args: argparse.Namespace, declared: MtClass | None, today: date) -> tuple[Baseline, list[Any]]:
    from ..catalog import load_catalog
    from ..plaindata import plain
    from ..resolve import HostContext, resolve

    catalog = load_catalog()
    loaded, site = _profile_with_site(args, catalog)
    # The host's name enters a baseline only as its `host` (hosts.HostResolver shares baselines so).
    context = HostContext(name="", declared_class=declared, site=site, site_id=site.site.id if site else None)
    return resolve(catalog, loaded, context, today), plain(loaded.profile.applications)


def _request(args: argparse.Namespace) -> int:
    from ..catalog import load_catalog
    from ..collection import collection_request
    from ..plaindata import plain
    from ..resolve import HostContext, resolve

    declared = _declared(args.mt_class)
    catalog = load_catalog()
    loaded, _ = _profile_with_site(args, catalog)
    baseline = resolve(catalog, loaded, HostContext(name="offline", declared_class=declared), date.today())
    applications = plain(loaded.profile.applications)
    text = json.dumps(collection_request(baseline, applications), indent=2) + "\n"
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def _drift(args: argparse.Namespace) -> int:
    entries = history.drift(history.history_path(args.history), args.host)
    code = EXIT_REGRESSED if any(e.regressed for e in entries) else 0
    if args.json:
        json.dump([e.to_dict() for e in entries], sys.stdout, indent=2, ensure_ascii=False)
        print()
        return code
    for entry in entries:
        if entry.previous_scan is None:
            print(printable(f"{entry.host}: first scan ({entry.latest_scan['started']}), nothing to compare"))
            continue
        head = f"{entry.host}: scan {entry.previous_scan['started']} -> {entry.latest_scan['started']}"
        if entry.status_before != entry.status_after:
            head += f", host {entry.status_before} -> {entry.status_after}"
        if not entry.changes:
            head += (": no control changed" if entry.status_before == entry.status_after == "ok"
                     else ": controls not compared (host not evaluated in both scans)")
        print(printable(head))
        for change in entry.changes:
            why = f"  ({short(change.message, 120)})" if change.message and change.after in ("fail", "error") else ""
            mark = "REGRESSED " if change.regressed else ""
            print(printable(f"  {change.control:<22} {change.before or 'new':>14} -> {change.after or 'removed':<14} "
                            f"{mark}{change.title}{why}"))
    if not entries:
        print("no scans in the history")
    return code
