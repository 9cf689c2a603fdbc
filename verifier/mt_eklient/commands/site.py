"""`mtk site validate | schema`: site configurations (sites/*.yml, docs/sites.md)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import InputError
from ..site import load_site, site_json_schema


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "site", help="validate site configurations (sites/*.yml)",
        description="A site configuration holds what every device profile at one hospital site or region "
        "shares: management subnets, WSUS and event collector URLs, the antivirus update share and the IT, "
        "scan and build accounts. Inventories name it with mt_site.")
    sub = parser.add_subparsers(dest="site_command", metavar="SUBCOMMAND", required=True)
    validate = sub.add_parser(
        "validate", help="check site files for errors",
        description="Check site files: YAML syntax, keys and types, addresses, the safety floor's limit on the "
        "management zone, and that the id matches the file name. Prints one line per problem as "
        "FILE:LINE: field: message. Exit 0 when every file is valid, 2 otherwise.")
    validate.add_argument("files", nargs="+", metavar="FILE", type=Path)
    validate.add_argument("-q", "--quiet", action="store_true", help="print problems only")
    validate.set_defaults(handler=_validate)
    schema = sub.add_parser("schema", help="print the site JSON Schema",
                            description="Print the JSON Schema of the site format, for editors and CI.")
    schema.set_defaults(handler=_schema)


def _validate(args: argparse.Namespace) -> int:
    failed = 0
    for path in args.files:
        try:
            load_site(path)
        except InputError as err:
            failed += 1
            for problem in err.problems:
                print(problem, file=sys.stderr)
            continue
        if not args.quiet:
            print(f"{path}: ok")
    return 2 if failed else 0


def _schema(args: argparse.Namespace) -> int:
    json.dump(site_json_schema(), sys.stdout, indent=2)
    print()
    return 0
