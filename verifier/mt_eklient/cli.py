"""The `mtk` command: argument parsing and dispatch. Each command group lives in its own module
with a `register(subparsers)` function; the handlers return an exit code."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from . import __version__
from .errors import InputError

# Exit codes shared by every command.
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3

COMMAND_MODULES = (
    "mt_eklient.commands.profile",
    "mt_eklient.commands.catalog",
    "mt_eklient.commands.verify",
    "mt_eklient.commands.lab",
    "mt_eklient.commands.scan",  # after lab: adds `mtk lab scan` unless the lab has one
    "mt_eklient.commands.report",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 too; keep its one-line message
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
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
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
