"""`mtk scan -i INVENTORY` (fleet scan over Ansible) and `mtk lab scan` (the same, against the lab).

Nothing from mt_eklient.lab is imported at module level: only the `lab scan` handler loads it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import InputError
from .argtypes import add_troubleshooting_options, int_at_least
from .reportargs import add_history_options, add_report_options, report_outputs


def add_scan_arguments(parser: argparse.ArgumentParser, inventory_required: bool = True,
                       inventory_dest: str = "inventory") -> None:
    from ..scanlimits import DEFAULT_FORKS, DEFAULT_TIMEOUT

    parser.add_argument("-i", "--inventory", action="append", required=inventory_required, metavar="INVENTORY",
                        dest=inventory_dest,
                        help="Ansible inventory (file, directory or plugin config; repeatable). Each host needs "
                        "mt_profile and mt_class; connection variables (WinRM/PSRP, Kerberos, vault) apply as in "
                        "any playbook")
    parser.add_argument("-l", "--limit", metavar="PATTERN", help="only hosts matching this Ansible pattern")
    parser.add_argument("-f", "--forks", type=int_at_least(1), default=DEFAULT_FORKS, metavar="N",
                        help="hosts collected at the same time (default: %(default)s)")
    parser.add_argument("--timeout", type=int_at_least(1), default=DEFAULT_TIMEOUT, metavar="S",
                        help="per-host deadline in seconds for connecting and collecting (default: %(default)s); "
                        "the whole scan stops after S x ceil(hosts / forks) + 60 s")
    add_report_options(parser)
    add_history_options(parser)
    parser.add_argument("--profiles-dir", type=Path, metavar="DIR",
                        help="where mt_profile ids are looked up (default: the repository's profiles/)")
    vault = parser.add_mutually_exclusive_group()
    vault.add_argument("--vault-password-file", action="append", default=[], metavar="FILE",
                       help="vault password file (or executable client), passed to Ansible; repeatable")
    vault.add_argument("--ask-vault-pass", "-J", action="store_true",
                       help="ask once for the vault password; Ansible gets it through the environment of a "
                       "helper script, never on a command line or in a file")
    parser.add_argument("--quiet", "-q", action="store_true", help="no per-host progress lines on stderr")
    add_troubleshooting_options(parser)


def register(subparsers: argparse._SubParsersAction) -> None:
    scan = subparsers.add_parser(
        "scan", help="verify a fleet: collect once per host over Ansible, evaluate, report",
        description="Read hosts, profiles (mt_profile) and classes (mt_class) from an Ansible inventory, run the "
        "read-only collector once on each host through Ansible's connection layer (ansible.windows."
        "win_powershell; WinRM/PSRP, Kerberos and vault settings from the inventory apply), evaluate every "
        "catalog control and write the reports. Progress goes to stderr as hosts finish; Ctrl-C stops "
        "collecting and reports what arrived (the rest as 'scan interrupted').",
        epilog="Exit codes: 0 all controls pass (waived counts as pass), 1 a control failed, 2 usage or input "
        "error (e.g. unreadable inventory), 3 a host was unreachable or could not be evaluated (the others are "
        "still evaluated and reported). See docs/scan.md.")
    add_scan_arguments(scan)
    scan.set_defaults(handler=_scan)
    _register_lab_scan(subparsers)


def _register_lab_scan(subparsers: argparse._SubParsersAction) -> None:
    """Add `mtk lab scan` to the lab's command group unless the lab already has one."""
    lab = subparsers.choices.get("lab")
    if lab is None:
        return
    lab_sub = next((a for a in lab._actions if isinstance(a, argparse._SubParsersAction)), None)
    if lab_sub is None or "scan" in lab_sub.choices:
        return
    parser = lab_sub.add_parser(
        "scan", help="mtk scan against the simulated lab",
        description="The fleet scan (`mtk scan`) with the lab's Ansible environment: the shadow collections "
        "answer win_powershell from the simulated host state. Inventory: -i, else `mtk lab --inventory`, else "
        "$MTK_LAB_INVENTORY, else the one `mtk lab up` was given, else inventories/lab.")
    # `mtk lab --inventory PATH` is the lab group's own option (dest "inventory"): keep it apart.
    add_scan_arguments(parser, inventory_required=False, inventory_dest="scan_inventory")
    parser.set_defaults(handler=_lab_scan)


def _options(args: argparse.Namespace, inventory: list[str]):
    from ..scan import AnsibleOptions, ask_vault_password

    password = ask_vault_password() if args.ask_vault_pass else None
    return AnsibleOptions(inventory=inventory, limit=args.limit, vault_password_files=list(args.vault_password_file),
                          vault_password=password, verbosity=args.verbose, keep_logs=args.keep_logs)


def run(args: argparse.Namespace, inventory: list[str], ansible_env: dict[str, str] | None = None,
        command: str = "scan") -> int:
    from ..scan import scan

    options = _options(args, inventory)
    result = scan(options, forks=args.forks, timeout=args.timeout, warn_days=args.warn_days,
                  profiles_dir=args.profiles_dir, progress=not args.quiet, ansible_env=ansible_env, command=command,
                  outputs=report_outputs(args))
    return result.exit_code


def _scan(args: argparse.Namespace) -> int:
    return run(args, args.inventory)


def _lab_scan(args: argparse.Namespace) -> int:
    import os

    from ..lab import paths, store
    from ..lab.labenv import lab_environment

    if not store.hosts():
        raise InputError.single(str(paths.lab_dir()), "the lab is not up (no host states): run `mtk lab up`")
    inventory = args.scan_inventory or [str(paths.lab_inventory(getattr(args, "inventory", None)))]
    env = lab_environment()
    # Only what the lab changes: the scan starts from this process' environment anyway.
    overrides = {k: v for k, v in env.items() if os.environ.get(k) != v}
    return run(args, inventory, ansible_env=overrides, command="lab scan")
