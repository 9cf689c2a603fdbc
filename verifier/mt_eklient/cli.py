"""The `mtk` command: argument parsing and dispatch. Each command group lives in its own module
with a `register(subparsers)` function; the handlers return an exit code.

Only the chosen command's module is imported (`mtk --help` lists COMMANDS without importing any):
importing every command module and what it needs (pydantic models, jsonschema, the lab) costs more
than most commands themselves, and every `mtk` call and test subprocess pays it."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from . import __version__

# Exit codes shared by every command.
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3

# command -> (the module that registers it, its one-line help in `mtk --help`; a test checks that
# the module registers it with the same help).
COMMANDS = {
    "profile": ("mt_eklient.commands.profile", "validate and inspect device profiles"),
    "site": ("mt_eklient.commands.site", "validate site configurations (sites/*.yml)"),
    "catalog": ("mt_eklient.commands.catalog", "list and document the control catalog"),
    "verify": ("mt_eklient.commands.verify", "verify one host offline from a collected facts document"),
    "request": ("mt_eklient.commands.verify", "print what the collector must read for a profile"),
    "drift": ("mt_eklient.commands.verify", "controls whose status changed since the previous scan"),
    "lab": ("mt_eklient.commands.lab", "the simulated Windows LTSC lab (test double for CI and the demo)"),
    "scan": ("mt_eklient.commands.scan", "verify a fleet: collect once per host over Ansible, evaluate, report"),
    "report": ("mt_eklient.commands.report", "reports across scans (fleet overview)"),
    "plan": ("mt_eklient.commands.plan", "what a build would change on each host (read-only, one collector call per host)"),
}
# Modules that add subcommands to another module's group, registered after it.
EXTENDS = {"lab": ("mt_eklient.commands.scan", "mt_eklient.commands.plan")}  # `mtk lab scan`, `mtk lab plan`


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 too; keep its one-line message
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _command_word(argv: list[str]) -> str | None:
    """The command in argv: the first word that is not an option (mtk's own options take no value)."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser for `argv`: the full parser without it, else only argv's command module loaded."""
    parser = _Parser(
        prog="mtk",
        description="Build and verify Windows LTSC clients that run medical-device software "
        "(classes W, WM, M; groups 0, 1, 2).",
        epilog="Exit codes: 0 all pass, 1 a control failed, 2 usage or input error, "
        "3 a host unreachable or errored.",
    )
    parser.add_argument("--version", action="version", version=f"mtk {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    if argv is None:
        modules = [module for module, _ in COMMANDS.values()]
    else:
        command = _command_word(argv)
        modules = [COMMANDS[command][0]] if command in COMMANDS else []
    for extended, extra in EXTENDS.items():
        if COMMANDS[extended][0] in modules:
            modules += extra
    for module in dict.fromkeys(modules):
        importlib.import_module(module).register(subparsers)
    for name, (_, help_text) in COMMANDS.items():
        if name not in subparsers.choices:  # listed in --help and usage errors, loaded when chosen
            subparsers.add_parser(name, help=help_text)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    from .errors import InputError  # after parsing: `--help` needs neither it nor dataclasses

    try:
        return int(args.handler(args))
    except InputError as err:
        for problem in err.problems:
            print(problem, file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("mtk: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`mtk ... | head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
