"""The compare operators of the catalog: one comparator each, shared value normalisation.

Windows hands the same setting back in more than one shape (a DWORD written as REG_SZ "1", a
path with a trailing backslash or other letter case, a firewall address as `10.0.0.0/255.0.0.0`),
so comparisons here are deliberately lenient about representation and strict about meaning:

- numbers: `1`, `"1"`, `"0x1"` and `True` are the same value;
- strings: case-insensitive, surrounding blanks and a trailing backslash ignored;
- lists: compared as sets (Windows returns most lists in no particular order);
- `None` means "not set / not present".
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_INT_RE = re.compile(r"^[+-]?\d+$")
_HEX_RE = re.compile(r"^0x[0-9a-f]+$", re.IGNORECASE)
_TRUE = {"true", "yes", "on"}
_FALSE = {"false", "no", "off"}


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str | None = None


def as_number(value: Any) -> int | float | None:
    """A number from an int, float, bool or numeric string (decimal or 0x hex); None otherwise."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        text = value.strip()
        if _INT_RE.match(text):
            return int(text)
        if _HEX_RE.match(text):
            return int(text, 16)
        try:
            return float(text)
        except ValueError:
            return None
    return None


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    number = as_number(value)
    if number is not None:
        return bool(number) if number in (0, 1) else None
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    return None


def norm_text(value: str) -> str:
    text = value.strip().casefold()
    if "\\" in text and len(text) > 3:  # paths: C:\Data\ == c:\data (but keep "C:\")
        text = text.rstrip("\\")
    return text


def key(value: Any) -> Any:
    """A hashable canonical form: equal keys mean equal values under the rules above."""
    if value is None:
        return ("none",)
    if isinstance(value, bool):
        return ("num", int(value))
    if isinstance(value, (int, float)):
        return ("num", value)
    if isinstance(value, str):
        number = as_number(value) if (_INT_RE.match(value.strip()) or _HEX_RE.match(value.strip())) else None
        if number is not None:
            return ("num", number)
        flag = value.strip().lower()
        if flag in ("true", "false"):
            return ("num", int(flag == "true"))
        return ("str", norm_text(value))
    if isinstance(value, dict):
        return ("map", tuple(sorted((norm_text(str(k)), key(v)) for k, v in value.items())))
    if isinstance(value, (list, tuple, set, frozenset)):
        return ("set", frozenset(key(v) for v in value))
    return ("other", json.dumps(value, sort_keys=True, default=str))


def equal(actual: Any, expected: Any) -> bool:
    if actual is None or expected is None:
        return actual is None and expected is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        a, e = _as_bool(actual), _as_bool(expected)
        return a is not None and a == e
    return key(actual) == key(expected)


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    return [value]


def _item_matches(actual: Any, expected: Any, patterns: bool) -> bool:
    if patterns and isinstance(expected, str) and isinstance(actual, str) and any(c in expected for c in "*?["):
        return fnmatch.fnmatchcase(actual.strip().casefold(), expected.strip().casefold())
    return equal(actual, expected)


def _unmatched(left: list[Any], right: list[Any], patterns: bool, left_is_expected: bool) -> list[Any]:
    """Items of `left` with no counterpart in `right`."""
    out = []
    for item in left:
        if left_is_expected:
            hit = any(_item_matches(other, item, patterns) for other in right)
        else:
            hit = any(_item_matches(item, other, patterns) for other in right)
        if not hit:
            out.append(item)
    return out


def _show(items: list[Any]) -> str:
    return ", ".join(str(i) for i in items)


def _set_diff(actual: Any, expected: Any, patterns: bool) -> tuple[list[Any], list[Any]]:
    a, e = as_list(actual), as_list(expected)
    missing = _unmatched(e, a, patterns, left_is_expected=True)
    unexpected = _unmatched(a, e, patterns, left_is_expected=False)
    return missing, unexpected


def _equals(actual: Any, expected: Any, patterns: bool) -> Outcome:
    if isinstance(expected, (list, tuple)) or isinstance(actual, (list, tuple)):
        return _set_equals(actual, expected, patterns)
    if actual is None:
        return Outcome(False, "not set")
    return Outcome(equal(actual, expected))


