"""Argument types shared by the `mtk` commands: one wording for the same mistake everywhere."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date
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
