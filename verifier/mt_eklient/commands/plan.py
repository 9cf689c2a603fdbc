"""`mtk plan -i INVENTORY` (what a build would change, read-only) and `mtk lab plan` (the same,
against the simulated lab). Nothing from mt_eklient.lab is imported unless `lab plan` runs."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..errors import InputError
from .argtypes import add_troubleshooting_options, int_at_least

HELP = "what a build would change on each host (read-only, one collector call per host)"


def _arguments(parser: argparse.ArgumentParser, inventory_required: bool, inventory_dest: str) -> None:
    from ..scanlimits import DEFAULT_FORKS, DEFAULT_TIMEOUT

    parser.add_argument("-i", "--inventory", action="append", required=inventory_required, metavar="INVENTORY",
                        dest=inventory_dest, help="Ansible inventory (as for mtk scan and the build; repeatable)")
    parser.add_argument("-l", "--limit", metavar="PATTERN", help="only hosts matching this Ansible pattern")
    parser.add_argument("-f", "--forks", type=int_at_least(1), default=DEFAULT_FORKS, metavar="N",
                        help="hosts collected at the same time (default: %(default)s)")
    parser.add_argument("--timeout", type=int_at_least(1), default=DEFAULT_TIMEOUT, metavar="S",
                        help="per-host deadline in seconds (default: %(default)s)")
    parser.add_argument("--json", dest="json_path", metavar="PATH",
                        help="write the plan as JSON (schemas/plan.schema.json; '-': to stdout)")
    parser.add_argument("--html", dest="html_path", metavar="PATH", help="write the plan as HTML")
    parser.add_argument("--profiles-dir", type=Path, metavar="DIR",
                        help="where mt_profile ids are looked up (default: the repository's profiles/)")
    parser.add_argument("--vault-password-file", action="append", default=[], metavar="FILE",
                        help="vault password file (or executable client), passed to Ansible; repeatable")
    parser.add_argument("--quiet", "-q", action="store_true", help="no per-host progress lines on stderr")
    add_troubleshooting_options(parser)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plan", help=HELP,
        description="Collect once per host (the read-only collector, exactly as mtk scan) and print, per host, "
        "the change set playbooks/build_wm.yml would make: grouped by area, before -> after, the control and its "
        "reference, and what needs a reboot. Hosts the build refuses (M computers, class mismatch, draft "
        "profiles) are refused without a remote call. Controls that fail but that the build does not own are "
        "listed: the build's verification will fail on them.",
        epilog="Exit codes: 0 nothing would change, 1 changes planned, 2 usage or input error, 3 a host was "
        "refused, unreachable or could not be planned. See docs/build.md.")
    _arguments(parser, inventory_required=True, inventory_dest="inventory")
    parser.set_defaults(handler=_plan)
    lab = subparsers.choices.get("lab")
    lab_sub = next((a for a in lab._actions if isinstance(a, argparse._SubParsersAction)), None) if lab else None
    if lab_sub is not None and "plan" not in lab_sub.choices:
        lab_plan = lab_sub.add_parser("plan", help="mtk plan against the simulated lab",
                                      description="`mtk plan` with the lab's Ansible environment. Inventory: -i, "
                                      "else `mtk lab --inventory`, else $MTK_LAB_INVENTORY, else the one `mtk lab up` was given, else inventories/lab.")
        _arguments(lab_plan, inventory_required=False, inventory_dest="plan_inventory")
        lab_plan.set_defaults(handler=_lab_plan)


def run(args: argparse.Namespace, inventory: list[str], ansible_env: dict[str, str] | None = None,
        command: str = "plan") -> int:
    from ..filemodes import write_private
    from ..planning import plan
    from ..reports.plan_report import render_html, render_json, render_text
    from ..scan import AnsibleOptions

    targets = [(args.json_path, render_json), (args.html_path, render_html)]
    for path, _ in targets:
        if path and path != "-" and not Path(path).parent.is_dir():
            raise InputError.single(path, "the directory does not exist")
    options = AnsibleOptions(inventory=inventory, limit=args.limit,
                             vault_password_files=list(args.vault_password_file), verbosity=args.verbose,
                             keep_logs=args.keep_logs)
    document = plan(options, forks=args.forks, timeout=args.timeout, profiles_dir=args.profiles_dir,
                    progress=not args.quiet, ansible_env=ansible_env, command=command)
    if args.json_path != "-":
        sys.stdout.write(render_text(document))
    for path, render in targets:
        if path == "-":
            sys.stdout.write(render(document))
        elif path:
            write_private(Path(path), render(document))
    return int(document["summary"]["exit_code"])


def _plan(args: argparse.Namespace) -> int:
    return run(args, args.inventory)


def _lab_plan(args: argparse.Namespace) -> int:
    from ..lab import paths, store
    from ..lab.labenv import lab_environment

    if not store.hosts():
        raise InputError.single(str(paths.lab_dir()), "the lab is not up (no host states): run `mtk lab up`")
    inventory = args.plan_inventory or [str(paths.lab_inventory(getattr(args, "inventory", None)))]
    env = lab_environment()
    overrides = {k: v for k, v in env.items() if os.environ.get(k) != v}
    return run(args, inventory, ansible_env=overrides, command="lab plan")