def _ordered(actual: Any, expected: Any, at_most: bool) -> Outcome:
    if actual is None:
        return Outcome(False, "not set")
    a, e = as_number(actual), as_number(expected)
    if a is None:
        return Outcome(False, f"{actual!r} is not a number")
    if e is None:
        return Outcome(False, f"expected value {expected!r} is not a number (catalog or profile error)")
    return Outcome(a <= e if at_most else a >= e)


def _between(actual: Any, expected: Any, patterns: bool) -> Outcome:
    """expected is [low, high], both inclusive."""
    if not (isinstance(expected, (list, tuple)) and len(expected) == 2):
        return Outcome(False, f"expected value {expected!r} is not [low, high] (catalog error)")
    low = _ordered(actual, expected[0], at_most=False)
    if not low.ok:
        return low if low.message else Outcome(False, f"below {expected[0]}")
    high = _ordered(actual, expected[1], at_most=True)
    return high if high.ok or high.message else Outcome(False, f"above {expected[1]}")


def _one_of(actual: Any, expected: Any, patterns: bool) -> Outcome:
    if actual is None:
        return Outcome(False, "not set")
    return Outcome(any(_item_matches(actual, e, patterns) for e in as_list(expected)))


def _set_equals(actual: Any, expected: Any, patterns: bool) -> Outcome:
    missing, unexpected = _set_diff(actual, expected, patterns)
    parts = []
    if missing:
        parts.append(f"missing: {_show(missing)}")
    if unexpected:
        parts.append(f"unexpected: {_show(unexpected)}")
    return Outcome(not parts, "; ".join(parts) or None)


def _subset_of(actual: Any, expected: Any, patterns: bool) -> Outcome:
    _, unexpected = _set_diff(actual, expected, patterns)
    return Outcome(not unexpected, f"not allowed: {_show(unexpected)}" if unexpected else None)


def _superset_of(actual: Any, expected: Any, patterns: bool) -> Outcome:
    missing, _ = _set_diff(actual, expected, patterns)
    return Outcome(not missing, f"missing: {_show(missing)}" if missing else None)


def _contains(actual: Any, expected: Any, patterns: bool) -> Outcome:
    if isinstance(actual, str) and isinstance(expected, str):
        return Outcome(expected.casefold() in actual.casefold())
    return _superset_of(actual, expected, patterns)


def _not_contains(actual: Any, expected: Any, patterns: bool) -> Outcome:
    if isinstance(actual, str) and isinstance(expected, str):
        return Outcome(expected.casefold() not in actual.casefold())
    a = as_list(actual)
    found = [e for e in as_list(expected) if any(_item_matches(x, e, patterns) for x in a)]
    return Outcome(not found, f"present: {_show(found)}" if found else None)


def _absent(actual: Any, expected: Any, patterns: bool) -> Outcome:
    return Outcome(actual is None, None if actual is None else "is set")


def _present(actual: Any, expected: Any, patterns: bool) -> Outcome:
    return Outcome(actual is not None, "not set" if actual is None else None)


COMPARATORS: dict[str, Callable[[Any, Any, bool], Outcome]] = {
    "equals": _equals,
    "at_most": lambda a, e, p: _ordered(a, e, at_most=True),
    "at_least": lambda a, e, p: _ordered(a, e, at_most=False),
    "between": _between,
    "one_of": _one_of,
    "set_equals": _set_equals,
    "subset_of": _subset_of,
    "superset_of": _superset_of,
    "contains": _contains,
    "not_contains": _not_contains,
    "absent": _absent,
    "present": _present,
}


def compare(operator: str, actual: Any, expected: Any, patterns: bool = False) -> Outcome:
    """Apply one catalog compare operator. `patterns`: expected strings may hold fnmatch wildcards."""
    try:
        comparator = COMPARATORS[operator]
    except KeyError:
        raise ValueError(f"unknown compare operator {operator!r}") from None
    return comparator(actual, expected, patterns)
