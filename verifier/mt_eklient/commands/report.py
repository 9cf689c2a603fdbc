"""`mtk report fleet`: the fleet overview for MT and IT managers (docs/fleet.md)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from .. import history
from ..errors import InputError
from .argtypes import int_at_least, iso_date


def register(subparsers: argparse._SubParsersAction) -> None:
    report = subparsers.add_parser(
        "report", help="reports across scans (fleet overview)",
        description="Reports that read finished scans; they never contact a host.")
    sub = report.add_subparsers(dest="report_command", metavar="REPORT", required=True)
    fleet = sub.add_parser(
        "fleet", help="hosts ranked by exposure, Windows life cycle and trends (for MT and IT managers)",
        description="Rank the hosts of the given scans by exposure (Normen 5.2: get an overview, assess risk, "
        "prioritise measures), with the reasons for every score and the measure that lowers it most; show when "
        "each LTSC edition and profile leaves Microsoft support; and, from several scans, pass rates over time, "
        "regressions since the previous scan and the mean time from a regression to its fix. Scores come from "
        "the exposure model in the catalog (catalog/risk/exposure.yml) and the profiles' Normen properties.",
        epilog="Input: --scan JSON reports of mtk scan/verify (report_version 1), or the scan history (--history, "
        f"else ${history.ENV_VAR}, else {history.DEFAULT_HISTORY}). A summary is always printed (on stderr with "
        "--json -). Exit codes: 0 report written, 2 usage or input error (unreadable scan, another report version, "
        "empty history). Example: mtk report fleet --history .mtk/history.sqlite --html fleet.html --csv "
        "fleet.csv. See docs/fleet.md.")
    source = fleet.add_mutually_exclusive_group()
    source.add_argument("--scan", action="append", type=Path, metavar="SCAN.json", dest="scans",
                        help="a JSON scan report (mtk scan --json); repeat for several scans")
    source.add_argument("--history", metavar="DB", help="the scan history database")
    fleet.add_argument("--html", type=Path, metavar="FILE", help="write the self-contained HTML report (charts inline)")
    fleet.add_argument("--json", type=Path, metavar="FILE", dest="json_path", help="write the report as JSON ('-': stdout)")
    fleet.add_argument("--csv", type=Path, metavar="FILE", help="write the ranked hosts as CSV (for spreadsheets)")
    fleet.add_argument("--as-of", type=iso_date, metavar="YYYY-MM-DD", dest="as_of",
                       help="judge support dates, waiver expiry and patch age on this date, from the scans evaluated "
                       "on or before it (default: today)")
    fleet.add_argument("--profiles-dir", type=Path, metavar="DIR",
                       help="where the hosts' profiles are read (default: the repository's profiles/)")
    fleet.add_argument("--top", type=int_at_least(1), default=10, metavar="N",
                       help="hosts and measures in the printed summary (default: %(default)s)")
    fleet.set_defaults(handler=_fleet)


def _write(path: Path, text: str) -> None:
    """Whole file or nothing, not world-readable: it names hosts and their weaknesses (filemodes)."""
    from ..filemodes import write_private

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_private(path, text)
    except OSError as err:
        raise InputError.single(str(path), f"cannot write: {err.strerror or err}") from None


def _fleet(args: argparse.Namespace) -> int:
    from ..fleet.console import render_console
    from ..fleet.report import build_fleet_report
    from ..fleet.sources import load_scans

    as_of = args.as_of or date.today()
    db = None if args.scans else history.history_path(args.history)
    scans = load_scans(args.scans, db, as_of)
    sources = [str(p) for p in args.scans] if args.scans else [str(db)]
    report = build_fleet_report(scans, as_of, args.profiles_dir, sources=sources)
    rendered: list[tuple[Path, str]] = []
    to_stdout = str(args.json_path) == "-"
    if args.json_path and not to_stdout:
        rendered.append((args.json_path, _json(report)))
    if args.csv:
        from ..fleet.csv_out import render_csv
        rendered.append((args.csv, render_csv(report)))
    if args.html:
        from ..fleet.html import render_html
        rendered.append((args.html, render_html(report)))
    for path, text in rendered:  # rendered first: a failing renderer leaves no file half-written
        _write(path, text)
    out = sys.stderr if to_stdout else sys.stdout
    out.write(render_console(report, args.top))
    for path, _ in rendered:
        print(f"wrote {path}", file=out)
    if to_stdout:
        sys.stdout.write(_json(report))
    return 0


def _json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"
