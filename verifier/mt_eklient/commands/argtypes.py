"""Argument types shared by the `mtk` commands: one wording for the same mistake everywhere."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def int_at_least(minimum: int) -> Callable[[str], int]:
    return _at_least(int, minimum)


def float_at_least(minimum: float) -> Callable[[str], float]:
    return _at_least(float, minimum)


def _at_least(kind: Callable[[str], int] | Callable[[str], float], minimum: float) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {minimum} or more")
        return value
    return parse


def add_troubleshooting_options(parser: argparse.ArgumentParser) -> None:
    """-v ... -vvvvv and --keep-logs DIR, shared by scan, plan, lab scan and lab plan."""
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="Ansible's verbosity (-v to -vvvvv), passed through; its output, secrets redacted, is "
                        "printed on stderr after the run")
    parser.add_argument("--keep-logs", type=Path, metavar="DIR",
                        help="keep Ansible's output (secrets redacted) and each host's outcome in DIR (owner-only)")
