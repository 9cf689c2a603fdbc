"""Host-supplied text made safe for terminals, progress lines, HTML and XML.

Program names, rule names, computer names and error messages come from the machines being verified;
a hostile or broken host can put escape sequences (clear the screen, recolour, retitle the terminal),
newlines (forge a `[2/3] host ok` progress line) or bidirectional overrides (show text in another
order than it is stored) into them. Every text output shows such characters as visible escapes
(`\\x1b`, `\\n`, `\\u202e`); the JSON report keeps the original string, which json.dumps escapes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

# C0 and C1 controls (tab and newline included: every field we print is one line), DEL, the line and
# paragraph separators and the bidirectional embedding/override/isolate characters, lone surrogates.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    if match.group() in _NAMED:
        return _NAMED[match.group()]
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` with every control, bidi override and lone surrogate shown as a visible escape."""
    return _UNSAFE.sub(_escape, text)


_SURROGATE = re.compile("[\ud800-\udfff]")


def well_formed(text: str) -> str:
    """`text` with lone UTF-16 surrogates (which no UTF-8 file can hold) replaced by U+FFFD."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def _deep(change: Callable[[str], str], value: Any) -> Any:
    if isinstance(value, str):
        return change(value)
    if isinstance(value, dict):
        return {_deep(change, k): _deep(change, v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_deep(change, v) for v in value]
    return value


def well_formed_deep(value: Any) -> Any:
    """Copy of a JSON-like value with every string (keys too) well formed."""
    return _deep(well_formed, value)


def printable_deep(value: Any) -> Any:
    """Copy of a JSON-like value with every string (keys too) made printable."""
    return _deep(printable, value)
