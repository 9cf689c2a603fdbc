"""The report and history options every verifying command shares (verify, scan, lab scan), apart
from the commands themselves: building `mtk lab`'s parser, which registers `lab scan`, imports only
this, not the evaluation and reports."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .. import history
from .argtypes import int_at_least


def add_report_options(parser: argparse.ArgumentParser) -> None:
    """--json/--junit/--html/--warn-days."""
    parser.add_argument("--json", dest="json_path", metavar="PATH", help="write the JSON report ('-': to stdout)")
    parser.add_argument("--junit", dest="junit_path", metavar="PATH", help="write JUnit XML")
    parser.add_argument("--html", dest="html_path", metavar="PATH", help="write the HTML report")
    parser.add_argument("--warn-days", type=int_at_least(0), default=180, metavar="N",
                        help="warn this many days before the OS leaves support (default: %(default)s)")


def add_history_options(parser: argparse.ArgumentParser) -> None:
    """--history LOCATION | --no-history."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--history", metavar="LOCATION", help=history.OPTION_HELP)
    group.add_argument("--no-history", action="store_true", help="do not store this scan")


def report_outputs(args: argparse.Namespace) -> dict[str, Any]:
    """open_reports' keyword arguments from the options of add_report_options and add_history_options."""
    to_stdout = args.json_path == "-"
    no_history = getattr(args, "no_history", False)
    return {"json_path": args.json_path, "junit_path": args.junit_path, "html_path": args.html_path,
            "console": sys.stderr if to_stdout else sys.stdout,
            "history_path": None if no_history else history.history_path(getattr(args, "history", None))}
