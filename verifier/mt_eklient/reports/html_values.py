"""Values in the HTML report, written for people: `1 (Sunday)` where the catalog says what a raw
code means, yes/no for booleans, one list item per line, and SIDs that never break across lines
(a SID cut into strips cannot be read or compared). Every string is escaped."""

from __future__ import annotations

import json
import re
from html import escape
from typing import Any

from ..baseline import meaning_key
from ..textsafe import printable

# A SID, or a SID pattern of the catalog (S-1-5-21-*-500): kept on one line.
_SID = re.compile(r"S-1-(?:\d+|\*)(?:-(?:\d+|\*))+")


def e(value: Any) -> str:
    """Escaped text; line by line, so the newlines of an indented value stay and controls do not."""
    text = "" if value is None else str(value)
    if "\n" in text:
        return escape("\n".join(printable(line) for line in text.split("\n")), quote=True)
    return escape(printable(text), quote=True)


def _whole(match: re.Match[str]) -> str:
    return f'<span class="sid">{match.group()}</span>'


def _at_hyphens(match: re.Match[str]) -> str:
    return "-<wbr>".join(f'<span class="sid">{part}</span>' for part in match.group().split("-"))


def text(value: Any, whole_sids: bool = False) -> str:
    """Escaped text whose SIDs break only at their hyphens (free text in a narrow column), or never
    (`whole_sids`: the expected and actual columns, where SIDs are compared)."""
    # Escaping leaves a SID's characters alone, so the pattern still finds it in escaped text.
    return _SID.sub(_whole if whole_sids else _at_hyphens, e(value))


def _scalar(value: Any, meanings: dict[str, str]) -> str:
    if value is None:
        return '<span class="muted">not set</span>'
    if isinstance(value, bool):
        shown = "yes" if value else "no"
    else:
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    meaning = meanings.get(meaning_key(value))
    out = f"<code>{text(shown, whole_sids=True)}</code>"
    return f'{out} <span class="meaning">({e(meaning)})</span>' if meaning else out


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)


def value_html(value: Any, meanings: dict[str, str] | None = None) -> str:
    """A control's expected or actual value: scalars inline, lists one item per line, mappings one
    key per line (nested values in compact JSON)."""
    meanings = meanings or {}
    if isinstance(value, list):
        if not value:
            return '<span class="muted">none</span>'
        return '<ul class="values">' + "".join(f"<li>{_item(v, meanings)}</li>" for v in value) + "</ul>"
    if isinstance(value, dict):
        if not value:
            return '<span class="muted">empty</span>'
        return '<ul class="values">' + "".join(
            f'<li><span class="key">{e(k)}:</span> {_item(v, meanings)}</li>' for k, v in value.items()) + "</ul>"
    return _scalar(value, meanings)


def _item(value: Any, meanings: dict[str, str]) -> str:
    if isinstance(value, list | dict):
        return f"<code>{text(_compact(value), whole_sids=True)}</code>"
    return _scalar(value, meanings)
